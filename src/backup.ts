import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { CATALOGUE_FILE } from './catalogue/db.ts';
import type { Database } from './catalogue/schema.ts';
import { referencedBlobs } from './fsck.ts';
import { FsBlobStore } from './storage/fs.ts';

export interface BackupReport {
  outDir: string;
  databaseBytes: number;
  blobsCopied: number;
  /** References whose blob was already in the backup (from an earlier backup, or shared with a row copied before). */
  blobsAlreadyPresent: number;
  bytesCopied: number;
  /** Referenced blobs that could not be backed up (missing or not matching their hash in the live store). */
  problems: string[];
}

/**
 * An online-consistent backup of the embedded default (SQLite, local image folder), laid out as a data directory (restore = use it as
 * JACKET_DATA_DIR). The database is copied first with VACUUM INTO (a consistent snapshot while the server
 * writes); then every blob the snapshot refers to. Because blobs are written before their rows and never change
 * (content-addressed), every blob the snapshot needs already exists by then. Blobs already in DIR with the right
 * size are kept, so backing up into the same DIR again copies only what is new.
 */
export async function backupDataDir(dataDir: string, outDir: string, options: { blobRoot?: string } = {}): Promise<BackupReport> {
  const source = path.join(dataDir, CATALOGUE_FILE);
  if (!fs.existsSync(source)) throw new Error(`no catalogue database at ${source}: is JACKET_DATA_DIR right?`);
  fs.mkdirSync(outDir, { recursive: true });
  const target = path.join(outDir, CATALOGUE_FILE);
  const partial = `${target}.part`;
  fs.rmSync(partial, { force: true });

  // VACUUM INTO reads one consistent snapshot (a read transaction) while the server keeps writing, and writes a
  // compact copy with no WAL to carry along.
  const live = new SQLite(source, { fileMustExist: true });
  try {
    live.pragma('busy_timeout = 10000');
    live.prepare('VACUUM INTO ?').run([partial]);
  } finally {
    live.close();
  }
  const snapshotFile = fs.openSync(partial, 'r');
  fs.fsyncSync(snapshotFile);
  fs.closeSync(snapshotFile);
  for (const leftover of [`${target}-wal`, `${target}-shm`]) fs.rmSync(leftover, { force: true });
  fs.renameSync(partial, target);

  const report: BackupReport = { outDir, databaseBytes: fs.statSync(target).size, blobsCopied: 0, blobsAlreadyPresent: 0, bytesCopied: 0, problems: [] };
  const snapshot = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(target, { readonly: true }) }) });
  // The live images: JACKET_STORAGE when it names a folder; the backup keeps them in DIR/blobs either way.
  const from = new FsBlobStore(options.blobRoot ?? path.join(dataDir, 'blobs'));
  const to = new FsBlobStore(path.join(outDir, 'blobs'));
  try {
    // Reference by reference, with no set of the keys seen (at Open Library's size it would take gigabytes): a blob
    // two rows share is copied for the first and found present for the second.
    for await (const reference of referencedBlobs(snapshot)) {
      const present = await to.stat(reference.key);
      // Blobs never change once written (content-addressed), so one already in DIR is the same blob.
      if (present && (reference.size === undefined || present.size === reference.size)) {
        report.blobsAlreadyPresent++;
        continue;
      }
      const bytes = await from.get(reference.key);
      if (!bytes) {
        report.problems.push(`${reference.key} (${reference.owner}) is missing from the live store`);
        continue;
      }
      if (reference.sha256 !== undefined && createHash('sha256').update(bytes).digest('hex') !== reference.sha256) {
        report.problems.push(`${reference.key} (${reference.owner}) does not match its sha256 in the live store`);
        continue;
      }
      await to.put(reference.key, bytes);
      report.blobsCopied++;
      report.bytesCopied += bytes.length;
    }
  } finally {
    await snapshot.destroy();
  }
  return report;
}
