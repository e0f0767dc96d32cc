import path from 'node:path';
import type { Command } from 'commander';
import { createServices } from '../services.ts';
import { CATALOGUE_FILE, migrateToLatest, openDatabase } from '../catalogue/db.ts';
import { loadConfig } from '../config.ts';
import { copyInstall, MigrationRefused } from '../migrate-storage.ts';
import { FsBlobStore } from '../storage/fs.ts';

interface Options {
  from: string;
  fromStorage?: string;
  renditions: boolean;
}

async function migrateStorage(options: Options): Promise<void> {
  const config = loadConfig();
  const fromDir = path.resolve(options.from);
  const sourceDb = await openDatabase({ sqlitePath: path.join(fromDir, CATALOGUE_FILE) });
  const sourceBlobs = new FsBlobStore(options.fromStorage ? path.resolve(options.fromStorage) : path.join(fromDir, 'blobs'));
  if (config.storage.kind === 'fs' && path.resolve(config.storage.root) === sourceBlobs.root && !config.databaseUrl && path.resolve(config.dataDir) === fromDir) {
    process.stderr.write('jacket: the source and the configured target are the same install; set DATABASE_URL and/or JACKET_STORAGE\n');
    process.exitCode = 2;
    return;
  }
  // The target is exactly what `jacket serve` would use with these settings.
  const target = await createServices(config);
  try {
    await migrateToLatest(sourceDb);
    const report = await copyInstall({ db: sourceDb, blobs: sourceBlobs }, target, {
      renditions: options.renditions,
      onProgress: (message) => process.stdout.write(`${message}\n`),
    });
    process.stdout.write(`done: ${report.rows.covers ?? 0} covers, ${report.blobsCopied} blobs copied (${report.blobsAlreadyThere} already there)\n`);
  } catch (error) {
    if (!(error instanceof MigrationRefused)) throw error;
    process.stderr.write(`jacket: ${error.message}\n`);
    process.exitCode = 1;
  } finally {
    await sourceDb.destroy();
    await target.close();
  }
}

export function registerMigrateStorage(program: Command): void {
  program
    .command('migrate-storage')
    .description('copy an embedded install (SQLite + image folder) into the configured DATABASE_URL / JACKET_STORAGE')
    .requiredOption('--from <data-dir>', 'JACKET_DATA_DIR of the embedded install to copy from (stop its server first)')
    .option('--from-storage <dir>', 'its image folder, when it was not <data-dir>/blobs')
    .option('--no-renditions', 'copy originals only; renditions are made again on demand')
    .action(migrateStorage);
}
