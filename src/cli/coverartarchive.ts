import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { commandGroup } from './bulk.ts';
import { createServices, type Services } from '../app.ts';
import { formatReleaseDate, parseReleaseDate, parseTypeNames } from '../catalogue/releases.ts';
import { loadConfig } from '../config.ts';
import { releaseListing, sortedJson } from '../http/coverartarchive.ts';
import { parseMbid } from '../identifiers/index.ts';
import { extensionForMime } from '../images/inspect.ts';

/** Release facts that index.json has no place for; written beside it so installations can move data losslessly. */
export const RELEASE_FACTS_FILE = 'jacket-release.json';

export interface CaaTransferSummary {
  releases: number;
  images: number;
  /** Images already present (import) or files already written (export): nothing to do. */
  unchanged: number;
  problems: string[];
}

async function writeAtomically(file: string, bytes: Buffer | string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await fs.open(temporary, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, file);
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return undefined;
  }
}

function report(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One `mbid-{mbid}/` folder per release with images: index.json, the originals, and the release's group and date. */
export async function exportCoverArtArchive(services: Services, outDir: string, log: (line: string) => void = report): Promise<CaaTransferSummary> {
  const summary: CaaTransferSummary = { releases: 0, images: 0, unchanged: 0, problems: [] };
  const base = services.config.publicUrl ?? `http://${services.config.host}:${services.config.port}`;
  await fs.mkdir(outDir, { recursive: true });
  for (const mbid of await services.releases.releasesWithImages()) {
    const folder = path.join(outDir, `mbid-${mbid}`);
    await fs.mkdir(folder, { recursive: true });
    const images = await services.releases.imagesOf(mbid);
    for (const image of images) {
      const file = path.join(folder, `mbid-${mbid}-${image.id}.${extensionForMime(image.mime)}`);
      if ((await sizeOf(file)) === image.byteSize) {
        summary.unchanged++;
        continue;
      }
      const bytes = await services.renditions.original(image);
      if (!bytes) {
        summary.problems.push(`image ${image.id} of release ${mbid}: its original is missing from the blob store`);
        continue;
      }
      await writeAtomically(file, bytes);
      summary.images++;
    }
    await writeAtomically(path.join(folder, 'index.json'), sortedJson(releaseListing(services, base, mbid, images)));
    const release = await services.releases.getRelease(mbid);
    if (release && (release.releaseGroup || release.date)) {
      await writeAtomically(path.join(folder, RELEASE_FACTS_FILE), sortedJson({ date: formatReleaseDate(release.date), releaseGroup: release.releaseGroup }));
    }
    summary.releases++;
    if (summary.releases % 100 === 0) log(`exported ${summary.releases} releases, ${summary.images} images`);
  }
  return summary;
}

interface ListedImage {
  id?: unknown;
  types?: unknown;
  comment?: unknown;
  approved?: unknown;
  edit?: unknown;
}

/**
 * Read `mbid-{mbid}/` folders (ours or the Internet Archive's layout): ids, types, comments, approval, edit ids and
 * ordering are kept. Images already present are left alone, so a second run (or a re-run after an interruption)
 * changes nothing.
 */
export async function importCoverArtArchive(services: Services, inDir: string, log: (line: string) => void = report): Promise<CaaTransferSummary> {
  const summary: CaaTransferSummary = { releases: 0, images: 0, unchanged: 0, problems: [] };
  const entries = (await fs.readdir(inDir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  for (const name of entries) {
    const mbid = /^mbid-(.+)$/.exec(name) ? parseMbid(name.slice(5)) : undefined;
    if (!mbid) {
      summary.problems.push(`${name}: not an mbid-{MBID} folder`);
      continue;
    }
    const folder = path.join(inDir, name);
    let listing: { images?: ListedImage[] };
    try {
      listing = JSON.parse(await fs.readFile(path.join(folder, 'index.json'), 'utf8'));
    } catch (error) {
      summary.problems.push(`${name}/index.json: ${(error as Error).message}`);
      continue;
    }
    const files = await fs.readdir(folder);
    try {
      const facts = JSON.parse(await fs.readFile(path.join(folder, RELEASE_FACTS_FILE), 'utf8')) as { releaseGroup?: string | null; date?: string | null };
      const releaseGroup = typeof facts.releaseGroup === 'string' ? parseMbid(facts.releaseGroup) : undefined;
      const date = typeof facts.date === 'string' ? parseReleaseDate(facts.date) : undefined;
      const current = await services.releases.getRelease(mbid);
      const same = current && current.releaseGroup === (releaseGroup ?? null) && formatReleaseDate(current.date) === formatReleaseDate(date);
      if ((releaseGroup || date) && !same) await services.releases.putRelease(mbid, { releaseGroup, date });
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') summary.problems.push(`${name}/${RELEASE_FACTS_FILE}: ${(error as Error).message}`);
    }
    for (const listed of Array.isArray(listing.images) ? listing.images : []) {
      const id = Number(listed.id);
      if (!Number.isSafeInteger(id) || id <= 0) {
        summary.problems.push(`${name}: image id ${JSON.stringify(listed.id)} is not a positive whole number`);
        continue;
      }
      const existing = await services.releases.getImage(id);
      if (existing) {
        if (existing.release === mbid || (await services.releases.resolveMbid(mbid, 'release')) === existing.release) summary.unchanged++;
        else summary.problems.push(`${name}: image ${id} already belongs to release ${existing.release}`);
        continue;
      }
      const file = files.find((candidate) => candidate.startsWith(`mbid-${mbid}-${id}.`) || candidate.startsWith(`mbid-${name.slice(5)}-${id}.`));
      if (!file) {
        summary.problems.push(`${name}: no file for image ${id}`);
        continue;
      }
      try {
        const types = parseTypeNames(Array.isArray(listed.types) ? listed.types.map(String) : []);
        const original = await services.ingest.storeOriginal(await fs.readFile(path.join(folder, file)));
        await services.releases.addImage(mbid, {
          id,
          edit: Number.isSafeInteger(listed.edit) && (listed.edit as number) > 0 ? (listed.edit as number) : undefined,
          blobKey: original.blobKey,
          sha256: original.sha256,
          mime: original.mime,
          width: original.width,
          height: original.height,
          byteSize: original.byteSize,
          types,
          comment: typeof listed.comment === 'string' ? listed.comment : '',
          approved: listed.approved !== false,
        });
        summary.images++;
      } catch (error) {
        summary.problems.push(`${name}/${file}: ${(error as Error).message}`);
      }
    }
    summary.releases++;
    if (summary.releases % 100 === 0) log(`imported ${summary.releases} releases, ${summary.images} images`);
  }
  return summary;
}

async function run(operation: (services: Services) => Promise<CaaTransferSummary>, verb: string): Promise<void> {
  const services = await createServices(loadConfig());
  try {
    const summary = await operation(services);
    process.stdout.write(`${verb} ${summary.releases} releases: ${summary.images} images, ${summary.unchanged} already there, ${summary.problems.length} skipped\n`);
    for (const problem of summary.problems.slice(0, 20)) process.stdout.write(`  skipped: ${problem}\n`);
    if (summary.problems.length > 20) process.stdout.write(`  … and ${summary.problems.length - 20} more\n`);
    process.exitCode = summary.problems.length > 0 ? 1 : 0;
  } finally {
    await services.close();
  }
}

export function registerCoverArtArchive(program: Command): void {
  commandGroup(program, 'export', 'write the catalogue in bulk formats')
    .command('coverartarchive')
    .description('one mbid-{mbid}/ folder per release: index.json and mbid-{mbid}-{id}.{ext} originals')
    .requiredOption('--out <dir>', 'folder to write (created if missing)')
    .action((options: { out: string }) => run((services) => exportCoverArtArchive(services, path.resolve(options.out)), 'exported'));
  commandGroup(program, 'import', 'read bulk formats into the catalogue')
    .command('coverartarchive <dir>')
    .description('read mbid-{mbid}/ folders (index.json + files), keeping ids, types, comments and ordering')
    .action((dir: string) => run((services) => importCoverArtArchive(services, path.resolve(dir)), 'imported'));
}
