import type { Command } from 'commander';
import { createServices } from '../services.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { formatBytes, fsck, type FsckReport, type Garbage } from '../fsck.ts';

interface FsckCliOptions {
  repair?: boolean;
  json?: boolean;
  graceSeconds: string;
}

function describe(item: Garbage): string {
  const label = { 'orphan-original': 'orphan original', 'orphan-rendition': 'orphan rendition', 'superseded-rendition': 'rendition in the old layout', 'temp-file': 'stale temp file' }[item.kind];
  return `${label} ${item.key} (${formatBytes(item.bytes)})`;
}

function printReport(report: FsckReport, repair: boolean): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`checked ${report.blobsChecked} blobs referenced by ${report.referencesChecked} rows`);
  for (const problem of report.missing) out(`MISSING ${problem.key}: ${problem.detail} (needed by ${problem.owners.join(', ')})`);
  for (const problem of report.corrupt) out(`CORRUPT ${problem.key}: ${problem.detail} (needed by ${problem.owners.join(', ')})`);
  const garbageBytes = report.garbage.reduce((sum, item) => sum + item.bytes, 0);
  out(`garbage: ${report.garbage.length} items, ${formatBytes(garbageBytes)} (expected after a crash; not an error)`);
  for (const item of report.garbage) out(`  ${describe(item)}`);
  if (report.recent.length > 0) out(`left alone: ${report.recent.length} recent items (younger than the grace period; a write may be in progress)`);
  if (repair) {
    const freed = report.repaired.reduce((sum, item) => sum + item.bytes, 0);
    out(`repair: deleted ${report.repaired.length} items, freed ${formatBytes(freed)}`);
    for (const item of report.repaired) out(`  deleted ${describe(item)}`);
  } else if (report.garbage.length > 0) {
    out('run `jacket fsck --repair` to delete the garbage');
  }
  const problems = [...report.missing, ...report.corrupt];
  // One blob can be shared by many rows (the same bytes uploaded twice): count both.
  const rows = new Set(problems.flatMap((problem) => problem.owners)).size;
  out(
    problems.length === 0
      ? 'catalogue and storage agree'
      : `${plural(problems.length, 'blob is', 'blobs are')} missing or corrupt, needed by ${plural(rows, 'row', 'rows')}: restore them from a backup`,
  );
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

async function runFsck(options: FsckCliOptions): Promise<void> {
  const graceSeconds = Number(options.graceSeconds);
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new Error(`--grace-seconds must be a number of seconds, not "${options.graceSeconds}"`);
  const services = await createServices(loadConfig());
  let report: FsckReport;
  try {
    report = await fsck(services.db, services.blobs, { repair: options.repair, graceMs: graceSeconds * 1000 });
  } finally {
    await services.close();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printReport(report, Boolean(options.repair));
  process.exitCode = report.missing.length + report.corrupt.length > 0 ? 1 : 0;
}

export function registerFsck(program: Command): void {
  program
    .command('fsck')
    .description('check that every cover has its blob with the right hash and size; report (and with --repair delete) orphan blobs and stale temp files')
    .option('--repair', 'delete the garbage found (orphan blobs, stale temp files) and report what was deleted')
    .option('--json', 'print the report as JSON')
    .option('--grace-seconds <seconds>', 'leave garbage younger than this alone: a running server may be writing it', '300')
    .action(async (options) => {
      try {
        await runFsck(options);
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        process.stderr.write(`jacket fsck: ${(error as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}
