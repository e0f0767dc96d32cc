import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { commandGroup, withServices } from './bulk.ts';
import type { Services } from '../services.ts';
import { noProgress, Problems, Progress, UsageError, type ProgressFactory } from '../bulk/report.ts';
import { FileProblem, readContainedFile, SYMBOLIC_LINK_MESSAGE } from '../bulk/contained-file.ts';
import { formatReleaseDate, parseReleaseDate, parseTypeNames } from '../catalogue/releases.ts';
import { refreshStatistics } from '../catalogue/db.ts';
import { releaseListing, sortedJson } from '../http/coverartarchive.ts';
import { parseMbid } from '../identifiers/index.ts';
import { extensionForMime } from '../images/inspect.ts';
import { JacketError } from '../errors.ts';

/** Release facts that index.json has no place for; written beside it so installations can move data losslessly. */
export const RELEASE_FACTS_FILE = 'jacket-release.json';

/** The largest index.json or release facts file read: a listing of thousands of images is well under a megabyte. */
export const LISTING_MAX_BYTES = 16 * 1024 * 1024;

export interface CaaTransferSummary {
  releases: number;
  images: number;
  /** Images already present (import) or files already written (export): nothing to do. */
  unchanged: number;
  /** What was skipped, by kind, with examples. */
  problems: Problems;
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

/** The entries of a folder, read as a stream (fs.opendir): a listing of millions of releases is never held whole. */
async function* folderEntries(dir: string): AsyncGenerator<import('node:fs').Dirent> {
  const handle = await fs.opendir(dir, { bufferSize: 256 });
  for await (const entry of handle) yield entry;
}

/** An input folder that must exist: a usage error (exit code 2) otherwise. */
async function requireFolder(dir: string): Promise<void> {
  let info;
  try {
    info = await fs.stat(dir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') throw new UsageError(`${dir} does not exist`);
    throw new UsageError(`cannot read ${dir}: ${(error as Error).message}`);
  }
  if (!info.isDirectory()) throw new UsageError(`${dir} is not a folder (give the folder that holds the mbid-{MBID} folders)`);
}

/** One `mbid-{mbid}/` folder per release with images: index.json, the originals, and the release's group and date. */
export async function exportCoverArtArchive(services: Services, outDir: string, progress: ProgressFactory = noProgress): Promise<CaaTransferSummary> {
  const summary: CaaTransferSummary = { releases: 0, images: 0, unchanged: 0, problems: new Problems() };
  const base = services.config.publicUrl ?? `http://${services.config.host}:${services.config.port}`;
  try {
    await fs.mkdir(outDir, { recursive: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(code === 'EEXIST' || code === 'ENOTDIR' ? `${outDir} exists and is not a folder` : `cannot write ${outDir}: ${(error as Error).message}`);
  }
  const bar = progress({ label: 'export coverartarchive', unit: 'releases', total: await services.releases.countReleasesWithImages() });
  try {
    for await (const mbid of services.releases.releasesWithImages()) {
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
          summary.problems.add('missing_blob', `image ${image.id} of release ${mbid}: its original is missing from the blob store`);
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
      bar.update(summary.releases, summary.releases);
    }
  } finally {
    bar.stop();
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
export async function importCoverArtArchive(services: Services, inDir: string, progress: ProgressFactory = noProgress): Promise<CaaTransferSummary> {
  const summary: CaaTransferSummary = { releases: 0, images: 0, unchanged: 0, problems: new Problems() };
  await requireFolder(inDir);
  // A first streaming pass only counts the folders, so that progress can show a percentage and an ETA.
  let total = 0;
  for await (const entry of folderEntries(inDir)) if (entry.isDirectory()) total++;
  const bar = progress({ label: 'import coverartarchive', unit: 'releases', total });
  let seen = 0;
  try {
    for await (const entry of folderEntries(inDir)) {
      if (entry.isSymbolicLink()) summary.problems.add('symbolic_link', `${entry.name}: ${SYMBOLIC_LINK_MESSAGE}`);
      if (!entry.isDirectory()) continue;
      seen++;
      await importRelease(services, inDir, entry.name, summary);
      bar.update(seen, summary.releases);
    }
  } finally {
    bar.stop();
  }
  if (summary.images > 0) await refreshStatistics(services.db, ['caa_releases', 'caa_release_groups', 'caa_images', 'caa_edits']);
  return summary;
}

/** One `mbid-{mbid}/` folder: its release facts, then each listed image not already present. */
async function importRelease(services: Services, inDir: string, name: string, summary: CaaTransferSummary): Promise<void> {
  const { problems } = summary;
  const mbid = /^mbid-(.+)$/.exec(name) ? parseMbid(name.slice(5)) : undefined;
  if (!mbid) {
    problems.add('not_a_release_folder', `${name}: not an mbid-{MBID} folder`);
    return;
  }
  const folder = path.join(inDir, name);
  let listing: { images?: unknown[] };
  try {
    listing = JSON.parse((await readContainedFile(path.join(folder, 'index.json'), LISTING_MAX_BYTES)).toString('utf8'));
  } catch (error) {
    problems.add(error instanceof FileProblem ? error.code : 'bad_index_json', `${name}/index.json: ${(error as Error).message}`);
    return;
  }
  const files = await fs.readdir(folder);
  try {
    const facts = JSON.parse((await readContainedFile(path.join(folder, RELEASE_FACTS_FILE), LISTING_MAX_BYTES)).toString('utf8')) as { releaseGroup?: string | null; date?: string | null };
    const releaseGroup = typeof facts.releaseGroup === 'string' ? parseMbid(facts.releaseGroup) : undefined;
    const date = typeof facts.date === 'string' ? parseReleaseDate(facts.date) : undefined;
    const current = await services.releases.getRelease(mbid);
    const same = current && current.releaseGroup === (releaseGroup ?? null) && formatReleaseDate(current.date) === formatReleaseDate(date);
    if ((releaseGroup || date) && !same) await services.releases.putRelease(mbid, { releaseGroup, date });
  } catch (error) {
    if (error instanceof FileProblem) problems.add(error.code, `${name}/${RELEASE_FACTS_FILE}: ${error.message}`);
    else if ((error as { code?: string }).code !== 'ENOENT') problems.add('bad_release_facts', `${name}/${RELEASE_FACTS_FILE}: ${(error as Error).message}`);
  }
  for (const entry of Array.isArray(listing.images) ? listing.images : []) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      problems.add('bad_image_id', `${name}: listing entry ${JSON.stringify(entry).slice(0, 100)} is not an image object`);
      continue;
    }
    const listed = entry as ListedImage;
    // Only a number or a string of digits is an id: Number() of anything else may be NaN, or throw (an object
    // whose toString is not a function).
    const id = typeof listed.id === 'number' || (typeof listed.id === 'string' && /^\d{1,16}$/.test(listed.id)) ? Number(listed.id) : NaN;
    if (!Number.isSafeInteger(id) || id <= 0) {
      problems.add('bad_image_id', `${name}: image id ${String(JSON.stringify(listed.id)).slice(0, 100)} is not a positive whole number`);
      continue;
    }
    const existing = await services.releases.getImage(id);
    if (existing) {
      if (existing.release === mbid || (await services.releases.resolveMbid(mbid, 'release')) === existing.release) summary.unchanged++;
      else problems.add('id_conflict', `${name}: image ${id} already belongs to release ${existing.release}`);
      continue;
    }
    const file = files.find((candidate) => candidate.startsWith(`mbid-${mbid}-${id}.`) || candidate.startsWith(`mbid-${name.slice(5)}-${id}.`));
    if (!file) {
      problems.add('missing_file', `${name}: no file for image ${id}`);
      continue;
    }
    try {
      const types = parseTypeNames(Array.isArray(listed.types) ? listed.types.map(String) : []);
      const original = await services.ingest.storeOriginal(await readContainedFile(path.join(folder, file), services.intake.maxImageBytes));
      await services.releases.addImage(mbid, {
        id,
        edit: Number.isSafeInteger(listed.edit) && (listed.edit as number) > 0 ? (listed.edit as number) : undefined,
        // The stored original's key, hash, type and upright size.
        ...original,
        types,
        comment: typeof listed.comment === 'string' ? listed.comment : '',
        approved: listed.approved !== false,
      });
      summary.images++;
    } catch (error) {
      problems.add(error instanceof JacketError || error instanceof FileProblem ? error.code : 'unreadable_file', `${name}/${file}: ${(error as Error).message}`);
    }
  }
  summary.releases++;
}

const progress: ProgressFactory = (options) => new Progress(options);

function transferLines(verb: string, summary: CaaTransferSummary): string[] {
  return [`${verb} ${summary.releases} releases: ${summary.images} images, ${summary.unchanged} already there, ${summary.problems.total} skipped`];
}

export function registerCoverArtArchive(program: Command): void {
  commandGroup(program, 'export', 'write the catalogue in bulk formats')
    .command('coverartarchive')
    .description('one mbid-{mbid}/ folder per release: index.json and mbid-{mbid}-{id}.{ext} originals')
    .requiredOption('--out <dir>', 'folder to write (created if missing)')
    .action((options: { out: string }) =>
      withServices(async (services) => {
        const summary = await exportCoverArtArchive(services, path.resolve(options.out), progress);
        return { lines: transferLines('exported', summary), problems: summary.problems };
      }),
    );
  commandGroup(program, 'import', 'read bulk formats into the catalogue')
    .command('coverartarchive <dir>')
    .description('read mbid-{mbid}/ folders (index.json + files), keeping ids, types, comments and ordering')
    .action((dir: string) =>
      withServices(async (services) => {
        const summary = await importCoverArtArchive(services, path.resolve(dir), progress);
        return { lines: transferLines('imported', summary), problems: summary.problems };
      }),
    );
}
