import { createQueryId, sql, type CompiledQuery, type ExpressionBuilder } from 'kysely';
import type { EditionScheme, OlidKind } from '../identifiers/index.ts';
import { isPostgres, type CatalogueDb, type Executor } from './db.ts';
import type { CoversTable, Database, StoredImageColumns } from './schema.ts';
import { editTitle, titleMatches, type TitleEdit } from './titles.ts';

export type Category = 'b' | 'a' | 'w';

/** An original as the catalogue records it: where its bytes are, what they are, and the upright size. */
export interface StoredImage {
  blobKey: string;
  sha256: string;
  mime: string;
  width: number;
  height: number;
  byteSize: number;
}

/** A stored original's fields from its row (covers and release images share the six columns). */
export function storedImageOf(row: StoredImageColumns): StoredImage {
  return {
    blobKey: row.blob_key,
    sha256: row.sha256,
    mime: row.mime,
    width: Number(row.width),
    height: Number(row.height),
    byteSize: Number(row.byte_size),
  };
}

/** The six columns of a stored original. */
export function storedImageColumns(image: StoredImage): StoredImageColumns {
  return { blob_key: image.blobKey, sha256: image.sha256, mime: image.mime, width: image.width, height: image.height, byte_size: image.byteSize };
}

export interface Cover extends StoredImage {
  id: number;
  category: Category;
  olid: string | null;
  sourceUrl: string | null;
  author: string | null;
  createdAt: number;
  modifiedAt: number;
  deleted: boolean;
  status: 'approved' | 'pending' | 'rejected';
}

export interface IdentifierInput {
  scheme: EditionScheme;
  /** Already normalised (see identifiers/). */
  value: string;
}

export interface NewCover extends StoredImage {
  category: Category;
  olid?: string;
  olidKind?: OlidKind;
  sourceUrl?: string;
  author?: string;
  identifiers?: IdentifierInput[];
  /** The book's title and authors, kept where the identifiers go (its edition, else the cover). */
  title?: TitleEdit;
  /** Keep an existing id (imports); otherwise the next id in order is assigned. */
  id?: number;
  createdAt?: number;
  status?: Cover['status'];
}

export function toCover(row: CoversTable): Cover {
  return {
    id: Number(row.id),
    category: row.category,
    olid: row.olid,
    ...storedImageOf(row),
    sourceUrl: row.source_url,
    author: row.author,
    createdAt: Number(row.created_at),
    modifiedAt: Number(row.modified_at),
    deleted: Number(row.deleted) === 1,
    status: row.status as Cover['status'],
  };
}

/** The row that attaches an identifier to an entity (when `target.olid` is given) or directly to a cover. */
function identifierRow(identifier: IdentifierInput, target: { olid?: string; coverId?: number }, now: number): IdentifierRow {
  return {
    scheme: identifier.scheme,
    value: identifier.value,
    olid: target.olid ?? '',
    cover_id: target.olid ? 0 : (target.coverId ?? 0),
    created_at: now,
  };
}

/** The row of a new cover: what the input says, with the id, category, entity and time decided by the caller. */
function coverRow(input: NewCover, decided: { id: number; category: Category; olid: string | null; createdAt: number }): CoversTable {
  return {
    id: decided.id,
    category: decided.category,
    olid: decided.olid,
    ...storedImageColumns(input),
    source_url: input.sourceUrl ?? null,
    author: input.author ?? null,
    created_at: decided.createdAt,
    modified_at: decided.createdAt,
    deleted: 0,
    status: input.status ?? 'approved',
  };
}

export type { Executor };

/**
 * A counter in the `sequences` table: the next value, or with `requested` (an id kept from an import), the counter
 * moved past it if it was behind and `requested` itself. Update first, read never: the row stays locked (PostgreSQL)
 * or the transaction stays a writer (SQLite) from the first statement, so two writers never read the same value, and
 * two writers keeping the same id run one after the other (the release catalogue's edit log relies on that).
 */
export async function advanceSequence(trx: Executor, name: string, requested?: number): Promise<number> {
  if (requested !== undefined) {
    await trx
      .updateTable('sequences')
      .set({ value: sql<number>`CASE WHEN value < ${requested} THEN ${requested} ELSE value END` })
      .where('name', '=', name)
      .execute();
    return requested;
  }
  return drawFromSequence(trx, name, 1);
}

/**
 * Move a counter up to `requested` if it is behind. A counter already there is not changed, and PostgreSQL then takes
 * no lock: the covers' kept ids need none (a taken id is found at insert time), and a bulk batch must not hold the
 * lock live uploads draw their ids under. On SQLite the UPDATE makes the transaction a writer even when it changes
 * no row, so it never has to upgrade from a stale read later (SQLITE_BUSY_SNAPSHOT when another process wrote).
 */
async function moveSequencePast(trx: Executor, name: string, requested: number): Promise<void> {
  await trx.updateTable('sequences').set({ value: requested }).where('name', '=', name).where('value', '<', requested).execute();
}

/** `count` consecutive values of a counter, in one statement: the first of them (locked as `advanceSequence`). */
async function drawFromSequence(trx: Executor, name: string, count: number): Promise<number> {
  const row = await trx
    .updateTable('sequences')
    .set((eb) => ({ value: eb('value', '+', count) }))
    .where('name', '=', name)
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value) - count + 1;
}

/** Rows per multi-row statement in the bulk paths: at most 5 columns each, far below SQLite's and PostgreSQL's limits on bound values. */
const ROWS_PER_STATEMENT = 500;

/** How many matches past its page a collection listing counts (browseCovers). */
export const LISTING_COUNT_AHEAD = 1000;

/** The orders of the collection listing, each read in the order of an index: (created_at, id) or (modified_at, id). */
export const COLLECTION_SORTS = ['recent', 'oldest', 'modified'] as const;
export type CollectionSort = (typeof COLLECTION_SORTS)[number];
const COLLECTION_ORDER: Record<CollectionSort, ['covers.created_at' | 'covers.modified_at', 'asc' | 'desc']> = {
  recent: ['covers.created_at', 'desc'],
  oldest: ['covers.created_at', 'asc'],
  modified: ['covers.modified_at', 'desc'],
};

/** `items` in consecutive slices of at most `size`: one statement each. */
export function* inChunks<T>(items: readonly T[], size = ROWS_PER_STATEMENT): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** An identifier row as stored: attached to an entity (`olid`, `cover_id` 0) or to a cover (`olid` ''). */
export interface IdentifierRow {
  scheme: string;
  value: string;
  olid: string;
  cover_id: number;
  created_at: number;
}

/** Store identifier rows, a few hundred per statement, duplicates and rows already there skipped; how many were new. */
export async function insertIdentifierRows(trx: Executor, rows: IdentifierRow[]): Promise<number> {
  let added = 0;
  // Sorted by key, so two imports writing at once take their locks in the same order (PostgreSQL).
  const unique = new Map(rows.map((row) => [`${row.scheme}\0${row.value}\0${row.olid}\0${row.cover_id}`, row]));
  for (const chunk of inChunks([...unique.keys()].sort().map((key) => unique.get(key)!))) {
    const result = await trx
      .insertInto('identifiers')
      .values(chunk)
      .onConflict((oc) => oc.columns(['scheme', 'value', 'olid', 'cover_id']).doNothing())
      .executeTakeFirst();
    added += Number(result.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}

/** Create these entities where they do not exist yet, a few hundred per statement. */
export async function ensureEntities(trx: Executor, entities: Map<string, OlidKind>, now: number): Promise<void> {
  const rows = [...entities.keys()].sort().map((olid) => ({ olid, kind: entities.get(olid)!, created_at: now }));
  for (const chunk of inChunks(rows)) {
    await trx
      .insertInto('entities')
      .values(chunk)
      .onConflict((oc) => oc.column('olid').doNothing())
      .execute();
  }
}

const CATEGORY_FOR_KIND: Record<OlidKind, Category> = { edition: 'b', work: 'w', author: 'a' };

/** Covers, the entities they belong to, and the identifiers that find them. Knows nothing of HTTP. */
export class CoverCatalogue {
  readonly db: CatalogueDb;
  /** Called after every change that can alter what a lookup returns (used to drop cached resolutions). */
  onChange: (() => void) | undefined;
  /** Called with the sha256 of an image no longer served by its cover (deleted, or its original replaced). */
  onImageGone: ((sha256: string) => void) | undefined;
  /** The cover-by-id query, compiled once (see getCover). */
  private byId: CompiledQuery<CoversTable> | undefined;
  /** `isVisible` as this database's condition (see visibleRows). */
  private readonly visible: ReturnType<typeof visibleRows>;

  constructor(db: CatalogueDb) {
    this.db = db;
    this.visible = visibleRows(db);
  }

  /** Tell `onChange` that lookups may now answer differently: every method that writes calls it after commit. */
  private changed(): void {
    this.onChange?.();
  }

  /**
   * Run `work` in one transaction and publish the change after commit: the way for callers that write several rows
   * through the methods taking a transaction (`attachIdentifiers`, `linkCovers`, `insertCovers`).
   */
  async write<T>(work: (trx: Executor) => Promise<T>): Promise<T> {
    const result = await this.db.transaction().execute(work);
    this.changed();
    return result;
  }

  private async nextId(trx: Executor, requested?: number): Promise<number> {
    if (requested === undefined) return drawFromSequence(trx, 'cover_id', 1);
    await moveSequencePast(trx, 'cover_id', requested);
    return requested;
  }

  async ensureEntity(trx: Executor, olid: string, kind: OlidKind, now = Date.now()): Promise<void> {
    await trx
      .insertInto('entities')
      .values({ olid, kind, created_at: now })
      .onConflict((oc) => oc.column('olid').doNothing())
      .execute();
  }

  async attachIdentifiers(trx: Executor, identifiers: IdentifierInput[], target: { olid?: string; coverId?: number }, now = Date.now()): Promise<void> {
    await insertIdentifierRows(trx, identifiers.map((identifier) => identifierRow(identifier, target, now)));
  }

  /** Add a cover (and its entity and identifiers) in one transaction. */
  async addCover(input: NewCover): Promise<Cover> {
    const now = input.createdAt ?? Date.now();
    const cover = await this.db.transaction().execute(async (trx) => {
      const id = await this.nextId(trx, input.id);
      if (input.olid && input.olidKind) await this.ensureEntity(trx, input.olid, input.olidKind, now);
      const row = coverRow(input, { id, category: input.category, olid: input.olid ?? null, createdAt: now });
      await trx.insertInto('covers').values(row).execute();
      await this.attachIdentifiers(trx, input.identifiers ?? [], { olid: input.olid, coverId: id }, now);
      if (input.title) await editTitle(trx, { olid: input.olid, coverId: id }, input.title, now);
      return toCover(row);
    });
    this.changed();
    return cover;
  }

  /**
   * Move the id sequence past `highestId` in a short transaction of its own, so that uploads from then on get ids
   * above it (a bulk import calls this before it checks and inserts a batch of covers that keep their ids).
   */
  async reserveIdsThrough(highestId: number): Promise<void> {
    await this.db.transaction().execute((trx) => this.nextId(trx, highestId));
  }

  /**
   * Add many covers in one transaction (bulk imports): ids kept when given, the others numbered after the highest,
   * entities created, identifiers attached, and links remembered from an earlier editions/idmap import applied. A kept
   * id that another writer (a live upload) took meanwhile is not inserted: it is returned in `conflicts`, and nothing
   * else of that cover is written.
   *
   * Every id is settled first, in a short transaction of its own (the sequence moved past the kept ids, the others
   * drawn as one block), so the batch's transaction never writes the sequence: on PostgreSQL an update holds its row
   * lock until commit, and live uploads, which draw their ids from that row, would wait for the whole batch.
   */
  async addCovers(inputs: NewCover[]): Promise<{ conflicts: number[] }> {
    if (inputs.length === 0) return { conflicts: [] };
    const numbered = await this.db.transaction().execute((trx) => this.numberCovers(trx, inputs));
    const result = await this.db.transaction().execute(async (trx) => {
      // A write before the first read: on SQLite that makes the transaction a writer at once, where a read first
      // would fail to upgrade (SQLITE_BUSY_SNAPSHOT) once another process (the server, during an import) has
      // written. The sequence is already past these ids, so nothing changes, and PostgreSQL takes no lock.
      const kept = numbered.filter((cover) => cover.kept).map((cover) => cover.id);
      if (kept.length > 0) await moveSequencePast(trx, 'cover_id', Math.max(...kept));
      return this.insertNumbered(trx, numbered, Date.now());
    });
    this.changed();
    return result;
  }

  /**
   * `addCovers` inside a caller's transaction. Kept ids already behind the sequence (`reserveIdsThrough`, as
   * `addCovers` does) leave it unchanged and unlocked; otherwise it is moved past them here, and covers without an id
   * draw theirs here as one block: either holds the sequence's row lock (PostgreSQL) until the caller commits.
   */
  async insertCovers(trx: Executor, inputs: NewCover[], at = Date.now()): Promise<{ conflicts: number[] }> {
    return this.insertNumbered(trx, await this.numberCovers(trx, inputs), at);
  }

  /** Each cover with its id: a kept id moves the sequence past it; the others are drawn as one block. */
  private async numberCovers(trx: Executor, inputs: NewCover[]): Promise<Array<{ input: NewCover; id: number; kept: boolean }>> {
    const requested = inputs.flatMap((input) => (input.id === undefined ? [] : [input.id]));
    if (requested.length > 0) await this.nextId(trx, Math.max(...requested));
    const unnumbered = inputs.length - requested.length;
    let next = unnumbered > 0 ? await drawFromSequence(trx, 'cover_id', unnumbered) : 0;
    return inputs.map((input) => (input.id === undefined ? { input, id: next++, kept: false } : { input, id: input.id, kept: true }));
  }

  /**
   * Write numbered covers: entities, cover rows (a taken id skipped and reported), identifiers, and the links an
   * editions/idmap import remembered for kept ids (a remembered link names an Open Library cover id: a cover that
   * drew a fresh id is another cover, and does not take it). Rows go out in key order, so two imports writing at
   * once take their locks in the same order (PostgreSQL).
   */
  private async insertNumbered(trx: Executor, numbered: Array<{ input: NewCover; id: number; kept: boolean }>, at: number): Promise<{ conflicts: number[] }> {
    const kept = numbered.filter((cover) => cover.kept).map((cover) => cover.id);
    const pending = new Map<number, { olid: string; kind: OlidKind }>();
    for (const chunk of inChunks(kept)) {
      const rows = await trx.selectFrom('pending_cover_links').select(['cover_id', 'olid', 'kind']).where('cover_id', 'in', chunk).execute();
      for (const row of rows) pending.set(Number(row.cover_id), { olid: row.olid, kind: row.kind });
    }
    const rows: CoversTable[] = [];
    const entities = new Map<string, OlidKind>();
    for (const { input, id, kept } of numbered) {
      const link = input.olid || !kept ? undefined : pending.get(id);
      const olid = input.olid ?? link?.olid;
      const kind = input.olidKind ?? link?.kind;
      if (olid && kind) entities.set(olid, kind);
      rows.push(coverRow(input, { id, category: link ? CATEGORY_FOR_KIND[link.kind] : input.category, olid: olid ?? null, createdAt: input.createdAt ?? at }));
    }
    await ensureEntities(trx, entities, at);
    // A conflicting id is skipped rather than failing the batch: the row already there (an upload) is kept.
    const inserted = new Set<number>();
    for (const chunk of inChunks([...rows].sort((a, b) => a.id - b.id), 200)) {
      const done = await trx
        .insertInto('covers')
        .values(chunk)
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      for (const row of done) inserted.add(Number(row.id));
    }
    const identifiers: IdentifierRow[] = [];
    for (const [index, { input }] of numbered.entries()) {
      const row = rows[index]!;
      if (!inserted.has(row.id)) continue;
      for (const identifier of input.identifiers ?? []) identifiers.push(identifierRow(identifier, { olid: row.olid ?? undefined, coverId: row.id }, at));
    }
    await insertIdentifierRows(trx, identifiers);
    for (const [index, { input }] of numbered.entries()) {
      const row = rows[index]!;
      if (input.title && inserted.has(row.id)) await editTitle(trx, { olid: row.olid, coverId: row.id }, input.title, at);
    }
    const applied = [...pending.keys()].filter((id) => inserted.has(id)).sort((a, b) => a - b);
    for (const chunk of inChunks(applied)) await trx.deleteFrom('pending_cover_links').where('cover_id', 'in', chunk).execute();
    return { conflicts: rows.map((row) => row.id).filter((id) => !inserted.has(id)) };
  }

  /** The first cover (lowest id, not deleted) that holds each of these images, by SHA-256; images no cover holds are left out. */
  async coversByImage(sha256s: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const chunk of inChunks([...new Set(sha256s)])) {
      const rows = await this.db.selectFrom('covers').select(['id', 'sha256']).where('sha256', 'in', chunk).where('deleted', '=', 0).orderBy('id').execute();
      for (const row of rows) if (!out.has(row.sha256)) out.set(row.sha256, Number(row.id));
    }
    return out;
  }

  /** The stored hash and entity of each of these covers that exists (deleted ones included). */
  async coverSummaries(ids: number[]): Promise<Map<number, { sha256: string; olid: string | null }>> {
    const out = new Map<number, { sha256: string; olid: string | null }>();
    for (const chunk of inChunks(ids)) {
      const rows = await this.db.selectFrom('covers').select(['id', 'sha256', 'olid']).where('id', 'in', chunk).execute();
      for (const row of rows) out.set(Number(row.id), { sha256: row.sha256, olid: row.olid });
    }
    return out;
  }

  /**
   * Link covers to their entities (editions dump, identifier mapping). A cover that has no entity yet gets this one;
   * a cover already linked keeps its link; a cover not imported yet has the link remembered for its import. The first
   * link given for a cover is the one that counts. A few statements per few hundred links, not a few per link.
   */
  async linkCovers(trx: Executor, links: Array<{ coverId: number; olid: string; kind: OlidKind }>, now = Date.now()): Promise<{ linked: number; remembered: number }> {
    let linked = 0;
    let remembered = 0;
    if (links.length === 0) return { linked, remembered };
    const first = new Map<number, { coverId: number; olid: string; kind: OlidKind }>();
    for (const link of links) if (!first.has(link.coverId)) first.set(link.coverId, link);
    const existing = new Map<number, string | null>();
    for (const chunk of inChunks([...first.keys()])) {
      const rows = await trx.selectFrom('covers').select(['id', 'olid']).where('id', 'in', chunk).execute();
      for (const row of rows) existing.set(Number(row.id), row.olid);
    }
    const inIdOrder = [...first.values()].sort((a, b) => a.coverId - b.coverId);
    const toRemember = inIdOrder.filter((link) => !existing.has(link.coverId));
    for (const chunk of inChunks(toRemember)) {
      const result = await trx
        .insertInto('pending_cover_links')
        .values(chunk.map((link) => ({ cover_id: link.coverId, olid: link.olid, kind: link.kind, created_at: now })))
        .onConflict((oc) => oc.column('cover_id').doNothing())
        .executeTakeFirst();
      remembered += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    const toLink = inIdOrder.filter((link) => existing.get(link.coverId) === null);
    await ensureEntities(trx, new Map(toLink.map((link) => [link.olid, link.kind])), now);
    // One UPDATE per chunk, the entity and category chosen per id; "not linked" again, in case another writer linked
    // one of them since the read above. Written as coalesce(olid, '') = '', never as `olid IS NULL`: SQLite would
    // answer that through the olid index, reading every cover not linked yet for each chunk (22 ms a chunk at 300,000
    // covers, quadratic over an import) instead of the chunk's ids through the primary key (0.35 ms).
    for (const chunk of inChunks(toLink, 200)) {
      const olidCase = sql.join(chunk.map((link) => sql`WHEN ${link.coverId} THEN ${link.olid}`), sql` `);
      const categoryCase = sql.join(chunk.map((link) => sql`WHEN ${link.coverId} THEN ${CATEGORY_FOR_KIND[link.kind]}`), sql` `);
      const done = await trx
        .updateTable('covers')
        .set({ olid: sql<string>`CASE id ${olidCase} END`, category: sql<Category>`CASE id ${categoryCase} END` })
        .where('id', 'in', chunk.map((link) => link.coverId))
        .where(sql`coalesce(olid, '')`, '=', '')
        .returning('id')
        .execute();
      linked += done.length;
    }
    return { linked, remembered };
  }

  /** A cover by id, whatever its state (callers decide what is visible). */
  async getCover(id: number): Promise<Cover | undefined> {
    // Every rendition miss and every uncached cover URL looks a cover up by id: its SQL is built and compiled once
    // (building and compiling it each time cost about as much main-thread time as running it), only the id changes.
    const byId = (this.byId ??= this.db.selectFrom('covers').selectAll().where('id', '=', 0).compile());
    const { rows } = await this.db.executeQuery<CoversTable>({ ...byId, parameters: [id], queryId: createQueryId() });
    return rows[0] ? toCover(rows[0]) : undefined;
  }

  /** Covers waiting for a moderation decision (not deleted), oldest first. */
  async pendingCovers(limit: number, offset: number): Promise<Cover[]> {
    const rows = await this.db
      .selectFrom('covers')
      .selectAll()
      .where('status', '=', 'pending')
      .where('deleted', '=', 0)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .offset(offset)
      .limit(limit)
      .execute();
    return rows.map(toCover);
  }

  /** A cover that may be served to the public: not deleted, approved. */
  async visibleCover(id: number): Promise<Cover | undefined> {
    const cover = await this.getCover(id);
    return cover && isVisible(cover) ? cover : undefined;
  }

  /** The entity's cover: the most recently modified visible one (new uploads and `touch` put a cover first). */
  async coverForOlid(olid: string): Promise<Cover | undefined> {
    const row = await this.db
      .selectFrom('covers')
      .selectAll()
      .where('olid', '=', olid)
      .where(this.visible)
      .orderBy('modified_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toCover(row) : undefined;
  }

  /**
   * The newest visible cover reachable from an identifier, through its editions or directly. Three indexed
   * statements rather than one with an OR of two subqueries, which PostgreSQL answered with a scan of every cover:
   * the identifier's rows by primary key, then the newest cover of its entities and of its own covers.
   */
  async coverForIdentifier(scheme: EditionScheme, value: string): Promise<Cover | undefined> {
    const found = await this.db.selectFrom('identifiers').select(['olid', 'cover_id']).where('scheme', '=', scheme).where('value', '=', value).limit(ROWS_PER_STATEMENT).execute();
    const olids = [...new Set(found.map((row) => row.olid).filter((olid) => olid !== ''))];
    const ids = [...new Set(found.map((row) => Number(row.cover_id)).filter((id) => id !== 0))];
    const newest = (column: 'olid' | 'id', values: Array<string | number>) =>
      values.length === 0
        ? Promise.resolve(undefined)
        : this.db
            .selectFrom('covers')
            .selectAll()
            .where(column, 'in', values as never[])
            .where(this.visible)
            .orderBy('modified_at', 'desc')
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst();
    const candidates = (await Promise.all([newest('olid', olids), newest('id', ids)])).filter((row) => row !== undefined).map(toCover);
    candidates.sort((a, b) => b.modifiedAt - a.modifiedAt || b.id - a.id);
    return candidates[0];
  }

  /** Identifiers that lead to a cover (its edition's and its own). */
  async identifiersOf(cover: Pick<Cover, 'id' | 'olid'>): Promise<IdentifierInput[]> {
    const rows = await this.db
      .selectFrom('identifiers')
      .select(['scheme', 'value'])
      .where((eb) => eb.or([eb('cover_id', '=', cover.id), ...(cover.olid ? [eb('olid', '=', cover.olid)] : [])]))
      .orderBy('scheme')
      .orderBy('value')
      .execute();
    return rows.map((row) => ({ scheme: row.scheme as EditionScheme, value: row.value }));
  }

  /**
   * A librarian's correction of a cover: each identifier kind given replaces that kind's identifiers where they
   * belong (its edition's when it has one, else its own), `olid` moves it to another edition (or, null, to none),
   * and a title or authors given replace those of where it now belongs. One transaction; every lookup answers the
   * new way at once (the change is published).
   */
  async editCover(
    id: number,
    edit: { identifiers?: Partial<Record<EditionScheme, string[]>>; olid?: { olid: string; kind: OlidKind } | null; title?: TitleEdit },
  ): Promise<Cover | undefined> {
    const cover = await this.getCover(id);
    if (!cover || cover.deleted) return undefined;
    const now = Date.now();
    const olid = edit.olid === undefined ? cover.olid : edit.olid?.olid ?? null;
    await this.db.transaction().execute(async (trx) => {
      if (edit.olid !== undefined) {
        if (edit.olid) await this.ensureEntity(trx, edit.olid.olid, edit.olid.kind, now);
        await trx.updateTable('covers').set({ olid, modified_at: now }).where('id', '=', id).execute();
      }
      for (const [scheme, values] of Object.entries(edit.identifiers ?? {}) as Array<[EditionScheme, string[]]>) {
        const owned = trx.deleteFrom('identifiers').where('scheme', '=', scheme);
        await (olid ? owned.where('olid', '=', olid) : owned.where('cover_id', '=', id)).execute();
        await this.attachIdentifiers(trx, values.map((value) => ({ scheme, value })), { olid: olid ?? undefined, coverId: id }, now);
      }
      if (edit.title) await editTitle(trx, { olid, coverId: id }, edit.title, now);
    });
    this.changed();
    return this.getCover(id);
  }

  /**
   * Every cover of the same edition, or filed under one of the same identifiers, this one included, newest first:
   * what a cover replaced or superseded before it (deleted ones too, marked so).
   */
  async historyOf(cover: Pick<Cover, 'id' | 'olid'>, limit = 200): Promise<Cover[]> {
    const identifiers = await this.identifiersOf(cover);
    const own = identifiers.length === 0 ? [] : await this.db
      .selectFrom('identifiers')
      .select(['cover_id', 'olid'])
      .where((eb) => eb.or(identifiers.map((identifier) => eb.and([eb('scheme', '=', identifier.scheme), eb('value', '=', identifier.value)]))))
      .limit(ROWS_PER_STATEMENT)
      .execute();
    const olids = [...new Set([cover.olid, ...own.map((row) => row.olid)].filter((olid): olid is string => !!olid))];
    const ids = [...new Set([cover.id, ...own.map((row) => Number(row.cover_id)).filter((value) => value !== 0)])];
    const rows = await this.db
      .selectFrom('covers')
      .selectAll()
      .where((eb) => eb.or([eb('id', 'in', ids), ...(olids.length ? [eb('olid', 'in', olids)] : [])]))
      .orderBy('modified_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toCover);
  }

  /** Mark a cover deleted: it disappears from every route at once. Returns false when there was no such cover. */
  async deleteCover(id: number): Promise<Cover | undefined> {
    const cover = await this.getCover(id);
    if (!cover || cover.deleted) return undefined;
    await this.db.updateTable('covers').set({ deleted: 1, modified_at: Date.now() }).where('id', '=', id).execute();
    this.changed();
    this.onImageGone?.(cover.sha256);
    return cover;
  }

  /** Bump a cover to the top of its entity's list. */
  async touchCover(id: number): Promise<boolean> {
    const result = await this.db
      .updateTable('covers')
      .set({ modified_at: Date.now() })
      .where('id', '=', id)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    this.changed();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Point a cover at a new original (a mirror's refresh); its id, entity and identifiers stay. */
  /**
   * Remove a cover, its identifiers and its own title for good (a mirror forgetting what it fetched), with `alongside` written in
   * the same transaction. Unlike `deleteCover`, nothing of it remains; undefined when there was no such cover.
   */
  async removeCover(id: number, alongside?: (trx: Executor) => Promise<unknown>): Promise<Cover | undefined> {
    const cover = await this.getCover(id);
    if (!cover) return undefined;
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('identifiers').where('cover_id', '=', id).execute();
      await trx.deleteFrom('titles').where('olid', '=', '').where('cover_id', '=', id).execute();
      await alongside?.(trx);
      await trx.deleteFrom('covers').where('id', '=', id).execute();
    });
    this.changed();
    this.onImageGone?.(cover.sha256);
    return cover;
  }

  async replaceOriginal(id: number, image: StoredImage): Promise<void> {
    const before = await this.getCover(id);
    await this.db.updateTable('covers').set({ ...storedImageColumns(image), modified_at: Date.now() }).where('id', '=', id).execute();
    this.changed();
    if (before && before.sha256 !== image.sha256) this.onImageGone?.(before.sha256);
  }

  async setStatus(id: number, status: Cover['status']): Promise<boolean> {
    const result = await this.db.updateTable('covers').set({ status, modified_at: Date.now() }).where('id', '=', id).executeTakeFirst();
    this.changed();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Visible covers, newest modification first, optionally only those of some entities. */
  async query(options: { category?: Category; olids?: string[]; offset: number; limit: number }): Promise<Cover[]> {
    let query = this.db.selectFrom('covers').selectAll().where(this.visible);
    if (options.category) query = query.where('category', '=', options.category);
    if (options.olids && options.olids.length > 0) query = query.where('olid', 'in', options.olids);
    const rows = await query.orderBy('modified_at', 'desc').orderBy('id', 'desc').offset(options.offset).limit(options.limit).execute();
    return rows.map(toCover);
  }

  /**
   * The librarian's view of the collection: every cover not deleted, whatever its moderation state, newest first
   * (`sort`: `recent`, `oldest`, or `modified`, the last changed first). A search narrows it to the covers that one
   * identifier (already normalised), an OLID, or title and author words lead to, as the public lookups follow
   * identifiers: the identifier's or the words' rows first (by primary key, or through the full-text index, at most
   * SEARCH_ROWS of them), then their covers by index (an OR of two subqueries made PostgreSQL read every cover).
   * `withoutIdentifiers` keeps the covers no identifier leads to. `total` counts the matches up to
   * `LISTING_COUNT_AHEAD` past the page, in the listing's index order, so a listing of millions of covers costs its
   * page and not a count of them all; `totalExact` is false when more match.
   */
  async browseCovers(options: {
    category?: Category;
    status?: Cover['status'];
    identifier?: { scheme: EditionScheme; value: string };
    olid?: string;
    words?: string[];
    withoutIdentifiers?: boolean;
    sort?: CollectionSort;
    offset: number;
    limit: number;
  }): Promise<{ total: number; totalExact: boolean; covers: Cover[] }> {
    let query = this.db.selectFrom('covers').where('covers.deleted', '=', 0);
    if (options.category) query = query.where('covers.category', '=', options.category);
    if (options.status) query = query.where('covers.status', '=', options.status);
    if (options.withoutIdentifiers) {
      // Scalar subqueries of one row, not NOT EXISTS: PostgreSQL turns NOT EXISTS into an anti join that reads every
      // identifier, where this asks the identifier indexes about each cover of the page, read in the listing's order.
      query = query
        .where((eb) => eb(eb.selectFrom('identifiers').select(sql<number>`1`.as('found')).whereRef('identifiers.cover_id', '=', 'covers.id').limit(1), 'is', null))
        .where((eb) => eb(eb.selectFrom('identifiers').select(sql<number>`1`.as('found')).whereRef('identifiers.olid', '=', 'covers.olid').limit(1), 'is', null));
    }
    const reach = await this.searchReach(options);
    if (reach) {
      const { olids, ids } = reach;
      if (olids.length === 0 && ids.length === 0) return { total: 0, totalExact: true, covers: [] };
      query = query.where((eb) =>
        eb.or([...(olids.length > 0 ? [eb('covers.olid', 'in', olids)] : []), ...(ids.length > 0 ? [eb('covers.id', 'in', ids)] : [])]),
      );
    }
    const [column, direction] = COLLECTION_ORDER[options.sort ?? 'recent'];
    const ordered = query.orderBy(column, direction).orderBy('covers.id', direction);
    const bound = options.offset + options.limit + LISTING_COUNT_AHEAD;
    const counted = await this.db
      .selectFrom(ordered.select('covers.id').limit(bound).as('matches'))
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    const rows = await ordered.selectAll('covers').offset(options.offset).limit(options.limit).execute();
    const total = Number(counted.count);
    return { total, totalExact: total < bound, covers: rows.map(toCover) };
  }

  /** The entities and covers a collection search leads to; undefined when it searches nothing. */
  private async searchReach(options: { identifier?: { scheme: EditionScheme; value: string }; olid?: string; words?: string[] }): Promise<{ olids: string[]; ids: number[] } | undefined> {
    if (options.olid) return { olids: [options.olid], ids: [] };
    let found: Array<{ olid: string; cover_id: number }>;
    if (options.identifier) {
      found = await this.db
        .selectFrom('identifiers')
        .select(['olid', 'cover_id'])
        .where('scheme', '=', options.identifier.scheme)
        .where('value', '=', options.identifier.value)
        .limit(ROWS_PER_STATEMENT)
        .execute();
    } else if (options.words && options.words.length > 0) {
      found = await titleMatches(this.db, options.words);
    } else {
      return undefined;
    }
    return {
      olids: [...new Set(found.map((row) => row.olid).filter((olid) => olid !== ''))],
      ids: [...new Set(found.map((row) => Number(row.cover_id)).filter((id) => id !== 0))],
    };
  }

  /** Visible covers in id order, a page at a time (the bulk exports walk the whole catalogue this way). */
  async *visibleCoverPages(pageSize = 500): AsyncGenerator<Cover[]> {
    let after = 0;
    for (;;) {
      const rows = await this.db.selectFrom('covers').selectAll().where('id', '>', after).where(this.visible).orderBy('id').limit(pageSize).execute();
      if (rows.length === 0) return;
      yield rows.map(toCover);
      after = Number(rows[rows.length - 1]!.id);
    }
  }

  /** How many covers `visibleCoverPages` yields. */
  async countVisibleCovers(): Promise<number> {
    const row = await this.db.selectFrom('covers').select((eb) => eb.fn.countAll<number>().as('count')).where(this.visible).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /**
   * Whether the catalogue knows an edition by this identifier (or OLID) even when none of its covers is visible, and
   * the edition's OLID when the identifier names one: a known book without a cover is not the same as an unknown one.
   */
  async knownEdition(scheme: EditionScheme | 'olid', value: string): Promise<{ olid: string | undefined } | undefined> {
    if (scheme === 'olid') {
      const entity = await this.db.selectFrom('entities').select('olid').where('olid', '=', value).where('kind', '=', 'edition').executeTakeFirst();
      return entity ? { olid: entity.olid } : undefined;
    }
    const row = await this.db.selectFrom('identifiers').select('olid').where('scheme', '=', scheme).where('value', '=', value).orderBy('olid', 'desc').limit(1).executeTakeFirst();
    return row ? { olid: row.olid || undefined } : undefined;
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async putSetting(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }
}

/**
 * A moderation status in a condition that holds for most rows (`approved`). The (status, created_at, id) indexes
 * exist for the queues, where `pending` is rare; SQLite plans without statistics and takes "status = 'approved'"
 * for a narrow search, reading every approved row through them (measured at 300,000 covers: recent covers 290 ms,
 * `/b/query` with 100 OLIDs 115 ms). On SQLite the column is written `+status`, SQLite's way of saying "not through
 * an index", so the statement reads through the index of its other conditions or of its order. PostgreSQL, which
 * plans by statistics (a bulk import refreshes them, see refreshStatistics), gets the bare column: an expression
 * would lose them, and it would then take approved rows for rare.
 */
export function statusOf(db: CatalogueDb, column: string) {
  return isPostgres(db) ? sql<string>`${sql.ref(column)}` : sql<string>`+${sql.ref(column)}`;
}

/** `isVisible` as a query condition on the covers table: `.where(visibleRows(db))`. */
export function visibleRows(db: CatalogueDb) {
  const status = statusOf(db, 'status');
  return (eb: ExpressionBuilder<Database, 'covers'>) => eb.and([eb('deleted', '=', 0), eb(status, '=', 'approved')]);
}

export function isVisible(cover: Cover): boolean {
  return !cover.deleted && cover.status === 'approved';
}
