import path from 'node:path';
import type { Command } from 'commander';
import { backupDataDir } from '../backup.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { formatBytes } from '../fsck.ts';

async function runBackup(options: { out: string }): Promise<void> {
  const config = loadConfig();
  const outDir = path.resolve(options.out);
  if (outDir === config.dataDir) throw new Error('--out must not be the data directory itself');
  const report = await backupDataDir(config.dataDir, outDir);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`database: ${path.join(outDir, 'catalogue.sqlite')} (${formatBytes(report.databaseBytes)})`);
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
