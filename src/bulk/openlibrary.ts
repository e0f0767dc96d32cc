/**
 * Open Library cover archives: export the catalogue as `covers_NNNN/covers_NNNN_NN.tar` (+ `s_`/`m_`/`l_` sizes),
 * import such archives keeping cover ids. Streaming in both directions: one archive entry (or one bounded batch of
 * entries) in memory at a time.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Services } from '../services.ts';
import type { Cover, NewCover } from '../catalogue/covers.ts';
import { refreshStatistics } from '../catalogue/db.ts';
import { openLibrarySize, type OpenLibrarySize } from '../images/sizes.ts';
import { mapLimited, mapOrdered } from '../concurrency.ts';
import { archivePath, batchOf, entryName, MAX_ARCHIVE_ID, parseEntryName, seriesOfArchive, seriesRank, type Series } from './layout.ts';
import { noProgress, Problems, type ProgressFactory } from './report.ts';
import { readTar, TarWriter } from './tar.ts';
import { ImageProblem, quickInspect, storedOriginal } from './validate.ts';

const BATCH_ENTRIES = 1000;
const BATCH_BYTES = 64 * 1024 * 1024;
const INSPECT_CONCURRENCY = 8;
const WRITE_CONCURRENCY = 16;

export interface ImportSummary {
  archives: number;
  /** Covers added to the catalogue. */
  imported: number;
  /** Entries whose cover is already stored with the same bytes (a re-import). */
  unchanged: number;
  /** Size-series entries not needed because the cover exists already (from its original or a larger size). */
  notNeeded: number;
  problems: Problems;
}

interface PendingEntry {
  id: number;
  series: Series;
  data: Buffer;
  mtimeMs: number | undefined;
  where: string;
}

/** The archives to read: one `.tar` file, or every `.tar` under a folder, originals first, then L, M, S. */
export async function listArchives(target: string): Promise<string[]> {
  const info = await fs.stat(target);
  if (info.isFile()) return [target];
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && seriesOfArchive(entry.name) !== undefined) found.push(full);
    }
  };
  await walk(target);
  const rank = (file: string) => seriesRank(seriesOfArchive(path.basename(file)) ?? '');
  return found.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Import archives in Open Library's layout. Cover ids are kept; no renditions are made (they are made on demand when
 * first asked for). When only a size series holds a cover, the largest size available stands in for the original.
 * Re-running is safe: a cover already stored with the same id and bytes is left alone.
 */
export async function importOpenLibrary(services: Services, target: string, progress: ProgressFactory = noProgress): Promise<ImportSummary> {
  const { intake, blobs, catalogue } = services;
  const archives = await listArchives(target);
  const base = (await fs.stat(target)).isFile() ? path.dirname(target) : target;
  const summary: ImportSummary = { archives: archives.length, imported: 0, unchanged: 0, notNeeded: 0, problems: new Problems() };
  const { problems } = summary;
  let totalBytes = 0;
  for (const archive of archives) totalBytes += (await fs.stat(archive)).size;
  const bar = progress({ label: 'import openlibrary', unit: 'covers', total: totalBytes });
  let bytesRead = 0;
  const done = () => summary.imported + summary.unchanged + summary.notNeeded;

  let committing: Promise<void> = Promise.resolve();
  const inFlight = new Map<number, string>();
  const flush = async (batch: PendingEntry[]) => {
    if (batch.length === 0) return;
    // Within a batch, keep one entry per id: the original, else the largest size.
    const chosen = new Map<number, PendingEntry>();
    for (const entry of batch) {
      const current = chosen.get(entry.id);
      if (!current || seriesRank(entry.series) < seriesRank(current.series)) {
        if (current) summary.notNeeded++;
        chosen.set(entry.id, entry);
      } else if (seriesRank(entry.series) === seriesRank(current.series) && !entry.data.equals(current.data)) {
        problems.add('duplicate_id', `${entry.where}: cover ${entry.id} appears twice with different bytes; the first was kept`);
      } else {
        summary.notNeeded++;
      }
    }
    const entries = [...chosen.values()];
    const inspected = await mapLimited(entries, INSPECT_CONCURRENCY, async (entry) => {
      try {
        return await quickInspect(entry.data, intake);
      } catch (error) {
        if (!(error instanceof ImageProblem)) throw error;
        problems.add(error.code, `${entry.where}: ${error.message}`);
        return undefined;
      }
    });
    // Live uploads take ids from the sequence: move it past this batch before checking which ids are free, so uploads
    // from now on land above the batch. One that took an id just before is found at insert time (an id_conflict).
    // Only entries that are images count: a corrupt entry with a huge id must not push every later upload's id up.
    const valid = entries.filter((_, index) => inspected[index] !== undefined);
    if (valid.length > 0) await catalogue.reserveIdsThrough(Math.max(...valid.map((entry) => entry.id)));
    // Ids of the batch still being committed count as stored (snapshot first: its commit may finish meanwhile).
    const committingIds = new Map(inFlight);
    const existing = await catalogue.coverSummaries(entries.map((entry) => entry.id));
    for (const [id, sha256] of committingIds) if (!existing.has(id)) existing.set(id, { sha256, olid: null });
    const toAdd: Array<{ entry: PendingEntry; input: NewCover }> = [];
    for (const [index, entry] of entries.entries()) {
      const image = inspected[index];
      if (!image) continue;
      const stored = existing.get(entry.id);
      if (stored) {
        if (stored.sha256 === image.sha256) summary.unchanged++;
        else if (entry.series !== '') summary.notNeeded++;
        else problems.add('id_conflict', `${entry.where}: cover ${entry.id} is already stored with different bytes; the stored one was kept`);
        continue;
      }
      const createdAt = entry.mtimeMs !== undefined && entry.mtimeMs > 0 ? entry.mtimeMs : Date.now();
      toAdd.push({
        entry,
        input: {
          id: entry.id,
          category: 'b',
          ...storedOriginal(image),
          createdAt,
        },
      });
    }
    // Blobs first, rows after: an interruption leaves at worst an unreferenced blob, found again on re-run.
    // Content-addressed, so rewriting a blob an interrupted run already stored is harmless.
    const unique = [...new Map(toAdd.map(({ entry, input }) => [input.blobKey, { key: input.blobKey, bytes: entry.data }])).values()];
    if (blobs.putMany) await blobs.putMany(unique);
    else await mapLimited(unique, WRITE_CONCURRENCY, ({ key, bytes }) => blobs.put(key, bytes));
    // The rows are committed while the next batch is read and its blobs written.
    await committing;
    for (const { input } of toAdd) inFlight.set(input.id!, input.sha256);
    committing = catalogue.addCovers(toAdd.map(({ input }) => input)).then(async ({ conflicts }) => {
      summary.imported += toAdd.length - conflicts.length;
      if (conflicts.length > 0) {
        const taken = new Set(conflicts);
        const now = await catalogue.coverSummaries(conflicts);
        for (const { entry, input } of toAdd) {
          if (!taken.has(input.id!)) continue;
          if (now.get(input.id!)?.sha256 === input.sha256) summary.unchanged++;
          else problems.add('id_conflict', `${entry.where}: cover ${input.id} was taken by another writer (an upload while importing) with different bytes; that cover was kept`);
        }
      }
      for (const { input } of toAdd) inFlight.delete(input.id!);
    });
  };

  let failure: unknown;
  try {
    for (const archive of archives) {
      const where = path.relative(base, archive) || path.basename(archive);
      let batch: PendingEntry[] = [];
      let batchBytes = 0;
      try {
        for await (const item of readTar(archive, intake.maxImageBytes, (bytes) => (bytesRead += bytes))) {
          if (item.kind === 'other') {
            if (item.type !== 'directory') problems.add('not_a_file', `${where}:${item.name}: a ${item.type} entry, not a regular file`);
            continue;
          }
          const parsed = parseEntryName(item.name);
          if (!parsed) {
            problems.add('not_an_id', `${where}:${item.name}: the name is not a cover id (%010d.jpg or %010d-S.jpg)`);
            continue;
          }
          if (item.kind === 'too-large') {
            problems.add('too_large', `${where}:${item.name}: ${item.size} bytes; the limit is ${intake.maxImageBytes}`);
            continue;
          }
          batch.push({ id: parsed.id, series: parsed.series, data: item.data, mtimeMs: item.mtime?.getTime(), where: `${where}:${item.name}` });
          batchBytes += item.data.length;
          if (batch.length >= BATCH_ENTRIES || batchBytes >= BATCH_BYTES) {
            await flush(batch).catch((error: unknown) => {
              failure = error;
              throw error;
            });
            batch = [];
            batchBytes = 0;
            bar.update(bytesRead, done());
          }
        }
      } catch (error) {
        // Storage or catalogue failures stop the import; only the archive's own damage is skipped over.
        if (failure !== undefined) throw failure;
        problems.add('damaged_archive', `${where}: ${(error as Error).message} (entries before the damage were imported)`);
      }
      await flush(batch);
      bar.update(bytesRead, done());
    }
    await committing;
    bar.update(bytesRead, done());
  } finally {
    await committing.catch(() => {});
    bar.stop();
  }
  if (summary.imported > 0) await refreshStatistics(catalogue.db, ['covers', 'entities', 'identifiers', 'pending_cover_links']);
  return summary;
}

export interface ExportSummary {
  covers: number;
  archives: number;
  problems: Problems;
}

/** Visible covers in id order, one at a time. */
async function* coversInIdOrder(services: Services): AsyncGenerator<Cover> {
  for await (const page of services.catalogue.visibleCoverPages()) yield* page;
}

/**
 * Write every visible cover into Open Library's archive layout: originals byte-identical, and for each size in
 * `sizes` the rendition the server would serve (made through the rendition engine, so renditions already stored are
 * reused and new ones kept). Each archive is written to a `.part` file and renamed when complete.
 */
export async function exportOpenLibrary(
  services: Services,
  outDir: string,
  options: { sizes?: readonly OpenLibrarySize[]; progress?: ProgressFactory } = {},
): Promise<ExportSummary> {
  const sizes = options.sizes ?? ['S', 'M', 'L'];
  const { blobs, renditions, config } = services;
  const summary: ExportSummary = { covers: 0, archives: 0, problems: new Problems() };
  const bar = (options.progress ?? noProgress)({ label: 'export openlibrary', unit: 'covers', total: await services.catalogue.countVisibleCovers() });
  // Renditions queue on the image workers; stay within what the queue accepts.
  const concurrency = sizes.length > 0 ? config.imageConcurrency + Math.min(config.imageQueue, config.imageConcurrency) : 64;
  const writers = new Map<Series, TarWriter>();
  let currentBatch = -1;
  const closeAll = async () => {
    for (const writer of writers.values()) {
      await writer.finish();
      summary.archives++;
    }
    writers.clear();
  };
  const writerFor = async (id: number, series: Series) => {
    let writer = writers.get(series);
    if (!writer) {
      writer = await TarWriter.create(path.join(outDir, archivePath(id, series)));
      writers.set(series, writer);
    }
    return writer;
  };
  let seen = 0;
  try {
    const prepared = mapOrdered(coversInIdOrder(services), concurrency, async (cover) => {
      if (cover.id > MAX_ARCHIVE_ID) return { cover, error: 'id_too_large' as const };
      const original = await blobs.get(cover.blobKey);
      if (!original) return { cover, error: 'missing_blob' as const };
      const sized: Array<[OpenLibrarySize, Buffer]> = [];
      try {
        for (const size of sizes) {
          const rendition = await renditions.get(cover, openLibrarySize(cover.width, cover.height, size), 'jpeg');
          sized.push([size, rendition.bytes]);
        }
      } catch (error) {
        // The original is still exported; only its size entries are missing, and said so.
        return { cover, original, sized: [], renditionError: (error as Error).message };
      }
      return { cover, original, sized };
    });
    for await (const item of prepared) {
      seen++;
      if ('error' in item) {
        summary.problems.add(item.error ?? 'error', `cover ${item.cover.id}: ${item.error === 'missing_blob' ? `original ${item.cover.blobKey} is missing from the blob store` : 'id has more than 10 digits'}`);
        continue;
      }
      const { cover, original, sized } = item;
      if ('renditionError' in item) summary.problems.add('rendition_failed', `cover ${cover.id}: its sizes could not be made (${item.renditionError}); the original was exported`);
      if (batchOf(cover.id) !== currentBatch) {
        await closeAll();
        currentBatch = batchOf(cover.id);
      }
      const mtime = cover.modifiedAt / 1000;
      await (await writerFor(cover.id, '')).add(entryName(cover.id, ''), original!, mtime);
      for (const [size, bytes] of sized!) await (await writerFor(cover.id, size)).add(entryName(cover.id, size), bytes, mtime);
      summary.covers++;
      bar.update(seen, summary.covers);
    }
    await closeAll();
  } catch (error) {
    for (const writer of writers.values()) await writer.abort();
    throw error;
  } finally {
    bar.stop();
  }
  return summary;
}
