import { createHash } from 'node:crypto';
import { storeBehind } from './storage/measured.ts';
import fs from 'node:fs/promises';
import path from 'node:path';
import { inChunks } from './catalogue/covers.ts';
import type { CatalogueDb } from './catalogue/db.ts';
import { mapLimited } from './concurrency.ts';
import type { BlobStore } from './storage/blobstore.ts';

/**
 * A database row that needs a blob: the key, what the bytes must be (when the row records it; otherwise only the
 * blob's existence is checked), and who refers to it, for messages (`cover 12`, `release image 34`).
 */
export interface BlobReference {
  key: string;
  sha256?: string;
  size?: number;
  owner: string;
}

/**
 * Everything in the database that points at blobs. Yields in batches so a large catalogue is never all in memory.
 * `referenced` answers for a batch of blobs — which of these blob keys a row holds, and which of these sha256s (a
 * rendition's original) — through the tables' indexes: fsck asks it for each page of the store's listing, and
 * `--repair` again just before each delete.
 */
export interface BlobReferenceSource {
  (db: CatalogueDb): AsyncIterable<BlobReference>;
  referenced(db: CatalogueDb, blobs: { keys?: string[]; sha256s?: string[] }): Promise<{ keys: Set<string>; sha256s: Set<string> }>;
}

const PAGE = 1000;

/** Tables whose rows each own one blob, with the columns fsck reads (the same names in every such table). */
type BlobOwningTable = 'covers' | 'caa_images';

/** Every row of a blob-owning table, deleted or pending included: their blobs must stay (undelete, moderation). */
function tableBlobReferences(table: BlobOwningTable, label: string): BlobReferenceSource {
  const source: BlobReferenceSource = async function* (db: CatalogueDb): AsyncIterable<BlobReference> {
    let after = 0;
    for (;;) {
      // Both tables share these column names; Kysely's types are told one of them.
      const rows = await db
        .selectFrom(table as 'covers')
        .select(['id', 'blob_key', 'sha256', 'byte_size'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(PAGE)
        .execute();
      for (const row of rows) yield { key: row.blob_key, sha256: row.sha256, size: Number(row.byte_size), owner: `${label} ${row.id}` };
      if (rows.length < PAGE) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  };
  source.referenced = async (db, { keys = [], sha256s = [] }) => {
    const found = { keys: new Set<string>(), sha256s: new Set<string>() };
    for (const chunk of inChunks(keys)) {
      const rows = await db.selectFrom(table as 'covers').select('blob_key').distinct().where('blob_key', 'in', chunk).execute();
      for (const row of rows) found.keys.add(row.blob_key);
    }
    for (const chunk of inChunks(sha256s)) {
      const rows = await db.selectFrom(table as 'covers').select('sha256').distinct().where('sha256', 'in', chunk).execute();
      for (const row of rows) found.sha256s.add(row.sha256);
    }
    return found;
  };
  return source;
}

export const coverBlobReferences = tableBlobReferences('covers', 'cover');
export const releaseImageBlobReferences = tableBlobReferences('caa_images', 'release image');

/**
 * The sources of blob references. A table that stores blob keys adds its source here (one line), and fsck checks
 * its blobs and keeps them out of the garbage; `jacket backup` uses the same list.
 */
export const BLOB_REFERENCE_SOURCES: BlobReferenceSource[] = [coverBlobReferences, releaseImageBlobReferences];

export async function* referencedBlobs(db: CatalogueDb, sources: BlobReferenceSource[] = BLOB_REFERENCE_SOURCES): AsyncIterable<BlobReference> {
  for (const source of sources) yield* source(db);
}

export type GarbageKind = 'orphan-original' | 'orphan-rendition' | 'superseded-rendition' | 'temp-file';

export interface Garbage {
  kind: GarbageKind;
  /** A blob key, or the path of a temp file. */
  key: string;
  bytes: number;
}

export interface BlobProblem {
  key: string;
  owners: string[];
  detail: string;
}

export interface FsckReport {
  referencesChecked: number;
  /** Blobs read and hashed: each once per page of references it appears in (so a blob shared across pages counts again). */
  blobsChecked: number;
  missing: BlobProblem[];
  corrupt: BlobProblem[];
  garbage: Garbage[];
  /** Garbage younger than the grace period: possibly a write in progress on a running server, left alone. */
  recent: Garbage[];
  /** What `--repair` deleted. */
  repaired: Garbage[];
}

export interface FsckOptions {
  repair?: boolean;
  /** Garbage younger than this is reported as recent and never deleted (a live server may be writing it). */
  graceMs?: number;
  sources?: BlobReferenceSource[];
  /** Blobs hashed at once. */
  concurrency?: number;
}

/** The shape of store that keeps temp files on local disk (FsBlobStore). */
interface TemporaryFiles {
  root: string;
  listTemporary(): Promise<string[]>;
}

function hasTemporaryFiles(blobs: BlobStore): blobs is BlobStore & TemporaryFiles {
  return typeof (blobs as Partial<TemporaryFiles>).listTemporary === 'function' && typeof (blobs as Partial<TemporaryFiles>).root === 'string';
}

/** sha256 of the original a rendition key was made from (`renditions/ab/<sha256>-WxH.ext`). */
function renditionSource(key: string): string | undefined {
  return /^renditions\/[0-9a-f]{2}\/([0-9a-f]{64})-[^/]+$/.exec(key)?.[1];
}

/** A rendition kept under the older layout (`renditions/ab/<sha256>/WxH.ext`): never read again, so garbage. */
function supersededRendition(key: string): boolean {
  return /^renditions\/[0-9a-f]{2}\/[0-9a-f]{64}\/[^/]+$/.test(key);
}

/**
 * Catalogue and storage agree when every referenced blob exists with the recorded hash and size. Blobs nobody
 * refers to and leftover temp files are garbage: a crash between writing a blob and committing its row leaves
 * exactly that, by design, so garbage is reported (and collected with `repair`) but is not an error.
 */
export async function fsck(db: CatalogueDb, blobs: BlobStore, options: FsckOptions = {}): Promise<FsckReport> {
  const sources = options.sources ?? BLOB_REFERENCE_SOURCES;
  const graceMs = options.graceMs ?? 0;
  const report: FsckReport = { referencesChecked: 0, blobsChecked: 0, missing: [], corrupt: [], garbage: [], recent: [], repaired: [] };

  // References a page at a time, never the whole catalogue: at Open Library's size (millions of covers) a map of every
  // reference would not fit in the heap. A blob referenced from two pages is checked twice; problems are few and are
  // merged by key so each is reported once with all its owners.
  const missing = new Map<string, BlobProblem>();
  const corrupt = new Map<string, BlobProblem>();
  const addProblem = (problems: Map<string, BlobProblem>, key: string, owners: string[], detail: string) => {
    const known = problems.get(key);
    if (known) known.owners.push(...owners);
    else problems.set(key, { key, owners, detail });
  };
  const checkPage = async (page: BlobReference[]) => {
    const byKey = new Map<string, BlobReference[]>();
    for (const reference of page) {
      const list = byKey.get(reference.key);
      if (list) list.push(reference);
      else byKey.set(reference.key, [reference]);
    }
    await mapLimited([...byKey.entries()], options.concurrency ?? 4, async ([key, references]) => {
      report.blobsChecked++;
      const bytes = await blobs.get(key);
      if (!bytes) return addProblem(missing, key, references.map((reference) => reference.owner), 'blob is missing');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const wrong = references.filter(
        (reference) => (reference.sha256 !== undefined && reference.sha256 !== sha256) || (reference.size !== undefined && reference.size !== bytes.length),
      );
      if (wrong.length === 0) return;
      const expected = wrong[0]!;
      addProblem(
        corrupt,
        key,
        wrong.map((reference) => reference.owner),
        `expected ${expected.size ?? 'any number of'} bytes with sha256 ${expected.sha256 ?? '(not recorded)'}, found ${bytes.length} bytes with sha256 ${sha256}`,
      );
    });
  };
  for await (const page of inPages(referencedBlobs(db, sources))) {
    report.referencesChecked += page.length;
    await checkPage(page);
  }
  report.missing = [...missing.values()].sort((a, b) => a.key.localeCompare(b.key));
  report.corrupt = [...corrupt.values()].sort((a, b) => a.key.localeCompare(b.key));

  // The store's listing, a page at a time, each page's keys (or its renditions' originals) asked of the catalogue.
  const candidates: Array<{ item: Garbage; modifiedAt?: number }> = [];
  const blobCandidate = async (kind: GarbageKind, key: string) => {
    const stat = await blobs.stat(key);
    if (stat) candidates.push({ item: { kind, key, bytes: stat.size }, modifiedAt: stat.modifiedAt });
  };
  for await (const keys of inPages(blobs.list('originals/'))) {
    const { keys: kept } = await referencedBy(db, sources, { keys });
    for (const key of keys) if (!kept.has(key)) await blobCandidate('orphan-original', key);
  }
  for await (const keys of inPages(blobs.list('renditions/'))) {
    const sha256s = [...new Set(keys.map(renditionSource).filter((sha256) => sha256 !== undefined))];
    const { sha256s: kept } = await referencedBy(db, sources, { sha256s });
    for (const key of keys) {
      const source = renditionSource(key);
      if (source && !kept.has(source)) await blobCandidate('orphan-rendition', key);
      else if (supersededRendition(key)) await blobCandidate('superseded-rendition', key);
    }
  }
  const local = storeBehind(blobs);
  if (hasTemporaryFiles(local)) {
    for (const file of await local.listTemporary()) {
      const info = await fs.stat(file).catch(() => undefined);
      if (info) candidates.push({ item: { kind: 'temp-file', key: file, bytes: info.size }, modifiedAt: info.mtimeMs });
    }
  }

  const now = Date.now();
  for (const { item, modifiedAt } of candidates) {
    if (isRecent(modifiedAt, graceMs, now)) report.recent.push(item);
    else report.garbage.push(item);
  }

  if (options.repair) {
    for (const item of report.garbage) {
      if (await stillGarbage(db, blobs, sources, item, graceMs)) {
        if (item.kind === 'temp-file') await fs.rm(item.key, { force: true });
        else await blobs.delete(item.key);
        if (item.kind === 'superseded-rendition') await removeEmptiedFolder(blobs, item.key);
        report.repaired.push(item);
      }
    }
  }
  return report;
}

/** `items` PAGE at a time (references, or keys of the store's listing). */
async function* inPages<T>(items: AsyncIterable<T>): AsyncIterable<T[]> {
  let page: T[] = [];
  for await (const item of items) {
    page.push(item);
    if (page.length >= PAGE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** Which of these blob keys and originals' sha256s any source refers to. */
async function referencedBy(db: CatalogueDb, sources: BlobReferenceSource[], blobs: { keys?: string[]; sha256s?: string[] }): Promise<{ keys: Set<string>; sha256s: Set<string> }> {
  const found = { keys: new Set<string>(), sha256s: new Set<string>() };
  for (const source of sources) {
    const { keys, sha256s } = await source.referenced(db, blobs);
    for (const key of keys) found.keys.add(key);
    for (const sha256 of sha256s) found.sha256s.add(sha256);
  }
  return found;
}

/**
 * The old rendition layout had a folder per original (`renditions/ab/<sha256>/`), which the new layout exists to
 * avoid: on a local disk, once its last rendition is collected, the folder goes too. One still holding files stays.
 */
async function removeEmptiedFolder(blobs: BlobStore, key: string): Promise<void> {
  const file = blobs.localPath?.(key);
  if (file === undefined) return;
  await fs.rmdir(path.dirname(file)).catch((error: NodeJS.ErrnoException) => {
    // (POSIX lets a folder with files in it answer EEXIST as well as ENOTEMPTY.)
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST' && error.code !== 'ENOENT') throw error;
  });
}

/**
 * Asked again, per item, just before deleting it: a live server may have committed a row for an "orphan" since the
 * scan, or be about to (an upload re-using an orphan's bytes refreshes the blob's age before committing its row).
 * References first, age last, so the moment between the last look and the delete is one stat.
 */
async function stillGarbage(db: CatalogueDb, blobs: BlobStore, sources: BlobReferenceSource[], item: Garbage, graceMs: number): Promise<boolean> {
  if (item.kind === 'temp-file') {
    const info = await fs.stat(item.key).catch(() => undefined);
    return info !== undefined && !isRecent(info.mtimeMs, graceMs, Date.now());
  }
  if (item.kind === 'orphan-original' && (await referencedBy(db, sources, { keys: [item.key] })).keys.size > 0) return false;
  if (item.kind === 'orphan-rendition' && (await referencedBy(db, sources, { sha256s: [renditionSource(item.key)!] })).sha256s.size > 0) return false;
  const stat = await blobs.stat(item.key);
  return stat !== undefined && !isRecent(stat.modifiedAt, graceMs, Date.now());
}

/**
 * Garbage written within the grace period may belong to a write in progress. A store that cannot say when a blob
 * was written gives no grace: fsck then relies on the reference check alone.
 */
function isRecent(modifiedAt: number | undefined, graceMs: number, now: number): boolean {
  return graceMs > 0 && modifiedAt !== undefined && now - modifiedAt < graceMs;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
