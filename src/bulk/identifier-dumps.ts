/**
 * The identifier side of bulk data: the 4-column identifier mapping (export and import) and Open Library's editions
 * dump (import). Both stream line by line and write in batched transactions.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { Services } from '../services.ts';
import { ensureEntities, inChunks, insertIdentifierRows, visibleRows, type IdentifierRow } from '../catalogue/covers.ts';
import { refreshStatistics } from '../catalogue/db.ts';
import { importEditionTitles } from '../catalogue/titles.ts';
import type { EditionScheme, OlidKind } from '../identifiers/index.ts';
import { parseOlid } from '../identifiers/index.ts';
import { OverlongLine, parseEditionLine, readLines } from './editions.ts';
import { formatRow, idNamesFor, olKey, parseIdMapLine, type IdMapRow } from './idmap.ts';
import { noProgress, Problems, UsageError, type ProgressFactory } from './report.ts';

const LINES_PER_TRANSACTION = 1000;
/** Rows per page when the exports read the catalogue. */
const PAGE = 500;
/** Byte order of ASCII text, as the databases' binary collation orders identifiers. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Keys in one IN list of the export: few enough that an index probe per key is the plan on any catalogue size. */
const KEYS_PER_STATEMENT = 100;
export interface IdentifierImportSummary {
  lines: number;
  identifiersAdded: number;
  coversLinked: number;
  /** Links to covers not imported yet, applied when they are. */
  linksRemembered: number;
  problems: Problems;
}

interface Accumulated {
  identifiers: IdentifierRow[];
  entities: Map<string, OlidKind>;
  links: Array<{ coverId: number; olid: string; kind: OlidKind }>;
  /** Editions' titles and author ids (the editions dump). */
  titles: Array<{ olid: string; title: string; authorKeys: string[] }>;
}

function emptyBatch(): Accumulated {
  return { identifiers: [], entities: new Map(), links: [], titles: [] };
}

async function writeBatch(services: Services, batch: Accumulated, summary: IdentifierImportSummary): Promise<void> {
  if (batch.identifiers.length === 0 && batch.entities.size === 0 && batch.links.length === 0 && batch.titles.length === 0) return;
  const now = Date.now();
  await services.catalogue.write(async (trx) => {
    await ensureEntities(trx, batch.entities, now);
    summary.identifiersAdded += await insertIdentifierRows(trx, batch.identifiers);
    await importEditionTitles(trx, batch.titles, now);
    const linked = await services.catalogue.linkCovers(trx, batch.links, now);
    summary.coversLinked += linked.linked;
    summary.linksRemembered += linked.remembered;
  });
}

async function importLines(
  services: Services,
  file: string,
  label: string,
  progress: ProgressFactory,
  handle: (line: string, batch: Accumulated, summary: IdentifierImportSummary, lineNumber: number) => void,
): Promise<IdentifierImportSummary> {
  const summary: IdentifierImportSummary = { lines: 0, identifiersAdded: 0, coversLinked: 0, linksRemembered: 0, problems: new Problems() };
  const total = (await fs.stat(file)).size;
  const bar = progress({ label, unit: 'lines', total });
  let bytesRead = 0;
  let batch = emptyBatch();
  let inBatch = 0;
  let failure: unknown;
  try {
    try {
      for await (const line of readLines(file, (bytes) => (bytesRead += bytes))) {
        summary.lines++;
        if (line instanceof OverlongLine) summary.problems.add('damaged_line', `line ${summary.lines}: ${line.bytes} bytes, longer than any record (skipped)`);
        else handle(line, batch, summary, summary.lines);
        if (++inBatch >= LINES_PER_TRANSACTION) {
          await writeBatch(services, batch, summary).catch((error: unknown) => {
            failure = error;
            throw error;
          });
          batch = emptyBatch();
          inBatch = 0;
          bar.update(bytesRead, summary.lines);
        }
      }
    } catch (error) {
      // A catalogue failure stops the import; a damaged gzip stream or unreadable file keeps what was read so far.
      if (failure !== undefined) throw failure;
      summary.problems.add('damaged_file', `${file}: ${(error as Error).message} (lines before the damage were imported)`);
    }
    await writeBatch(services, batch, summary);
    bar.update(bytesRead, summary.lines);
  } finally {
    bar.stop();
  }
  await refreshStatistics(services.db, ['covers', 'entities', 'identifiers', 'pending_cover_links', 'titles']);
  return summary;
}

function addRow(batch: Accumulated, row: IdMapRow, now: number): void {
  if (row.entity) batch.entities.set(row.entity.olid, row.entity.kind);
  if (row.identifier) {
    batch.identifiers.push({
      scheme: row.identifier.scheme,
      value: row.identifier.value,
      olid: row.entity?.olid ?? '',
      cover_id: row.entity ? 0 : row.coverId!,
      created_at: now,
    });
  }
  if (row.entity && row.coverId !== undefined) batch.links.push({ coverId: row.coverId, olid: row.entity.olid, kind: row.entity.kind });
}

/**
 * Import an identifier mapping: identifiers go to the OL-KEY's edition, or straight to the cover when OL-KEY is
 * empty; a CoverID with an OL-KEY links that cover to the entity (now, or when the cover is imported).
 */
export async function importIdMap(services: Services, file: string, progress: ProgressFactory = noProgress): Promise<IdentifierImportSummary> {
  const now = Date.now();
  return importLines(services, file, 'import idmap', progress, (line, batch, summary, lineNumber) => {
    const parsed = parseIdMapLine(line);
    if (!parsed) return;
    if (!parsed.ok) {
      summary.problems.add(parsed.code, `line ${lineNumber}: ${parsed.message}`);
      return;
    }
    addRow(batch, parsed.row, now);
  });
}

/**
 * Import Open Library's editions dump: each edition's ISBNs, OCLC numbers, LCCNs, Goodreads and LibraryThing ids are
 * attached to the edition, its `covers` are linked to it, and its title and author ids are kept (the collection
 * search finds it by its title's words).
 */
export async function importEditions(services: Services, file: string, progress: ProgressFactory = noProgress): Promise<IdentifierImportSummary> {
  const now = Date.now();
  return importLines(services, file, 'import ol-editions', progress, (line, batch, summary, lineNumber) => {
    const parsed = parseEditionLine(line);
    if (!parsed) return;
    if (!parsed.ok) {
      summary.problems.add(parsed.code, `line ${lineNumber}: ${parsed.message}`);
      return;
    }
    const { edition } = parsed;
    batch.entities.set(edition.olid, 'edition');
    for (const identifier of edition.identifiers) {
      batch.identifiers.push({ scheme: identifier.scheme, value: identifier.value, olid: edition.olid, cover_id: 0, created_at: now });
    }
    for (const coverId of edition.covers) batch.links.push({ coverId, olid: edition.olid, kind: 'edition' });
    if (edition.title || edition.authorKeys.length > 0) batch.titles.push({ olid: edition.olid, title: edition.title, authorKeys: edition.authorKeys });
    for (const invalid of edition.invalid) summary.problems.add('bad_identifier', `line ${lineNumber} (${edition.olid}): ${invalid} is not valid`);
  });
}

interface Output {
  out: NodeJS.WritableStream;
  /** Rejects (with a UsageError naming the target) when writing fails. */
  failed: Promise<never>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'its folder does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the file system is read-only';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ENOTDIR') return 'part of its path is not a folder';
  return (error as Error).message;
}

/**
 * Where an export writes: `-` is standard output, written as is; a regular file (new or existing) is written to
 * `FILE.part` and renamed into place when complete. Anything else that exists (a folder, a device such as
 * /dev/stdout, a pipe) is refused rather than renamed over.
 */
async function openOutput(file: string): Promise<Output> {
  if (file === '-') {
    const out = process.stdout;
    const failed = new Promise<never>((_, reject) => out.on('error', (error) => reject(new UsageError(`cannot write to standard output: ${reasonOf(error)}`))));
    failed.catch(() => {});
    return {
      out,
      failed,
      async finish() {
        if (out.writableNeedDrain) await Promise.race([once(out, 'drain'), failed]);
      },
      async abort() {},
    };
  }
  let existing: Awaited<ReturnType<typeof fs.stat>> | undefined;
  try {
    existing = await fs.stat(file);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw new UsageError(`cannot write ${file}: ${reasonOf(error)}`);
  }
  if (existing && !existing.isFile()) {
    throw new UsageError(`${file} exists and is not a regular file; name a new or regular file, or - for standard output`);
  }
  const part = `${file}.part`;
  const out = createWriteStream(part);
  try {
    await once(out, 'ready');
  } catch (error) {
    throw new UsageError(`cannot write ${file}: ${reasonOf(error)}`);
  }
  const failed = new Promise<never>((_, reject) => out.on('error', (error) => reject(new UsageError(`cannot write ${file}: ${reasonOf(error)}`))));
  failed.catch(() => {});
  return {
    out,
    failed,
    async finish() {
      out.end();
      await Promise.race([once(out, 'finish'), failed]);
      const handle = await fs.open(part, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(part, file);
    },
    async abort() {
      out.destroy();
      await fs.rm(part, { force: true });
    },
  };
}

export interface IdMapExportSummary {
  rows: number;
}

/**
 * Write the identifier mapping: for every visible cover, its `olid` row and each identifier of its entity; then
 * identifiers of entities without a visible cover (CoverID empty) and remembered links of covers not imported yet.
 * Identifiers attached directly to a cover with no entity are written with an empty OL-KEY.
 */
export async function exportIdMap(services: Services, file: string, progress: ProgressFactory = noProgress): Promise<IdMapExportSummary> {
  const { db } = services;
  const output = await openOutput(file);
  const { out, failed } = output;
  const write = async (text: string) => {
    if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
  };
  const summary: IdMapExportSummary = { rows: 0 };
  const emit = async (scheme: EditionScheme, value: string, key: string, coverId: number | undefined) => {
    for (const [idName, idValue] of idNamesFor(scheme, value)) {
      await write(formatRow(idName, idValue, key, coverId));
      summary.rows++;
    }
  };
  const keyOf = (olid: string) => {
    const parsed = parseOlid(olid);
    return parsed ? olKey(parsed.olid, parsed.kind) : '';
  };
  const bar = progress({ label: 'export idmap', unit: 'rows', total: await services.catalogue.countVisibleCovers() });
  let coversDone = 0;
  try {
    for await (const covers of services.catalogue.visibleCoverPages(PAGE)) {
      const olids = [...new Set(covers.flatMap((cover) => (cover.olid ? [cover.olid] : [])))];
      const ids = covers.map((cover) => cover.id);
      // By cover and by edition in separate statements of at most KEYS_PER_STATEMENT keys: each reads its own index on
      // either database, where an OR of two long IN lists lets PostgreSQL's planner prefer reading the whole table.
      const columns = ['scheme', 'value', 'olid', 'cover_id'] as const;
      const identifiers = [];
      for (const chunk of inChunks(ids, KEYS_PER_STATEMENT)) {
        identifiers.push(...(await db.selectFrom('identifiers').select(columns).where('cover_id', 'in', chunk).where('olid', '=', '').execute()));
      }
      for (const chunk of inChunks(olids, KEYS_PER_STATEMENT)) {
        identifiers.push(...(await db.selectFrom('identifiers').select(columns).where('olid', 'in', chunk).execute()));
      }
      identifiers.sort((a, b) => compareText(a.scheme, b.scheme) || compareText(a.value, b.value));
      const byOlid = new Map<string, typeof identifiers>();
      const byCover = new Map<number, typeof identifiers>();
      for (const row of identifiers) {
        if (row.olid !== '') byOlid.set(row.olid, [...(byOlid.get(row.olid) ?? []), row]);
        else byCover.set(Number(row.cover_id), [...(byCover.get(Number(row.cover_id)) ?? []), row]);
      }
      for (const cover of covers) {
        const id = cover.id;
        if (cover.olid) {
          const key = keyOf(cover.olid);
          await write(formatRow('olid', cover.olid, key, id));
          summary.rows++;
          for (const row of byOlid.get(cover.olid) ?? []) await emit(row.scheme as EditionScheme, row.value, key, id);
        }
        for (const row of byCover.get(id) ?? []) await emit(row.scheme as EditionScheme, row.value, '', id);
      }
      coversDone += covers.length;
      bar.update(coversDone, summary.rows);
    }
    // Identifiers of entities that have no visible cover: the olid index walked once, a page of entities at a time,
    // and the page's entities looked up among the visible covers (a NOT EXISTS per row would let PostgreSQL's planner
    // read both tables whole for every page).
    let after = '';
    for (;;) {
      const columns = ['scheme', 'value', 'olid'] as const;
      let rows = await db.selectFrom('identifiers').select(columns).where('olid', '>', after).orderBy('olid').limit(PAGE).execute();
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!.olid;
      if (rows.length === PAGE) {
        // The page may end inside the last entity's identifiers: that entity is read whole, on its own.
        rows = [...rows.filter((row) => row.olid !== last), ...(await db.selectFrom('identifiers').select(columns).where('olid', '=', last).execute())];
      }
      const entities = [...new Set(rows.map((row) => row.olid))];
      const covered = new Set<string>();
      for (const chunk of inChunks(entities, KEYS_PER_STATEMENT)) {
        const found = await db.selectFrom('covers').select('olid').where('olid', 'in', chunk).where(visibleRows(db)).execute();
        for (const { olid } of found) if (olid) covered.add(olid);
      }
      rows.sort((a, b) => compareText(a.olid, b.olid) || compareText(a.scheme, b.scheme) || compareText(a.value, b.value));
      for (const row of rows) if (!covered.has(row.olid)) await emit(row.scheme as EditionScheme, row.value, keyOf(row.olid), undefined);
      after = last;
    }
    // Links known for covers that are not in the catalogue yet.
    let afterLink = 0;
    for (;;) {
      const links = await db.selectFrom('pending_cover_links').selectAll().where('cover_id', '>', afterLink).orderBy('cover_id').limit(PAGE).execute();
      if (links.length === 0) break;
      for (const link of links) {
        await write(formatRow('olid', link.olid, olKey(link.olid, link.kind), Number(link.cover_id)));
        summary.rows++;
      }
      afterLink = Number(links[links.length - 1]!.cover_id);
    }
    await output.finish();
  } catch (error) {
    await output.abort();
    throw error;
  } finally {
    bar.stop();
  }
  return summary;
}
