import fs from 'node:fs';
import type { Command } from 'commander';
import { createServices, type Services } from '../services.ts';
import { importEditions, importIdMap, exportIdMap, type IdentifierImportSummary } from '../bulk/identifier-dumps.ts';
import { importFolder } from '../bulk/folder.ts';
import { exportOpenLibrary, importOpenLibrary } from '../bulk/openlibrary.ts';
import { Problems, Progress, UsageError, type ProgressFactory } from '../bulk/report.ts';
import { loadConfig } from '../config.ts';
import { OPEN_LIBRARY_SIZES, type OpenLibrarySize } from '../images/sizes.ts';

const progress: ProgressFactory = (options) => new Progress(options);

/**
 * The `export` / `import` command groups, found or created: other formats (Cover Art Archive folders) register their
 * subcommands under the same groups through this.
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((command) => command.name() === name) ?? program.command(name).description(description);
}

/**
 * Run a bulk operation with the server's settings; exit 1 when anything was skipped, 2 on unusable input or output.
 * The closing report goes to standard output, or to standard error when the data itself is written there.
 */
export async function withServices(
  run: (services: Services) => Promise<{ lines: string[]; problems: Problems }>,
  options: { reportTo?: NodeJS.WriteStream } = {},
): Promise<void> {
  const services = await createServices(loadConfig());
  try {
    const { lines, problems } = await run(services);
    (options.reportTo ?? process.stdout).write([...lines, ...problems.lines()].map((line) => `${line}\n`).join(''));
    process.exitCode = problems.total > 0 ? 1 : 0;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`jacket: ${error.message}\n`);
    process.exitCode = 2;
  } finally {
    await services.close();
  }
}

function requireExisting(target: string): void {
  if (!fs.existsSync(target)) throw new UsageError(`${target} does not exist`);
}

function parseSizes(raw: string): OpenLibrarySize[] {
  if (raw.trim().toLowerCase() === 'none') return [];
  const sizes = raw.split(',').map((size) => size.trim().toUpperCase()).filter(Boolean);
  for (const size of sizes) if (!(size in OPEN_LIBRARY_SIZES)) throw new UsageError(`--sizes takes S, M, L (comma-separated) or none, not "${size}"`);
  return sizes as OpenLibrarySize[];
}

function identifierLines(summary: IdentifierImportSummary): string[] {
  return [
    `read ${summary.lines} lines: ${summary.identifiersAdded} identifiers added, ${summary.coversLinked} covers linked, ${summary.linksRemembered} links remembered for covers not imported yet`,
  ];
}

export function registerBulk(program: Command): void {
  const exporting = commandGroup(program, 'export', 'write the catalogue in bulk formats');
  const importing = commandGroup(program, 'import', 'read bulk formats into the catalogue');

  exporting
    .command('openlibrary')
    .description('Open Library cover archives: DIR/covers_NNNN/covers_NNNN_NN.tar and s_/m_/l_ size series, each with a .index')
    .requiredOption('--out <dir>', 'folder to write the archives into')
    .option('--sizes <list>', 'size series to write besides the originals (S,M,L or none)', 'S,M,L')
    .action(async (options: { out: string; sizes: string }) =>
      withServices(async (services) => {
        const sizes = parseSizes(options.sizes);
        const summary = await exportOpenLibrary(services, options.out, { sizes, progress });
        return { lines: [`exported ${summary.covers} covers into ${summary.archives} archives under ${options.out}`], problems: summary.problems };
      }),
    );

  exporting
    .command('idmap')
    .description('identifier mapping TSV: ID-Name, ID-Value, OL-KEY, CoverID')
    .requiredOption('--out <file>', 'file to write (a new or regular file), or - for standard output')
    .action(async (options: { out: string }) =>
      withServices(
        async (services) => {
          const summary = await exportIdMap(services, options.out, progress);
          return { lines: [`wrote ${summary.rows} rows to ${options.out === '-' ? 'standard output' : options.out}`], problems: new Problems() };
        },
        { reportTo: options.out === '-' ? process.stderr : process.stdout },
      ),
    );

  importing
    .command('openlibrary <dir>')
    .description('Open Library cover archives (a folder of .tar files, or one .tar), keeping cover ids')
    .action(async (target: string) =>
      withServices(async (services) => {
        requireExisting(target);
        const summary = await importOpenLibrary(services, target, progress);
        return {
          lines: [
            `read ${summary.archives} archives: ${summary.imported} covers imported, ${summary.unchanged} already present, ${summary.notNeeded} size entries not needed`,
          ],
          problems: summary.problems,
        };
      }),
    );

  importing
    .command('folder <dir>')
    .description('a folder of scans named by ISBN (9780385472579.jpg, 0-385-47257-9.png, 0385472579_back.jpg) or OLID, or mapped by a CSV')
    .option('--csv <file>', 'CSV mapping file names to identifiers: a header of file and identifier kinds (file,isbn[,oclc,lccn,goodreads,librarything,olid,title,author])')
    .option('--category <b|a>', 'b for book covers, a for author photos (named by author OLID)', 'b')
    .option('--dry-run', 'check every file and report, store nothing')
    .action(async (dir: string, options: { csv?: string; category: string; dryRun?: boolean }) =>
      withServices(async (services) => {
        requireExisting(dir);
        if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a folder`);
        if (options.csv) requireExisting(options.csv);
        if (options.category !== 'b' && options.category !== 'a') throw new UsageError(`--category takes b (book covers) or a (author photos), not "${options.category}"`);
        const summary = await importFolder(services, dir, { csv: options.csv, category: options.category, dryRun: options.dryRun, progress });
        const imported = options.dryRun ? `${summary.imported} covers would be imported (dry run: nothing stored)` : `${summary.imported} covers imported`;
        return { lines: [`read ${summary.files} files: ${imported}, ${summary.unchanged} already imported`], problems: summary.problems };
      }),
    );

  importing
    .command('idmap <file>')
    .description('identifier mapping TSV (ID-Name, ID-Value, OL-KEY, CoverID), plain or gzip')
    .action(async (file: string) =>
      withServices(async (services) => {
        requireExisting(file);
        const summary = await importIdMap(services, file, progress);
        return { lines: identifierLines(summary), problems: summary.problems };
      }),
    );

  importing
    .command('ol-editions <file>')
    .description("Open Library's editions dump (type, key, revision, last_modified, JSON), plain or gzip")
    .action(async (file: string) =>
      withServices(async (services) => {
        requireExisting(file);
        const summary = await importEditions(services, file, progress);
        return { lines: identifierLines(summary), problems: summary.problems };
      }),
    );
}
