import { createQueryId, sql, type CompiledQuery, type ExpressionBuilder, type Transaction } from 'kysely';
import type { EditionScheme, OlidKind } from '../identifiers/index.ts';
import type { CatalogueDb } from './db.ts';
import type { CoversTable, Database, StoredImageColumns } from './schema.ts';

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

export type Executor = CatalogueDb | Transaction<Database>;

/**
 * A counter in the `sequences` table: the next value, or with `requested` (an id kept from an import), the counter
 * moved past it if it was behind and `requested` itself. Update first, read never: the row stays locked (PostgreSQL)
 * or the transaction stays a writer (SQLite) from the first statement, so two writers never read the same value.
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
  const row = await trx
    .updateTable('sequences')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', name)
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
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

  constructor(db: CatalogueDb) {
    this.db = db;
  }

  /**
   * Tell `onChange` that lookups may now answer differently. The methods below that write on their own call it;
   * callers that write through a transaction (`attachIdentifiers`, `linkCovers`, `insertCovers`) call it after commit.
   */
  changed(): void {
    this.onChange?.();
  }

  private nextId(trx: Executor, requested?: number): Promise<number> {
    return advanceSequence(trx, 'cover_id', requested);
  }

  async ensureEntity(trx: Executor, olid: string, kind: OlidKind, now = Date.now()): Promise<void> {
    await trx
      .insertInto('entities')
      .values({ olid, kind, created_at: now })
      .onConflict((oc) => oc.column('olid').doNothing())
      .execute();
  }

  async attachIdentifiers(trx: Executor, identifiers: IdentifierInput[], target: { olid?: string; coverId?: number }, now = Date.now()): Promise<void> {
    if (identifiers.length === 0) return;
    const rows = identifiers.map((identifier) => ({
      scheme: identifier.scheme,
      value: identifier.value,
      olid: target.olid ?? '',
      cover_id: target.olid ? 0 : (target.coverId ?? 0),
      created_at: now,
    }));
    await trx
      .insertInto('identifiers')
      .values(rows)
      .onConflict((oc) => oc.columns(['scheme', 'value', 'olid', 'cover_id']).doNothing())
      .execute();
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
   * Add many covers in one transaction (bulk imports): ids kept when given (the sequence moves past them first, in
   * its own transaction), entities created, identifiers attached, and links remembered from an earlier editions/idmap
   * import applied. A kept id that another writer (a live upload) took meanwhile is not inserted: it is returned in
   * `conflicts`, and nothing else of that cover is written.
   */
  async addCovers(inputs: NewCover[]): Promise<{ conflicts: number[] }> {
    if (inputs.length === 0) return { conflicts: [] };
    const requested = inputs.flatMap((input) => (input.id === undefined ? [] : [input.id]));
    if (requested.length > 0) await this.reserveIdsThrough(Math.max(...requested));
    const result = await this.db.transaction().execute((trx) => this.insertCovers(trx, inputs));
    this.changed();
    return result;
  }

  async insertCovers(trx: Executor, inputs: NewCover[], now = Date.now()): Promise<{ conflicts: number[] }> {
    const requested = inputs.flatMap((input) => (input.id === undefined ? [] : [input.id]));
    if (requested.length > 0) await this.nextId(trx, Math.max(...requested));
    const pending = new Map<number, { olid: string; kind: OlidKind }>();
    for (let i = 0; i < requested.length; i += 500) {
      const rows = await trx
        .selectFrom('pending_cover_links')
        .select(['cover_id', 'olid', 'kind'])
        .where('cover_id', 'in', requested.slice(i, i + 500))
        .execute();
      for (const row of rows) pending.set(Number(row.cover_id), { olid: row.olid, kind: row.kind });
    }
    const rows: CoversTable[] = [];
    const entities = new Map<string, OlidKind>();
    for (const input of inputs) {
      const id = input.id ?? (await this.nextId(trx));
      const link = input.olid ? undefined : pending.get(id);
      const olid = input.olid ?? link?.olid;
      const kind = input.olidKind ?? link?.kind;
      if (olid && kind) entities.set(olid, kind);
      rows.push(coverRow(input, { id, category: link ? CATEGORY_FOR_KIND[link.kind] : input.category, olid: olid ?? null, createdAt: input.createdAt ?? now }));
    }
    for (const [olid, kind] of entities) await this.ensureEntity(trx, olid, kind, now);
    // A conflicting id is skipped rather than failing the batch: the row already there (an upload) is kept.
    const inserted = new Set<number>();
    for (let i = 0; i < rows.length; i += 200) {
      const done = await trx
        .insertInto('covers')
        .values(rows.slice(i, i + 200))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      for (const row of done) inserted.add(Number(row.id));
    }
    for (const [index, input] of inputs.entries()) {
      if (!inserted.has(rows[index]!.id)) continue;
      await this.attachIdentifiers(trx, input.identifiers ?? [], { olid: rows[index]!.olid ?? undefined, coverId: rows[index]!.id }, now);
    }
    const applied = [...pending.keys()].filter((id) => inserted.has(id));
    if (applied.length > 0) await trx.deleteFrom('pending_cover_links').where('cover_id', 'in', applied).execute();
    return { conflicts: rows.map((row) => row.id).filter((id) => !inserted.has(id)) };
  }

  /** The stored hash and entity of each of these covers that exists (deleted ones included). */
  async coverSummaries(ids: number[]): Promise<Map<number, { sha256: string; olid: string | null }>> {
    const out = new Map<number, { sha256: string; olid: string | null }>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.selectFrom('covers').select(['id', 'sha256', 'olid']).where('id', 'in', ids.slice(i, i + 500)).execute();
      for (const row of rows) out.set(Number(row.id), { sha256: row.sha256, olid: row.olid });
    }
    return out;
  }

  /**
   * Link covers to their entities (editions dump, identifier mapping). A cover that has no entity yet gets this one;
   * a cover already linked keeps its link; a cover not imported yet has the link remembered for its import.
   */
  async linkCovers(trx: Executor, links: Array<{ coverId: number; olid: string; kind: OlidKind }>, now = Date.now()): Promise<{ linked: number; remembered: number }> {
    let linked = 0;
    let remembered = 0;
    if (links.length === 0) return { linked, remembered };
    const ids = [...new Set(links.map((link) => link.coverId))];
    const existing = new Map<number, string | null>();
    const remembering = new Set<number>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await trx.selectFrom('covers').select(['id', 'olid']).where('id', 'in', ids.slice(i, i + 500)).execute();
      for (const row of rows) existing.set(Number(row.id), row.olid);
    }
    for (const link of links) {
      if (remembering.has(link.coverId)) continue;
      if (!existing.has(link.coverId)) {
        remembering.add(link.coverId);
        const result = await trx
          .insertInto('pending_cover_links')
          .values({ cover_id: link.coverId, olid: link.olid, kind: link.kind, created_at: now })
          .onConflict((oc) => oc.column('cover_id').doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) remembered++;
        continue;
      }
      if (existing.get(link.coverId) !== null) continue;
      await this.ensureEntity(trx, link.olid, link.kind, now);
      await trx
        .updateTable('covers')
        .set({ olid: link.olid, category: CATEGORY_FOR_KIND[link.kind] })
        .where('id', '=', link.coverId)
        .where('olid', 'is', null)
        .execute();
      existing.set(link.coverId, link.olid);
      linked++;
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
      .where(visibleRows)
      .orderBy('modified_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toCover(row) : undefined;
  }

  /** The newest visible cover reachable from an identifier, through its editions or directly. */
  async coverForIdentifier(scheme: EditionScheme, value: string): Promise<Cover | undefined> {
    const row = await this.db
      .selectFrom('covers')
      .selectAll('covers')
      .where('covers.deleted', '=', 0)
      .where('covers.status', '=', 'approved')
      .where((eb) =>
        eb.or([
          eb(
            'covers.olid',
            'in',
            eb.selectFrom('identifiers').select('identifiers.olid').where('scheme', '=', scheme).where('value', '=', value).where('identifiers.olid', '!=', ''),
          ),
          eb(
            'covers.id',
            'in',
            eb.selectFrom('identifiers').select('identifiers.cover_id').where('scheme', '=', scheme).where('value', '=', value).where('identifiers.cover_id', '!=', 0),
          ),
        ]),
      )
      .orderBy('covers.modified_at', 'desc')
      .orderBy('covers.id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toCover(row) : undefined;
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
   * Remove a cover and its identifiers for good (a mirror forgetting what it fetched), with `alongside` written in
   * the same transaction. Unlike `deleteCover`, nothing of it remains; undefined when there was no such cover.
   */
  async removeCover(id: number, alongside?: (trx: Executor) => Promise<unknown>): Promise<Cover | undefined> {
    const cover = await this.getCover(id);
    if (!cover) return undefined;
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('identifiers').where('cover_id', '=', id).execute();
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
    let query = this.db.selectFrom('covers').selectAll().where(visibleRows);
    if (options.category) query = query.where('category', '=', options.category);
    if (options.olids && options.olids.length > 0) query = query.where('olid', 'in', options.olids);
    const rows = await query.orderBy('modified_at', 'desc').orderBy('id', 'desc').offset(options.offset).limit(options.limit).execute();
    return rows.map(toCover);
  }

  /** Visible covers in id order, a page at a time (the bulk exports walk the whole catalogue this way). */
  async *visibleCoverPages(pageSize = 500): AsyncGenerator<Cover[]> {
    let after = 0;
    for (;;) {
      const rows = await this.db.selectFrom('covers').selectAll().where('id', '>', after).where(visibleRows).orderBy('id').limit(pageSize).execute();
      if (rows.length === 0) return;
      yield rows.map(toCover);
      after = Number(rows[rows.length - 1]!.id);
    }
  }

  /** How many covers `visibleCoverPages` yields. */
  async countVisibleCovers(): Promise<number> {
    const row = await this.db.selectFrom('covers').select((eb) => eb.fn.countAll<number>().as('count')).where(visibleRows).executeTakeFirstOrThrow();
    return Number(row.count);
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

/** `isVisible` as a query condition on the covers table: `.where(visibleRows)`. */
export function visibleRows(eb: ExpressionBuilder<Database, 'covers'>) {
  return eb.and([eb('deleted', '=', 0), eb('status', '=', 'approved')]);
}

export function isVisible(cover: Cover): boolean {
  return !cover.deleted && cover.status === 'approved';
}
