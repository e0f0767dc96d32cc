import path from 'node:path';
import type { Command } from 'commander';
import { backupDataDir } from '../backup.ts';
import { CATALOGUE_FILE } from '../catalogue/db.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { formatBytes } from '../fsck.ts';

async function runBackup(options: { out: string }): Promise<void> {
  const config = loadConfig();
  // This command copies the embedded default only; the services that scale-out uses have their own backup tools.
  if (config.databaseUrl) {
    throw new Error('DATABASE_URL puts the catalogue in PostgreSQL, which this command cannot back up: use pg_dump (and S3 bucket versioning or replication for the images), as the README explains.');
  }
  if (config.storage.kind !== 'fs') {
    throw new Error('JACKET_STORAGE puts the images in S3, which this command cannot back up: use bucket versioning or replication (and pg_dump for a PostgreSQL catalogue), as the README explains.');
  }
  const outDir = path.resolve(options.out);
  if (outDir === config.dataDir) throw new Error('--out must not be the data directory itself');
  if (outDir === config.storage.root) throw new Error('--out must not be the image folder (JACKET_STORAGE) itself');
  const report = await backupDataDir(config.dataDir, outDir, { blobRoot: config.storage.root });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`database: ${path.join(outDir, CATALOGUE_FILE)} (${formatBytes(report.databaseBytes)})`);
  out(`blobs: ${report.blobsCopied} copied (${formatBytes(report.bytesCopied)}), ${report.blobsAlreadyPresent} already in the backup`);
  for (const problem of report.problems) out(`PROBLEM ${problem}`);
  if (report.problems.length > 0) {
    out('the backup is incomplete: run `jacket fsck` on the live data');
    process.exitCode = 1;
  } else {
    out(`backup complete; restore by using ${outDir} as JACKET_DATA_DIR (see the README)`);
  }
}

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('back up the embedded default (SQLite catalogue + image files) into DIR, consistently, while the server runs')
    .requiredOption('--out <dir>', 'backup directory (laid out as a data directory); reusing one copies only new blobs')
    .action(async (options) => {
      try {
        await runBackup(options);
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        process.stderr.write(`jacket backup: ${(error as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}
