import { JacketError } from '../errors.ts';
import { advanceSequence, statusOf, storedImageColumns, storedImageOf, type Executor, type StoredImage } from './covers.ts';
import type { CatalogueDb } from './db.ts';
import type { CaaImagesTable, CaaReleasesTable } from './schema.ts';

/** The Cover Art Archive's fixed type list. The ids are not contiguous (48 and 49 came later). */
export const COVER_ART_TYPES: ReadonlyArray<{ id: number; name: string }> = [
  { id: 1, name: 'Front' },
  { id: 2, name: 'Back' },
  { id: 3, name: 'Booklet' },
  { id: 4, name: 'Medium' },
  { id: 5, name: 'Obi' },
  { id: 6, name: 'Spine' },
  { id: 7, name: 'Track' },
  { id: 8, name: 'Other' },
  { id: 9, name: 'Tray' },
  { id: 10, name: 'Sticker' },
  { id: 11, name: 'Poster' },
  { id: 12, name: 'Liner' },
  { id: 13, name: 'Watermark' },
  { id: 14, name: 'Raw/Unedited' },
  { id: 15, name: 'Matrix/Runout' },
  { id: 48, name: 'Top' },
  { id: 49, name: 'Bottom' },
];
export const FRONT_TYPE = 1;
export const BACK_TYPE = 2;
export const RAW_UNEDITED_TYPE = 14;
const TYPE_BY_ID = new Map(COVER_ART_TYPES.map((type) => [type.id, type.name]));
const TYPE_BY_NAME = new Map(COVER_ART_TYPES.map((type) => [type.name.toLowerCase(), type.id]));

/** CAA file names: centiseconds since 2012-01-25T21:41:45Z, as `int((time() - 1327528905) * 100)`. */
export const CAA_EPOCH_SECONDS = 1327528905;
export function caaImageIdAt(epochMs: number): number {
  return Math.floor((epochMs / 1000 - CAA_EPOCH_SECONDS) * 100);
}

/** Type names (case-insensitive) → sorted, de-duplicated ids; unknown names are a 400. */
export function parseTypeNames(names: string[]): number[] {
  const ids = new Set<number>();
  for (const raw of names) {
    const name = raw.trim();
    if (name === '') continue;
    const id = TYPE_BY_NAME.get(name.toLowerCase());
    if (id === undefined) {
      throw new JacketError(400, 'invalid_type', `"${name.slice(0, 40)}" is not a cover art type (${COVER_ART_TYPES.map((t) => t.name).join(', ')}).`);
    }
    ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

export function typeNames(ids: number[]): string[] {
  return ids.map((id) => TYPE_BY_ID.get(id) ?? String(id));
}

export interface ReleaseDate {
  year: number;
  month?: number;
  day?: number;
}

/** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, a real calendar date. */
export function parseReleaseDate(raw: string): ReleaseDate | undefined {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(raw);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = match[2] === undefined ? undefined : Number(match[2]);
  const day = match[3] === undefined ? undefined : Number(match[3]);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > new Date(Date.UTC(year, month!, 0)).getUTCDate())) return undefined;
  return { year, month, day };
}

export function formatReleaseDate(date: ReleaseDate | undefined): string | null {
  if (!date) return null;
  let text = String(date.year).padStart(4, '0');
  if (date.month !== undefined) text += `-${String(date.month).padStart(2, '0')}`;
  if (date.day !== undefined) text += `-${String(date.day).padStart(2, '0')}`;
  return text;
}

export interface Release {
  mbid: string;
  releaseGroup: string | null;
  date: ReleaseDate | undefined;
}

/** Jacket's moderation of a release image: only `approved` images are served (see schema.ts). */
export type ImageStatus = CaaImagesTable['status'];

export interface ReleaseImage extends StoredImage {
  id: number;
  release: string;
  position: number;
  types: number[];
  comment: string;
  approved: boolean;
  status: ImageStatus;
  edit: number;
  createdAt: number;
}

export interface NewReleaseImage extends StoredImage {
  types: number[];
  comment?: string;
  /** 1-based; absent or past the end appends. */
  position?: number;
  approved?: boolean;
  /** `pending` under moderation (served to nobody until approved); default `approved`. */
  status?: ImageStatus;
  /** Keep an existing id and edit id (imports). */
  id?: number;
  edit?: number;
  createdAt?: number;
}

export interface ImageChanges {
  types?: number[];
  comment?: string;
  position?: number;
  approved?: boolean;
}

function toRelease(row: CaaReleasesTable): Release {
  return {
    mbid: row.mbid,
    releaseGroup: row.release_group,
    date:
      row.date_year === null
        ? undefined
        : { year: Number(row.date_year), month: row.date_month === null ? undefined : Number(row.date_month), day: row.date_day === null ? undefined : Number(row.date_day) },
  };
}

function toImage(row: CaaImagesTable): ReleaseImage {
  return {
    id: Number(row.id),
    release: row.release,
    position: Number(row.position),
    types: row.types === '' ? [] : row.types.split(',').map(Number),
    comment: row.comment,
    approved: Number(row.approved) === 1,
    status: row.status,
    edit: Number(row.edit_id),
    ...storedImageOf(row),
    createdAt: Number(row.created_at),
  };
}

/** Where a group's art comes from: the chosen release and its images. */
export interface ReleaseGroupArt {
  release: Release;
  images: ReleaseImage[];
}

const notFound = (message: string) => new JacketError(404, 'not_found', message);

/**
 * Releases, release groups, merges and the images on releases, for the Cover Art Archive dialect. Knows nothing of
 * HTTP; every write goes through one transaction and is recorded in the edit log.
 */
export class ReleaseCatalogue {
  readonly db: CatalogueDb;
  /** Called after every change to release art (the app publishes a `releases` change message). */
  onChange: (() => void) | undefined;
  /** Called with the sha256 of an image no longer served (removed from its release, or rejected). */
  onImageGone: ((sha256: string) => void) | undefined;
  private lastImageId = 0;
  private readonly now: () => number;

  constructor(db: CatalogueDb, now: () => number = Date.now) {
    this.db = db;
    this.now = now;
  }

  private changed(): void {
    this.onChange?.();
  }

  /** The MBID an old (merged) MBID answers for; the MBID itself when it was never merged. */
  async resolveMbid(mbid: string, entity: 'release' | 'release-group', executor: Executor = this.db): Promise<string> {
    const row = await executor.selectFrom('caa_merges').select('new_mbid').where('old_mbid', '=', mbid).where('entity', '=', entity).executeTakeFirst();
    return row?.new_mbid ?? mbid;
  }

  async getRelease(mbid: string, executor: Executor = this.db): Promise<Release | undefined> {
    const row = await executor.selectFrom('caa_releases').selectAll().where('mbid', '=', mbid).executeTakeFirst();
    return row ? toRelease(row) : undefined;
  }

  /** Create or update a release. `created` tells whether it is new. Merged-away MBIDs cannot be written to. */
  async putRelease(mbid: string, fields: { releaseGroup?: string | null; date?: ReleaseDate | null }): Promise<{ release: Release; created: boolean }> {
    const result = await this.db.transaction().execute(async (trx) => {
      await this.refuseMerged(trx, mbid);
      const existing = await this.getRelease(mbid, trx);
      const values: Partial<CaaReleasesTable> = {};
      if (fields.releaseGroup !== undefined) values.release_group = fields.releaseGroup;
      if (fields.date !== undefined) {
        values.date_year = fields.date?.year ?? null;
        values.date_month = fields.date?.month ?? null;
        values.date_day = fields.date?.day ?? null;
      }
      if (existing) {
        if (Object.keys(values).length > 0) await trx.updateTable('caa_releases').set(values).where('mbid', '=', mbid).execute();
      } else {
        await trx
          .insertInto('caa_releases')
          .values({ mbid, release_group: null, date_year: null, date_month: null, date_day: null, ...values, created_at: this.now() })
          .execute();
      }
      if (fields.releaseGroup) {
        await trx.insertInto('caa_release_groups').values({ mbid: fields.releaseGroup, chosen_release: null }).onConflict((oc) => oc.column('mbid').doNothing()).execute();
      }
      await this.logEdit(trx, existing ? 'edit-release' : 'add-release', mbid, null);
      return { release: (await this.getRelease(mbid, trx))!, created: !existing };
    });
    this.changed();
    return result;
  }

  private async refuseMerged(trx: Executor, mbid: string): Promise<void> {
    const target = await this.resolveMbid(mbid, 'release', trx);
    if (target !== mbid) throw new JacketError(409, 'release_merged', `Release ${mbid} was merged into ${target}; write to that release instead.`);
  }

  private async ensureRelease(trx: Executor, mbid: string): Promise<void> {
    await trx
      .insertInto('caa_releases')
      .values({ mbid, release_group: null, date_year: null, date_month: null, date_day: null, created_at: this.now() })
      .onConflict((oc) => oc.column('mbid').doNothing())
      .execute();
  }

  /**
   * Serialise the writes to one release's art. Positions are read, shifted and rewritten by several statements; on
   * PostgreSQL (READ COMMITTED, several instances) two such transactions would otherwise interleave into duplicate
   * positions or deadlock. A no-op update takes the release row's lock there, is portable, and costs nothing on
   * SQLite, where writes are serialised anyway. Every writer locks its release first (then the edit sequence), and
   * several releases in MBID order, so lock order is the same everywhere.
   */
  private async lockReleases(trx: Executor, mbids: string[]): Promise<void> {
    for (const mbid of [...new Set(mbids)].sort()) {
      await trx
        .updateTable('caa_releases')
        .set((eb) => ({ created_at: eb.ref('created_at') }))
        .where('mbid', '=', mbid)
        .execute();
    }
  }

  /** An image with its release locked; re-read after locking, since a concurrent merge may have moved it. */
  private async lockedImage(trx: Executor, id: number): Promise<ReleaseImage | undefined> {
    let image = await this.getImage(id, trx);
    while (image) {
      await this.lockReleases(trx, [image.release]);
      const again = await this.getImage(id, trx);
      if (!again || again.release === image.release) return again;
      image = again;
    }
    return undefined;
  }

  private async logEdit(trx: Executor, action: string, release: string, imageId: number | null, requestedId?: number): Promise<number> {
    const id = await advanceSequence(trx, 'caa_edit_id', requestedId);
    if (requestedId !== undefined && (await trx.selectFrom('caa_edits').select('id').where('id', '=', requestedId).executeTakeFirst())) return requestedId;
    await trx.insertInto('caa_edits').values({ id, action, release, image_id: imageId, created_at: this.now() }).execute();
    return id;
  }

  /** A fresh image id from the clock, above every id handed out before (bumped on collision). */
  private async allocateImageId(trx: Executor): Promise<number> {
    let candidate = Math.max(caaImageIdAt(this.now()), this.lastImageId + 1);
    for (;;) {
      const taken = await trx.selectFrom('caa_images').select('id').where('id', '=', candidate).executeTakeFirst();
      if (!taken) break;
      candidate++;
    }
    this.lastImageId = candidate;
    return candidate;
  }

  /**
   * Images of a release in their order: the listed ones (approved and pending). Rejected images are kept for audit
   * but take no place in the order; `withRejected` adds them after the listed ones (merges move them too).
   */
  async imagesOf(release: string, executor: Executor = this.db, withRejected = false): Promise<ReleaseImage[]> {
    let query = executor.selectFrom('caa_images').selectAll().where('release', '=', release);
    if (!withRejected) query = query.where('status', '<>', 'rejected');
    const images = (await query.orderBy('position').orderBy('id').execute()).map(toImage);
    return withRejected ? [...images.filter((image) => image.status !== 'rejected'), ...images.filter((image) => image.status === 'rejected')] : images;
  }

  async getImage(id: number, executor: Executor = this.db): Promise<ReleaseImage | undefined> {
    const row = await executor.selectFrom('caa_images').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toImage(row) : undefined;
  }

  /** Rewrite positions 1..n in the given order, touching only rows whose position changed. */
  private async renumber(trx: Executor, ordered: Array<{ id: number; position: number }>): Promise<void> {
    for (const [index, image] of ordered.entries()) {
      if (image.position !== index + 1) await trx.updateTable('caa_images').set({ position: index + 1 }).where('id', '=', image.id).execute();
    }
  }

  /** Add an image to a release (created if it does not exist yet). */
  async addImage(releaseMbid: string, input: NewReleaseImage): Promise<ReleaseImage> {
    // Another instance (PostgreSQL, scale-out) may take the same clock-derived id between our check and insert:
    // the primary key refuses the second one, and a new attempt picks the next free id.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.insertImage(releaseMbid, input);
      } catch (error) {
        if (input.id !== undefined || attempt >= 5 || !isUniqueViolation(error)) throw error;
      }
    }
  }

  private async insertImage(releaseMbid: string, input: NewReleaseImage): Promise<ReleaseImage> {
    const image = await this.db.transaction().execute(async (trx) => {
      await this.ensureRelease(trx, releaseMbid);
      await this.lockReleases(trx, [releaseMbid]);
      // Checked under the lock: a merge committed meanwhile has deleted the row ensureRelease just made again.
      await this.refuseMerged(trx, releaseMbid);
      let id: number;
      if (input.id !== undefined) {
        const taken = await this.getImage(input.id, trx);
        if (taken) throw new JacketError(409, 'image_exists', `Image ${input.id} exists already (on release ${taken.release}).`);
        id = input.id;
        this.lastImageId = Math.max(this.lastImageId, id);
      } else {
        id = await this.allocateImageId(trx);
      }
      const edit = await this.logEdit(trx, 'add-image', releaseMbid, id, input.edit);
      const existing = await this.imagesOf(releaseMbid, trx);
      const index = input.position === undefined ? existing.length : Math.min(Math.max(input.position, 1), existing.length + 1) - 1;
      const row: CaaImagesTable = {
        id,
        release: releaseMbid,
        position: index + 1,
        types: input.types.join(','),
        comment: input.comment ?? '',
        approved: input.approved === false || input.status === 'pending' ? 0 : 1,
        status: input.status ?? 'approved',
        edit_id: edit,
        ...storedImageColumns(input),
        created_at: input.createdAt ?? this.now(),
      };
      // Open the gap the new image fills; (release, position) is not unique, so the order of updates is free.
      for (const [i, item] of existing.entries()) {
        const position = i < index ? i + 1 : i + 2;
        if (item.position !== position) await trx.updateTable('caa_images').set({ position }).where('id', '=', item.id).execute();
      }
      await trx.insertInto('caa_images').values(row).execute();
      return toImage(row);
    });
    this.changed();
    return image;
  }

  async updateImage(id: number, changes: ImageChanges): Promise<ReleaseImage> {
    const image = await this.db.transaction().execute(async (trx) => {
      const current = await this.lockedImage(trx, id);
      if (!current) throw notFound(`There is no image ${id}.`);
      if (current.status === 'rejected') throw new JacketError(409, 'image_rejected', `Image ${id} was rejected; approve it first to edit it.`);
      const values: Partial<CaaImagesTable> = {};
      if (changes.types !== undefined) values.types = changes.types.join(',');
      if (changes.comment !== undefined) values.comment = changes.comment;
      if (changes.approved !== undefined) values.approved = changes.approved ? 1 : 0;
      if (Object.keys(values).length > 0) await trx.updateTable('caa_images').set(values).where('id', '=', id).execute();
      if (changes.position !== undefined) {
        const others = (await this.imagesOf(current.release, trx)).filter((item) => item.id !== id);
        const index = Math.min(Math.max(changes.position, 1), others.length + 1) - 1;
        const ordered: Array<{ id: number; position: number }> = [...others];
        ordered.splice(index, 0, current);
        await this.renumber(trx, ordered);
      }
      await this.logEdit(trx, 'edit-image', current.release, id);
      return (await this.getImage(id, trx))!;
    });
    this.changed();
    return image;
  }

  async deleteImage(id: number): Promise<ReleaseImage> {
    const image = await this.db.transaction().execute(async (trx) => {
      const current = await this.lockedImage(trx, id);
      if (!current) throw notFound(`There is no image ${id}.`);
      await trx.deleteFrom('caa_images').where('id', '=', id).execute();
      await this.renumber(trx, await this.imagesOf(current.release, trx));
      await this.logEdit(trx, 'remove-image', current.release, id);
      return current;
    });
    this.changed();
    this.onImageGone?.(image.sha256);
    return image;
  }

  /**
   * A moderation decision. Approving sets the CAA `approved` field too; rejecting keeps the row (and its blob) for
   * audit but takes it out of the release's order, as a delete would. A decision can be revised: an image brought
   * back from `rejected` goes to the end of the order.
   */
  async setImageStatus(id: number, status: 'approved' | 'rejected'): Promise<ReleaseImage> {
    const image = await this.db.transaction().execute(async (trx) => {
      const current = await this.lockedImage(trx, id);
      if (!current) throw notFound(`There is no image ${id}.`);
      const values: Partial<CaaImagesTable> = { status, approved: status === 'approved' ? 1 : 0 };
      if (current.status === 'rejected' && status === 'approved') values.position = (await this.imagesOf(current.release, trx)).length + 1;
      await trx.updateTable('caa_images').set(values).where('id', '=', id).execute();
      if (status === 'rejected' && current.status !== 'rejected') await this.renumber(trx, await this.imagesOf(current.release, trx));
      await this.logEdit(trx, status === 'approved' ? 'approve-image' : 'reject-image', current.release, id);
      return (await this.getImage(id, trx))!;
    });
    this.changed();
    // A rejected image may have been served before (a revised decision).
    if (status === 'rejected') this.onImageGone?.(image.sha256);
    return image;
  }

  /** An image's moderation state for its uploader; `deleted` when the edit log says it was removed. */
  async imageState(id: number): Promise<ImageStatus | 'deleted' | undefined> {
    const image = await this.getImage(id);
    if (image) return image.status;
    const removed = await this.db.selectFrom('caa_edits').select('id').where('image_id', '=', id).where('action', '=', 'remove-image').executeTakeFirst();
    return removed ? 'deleted' : undefined;
  }

  /** Images waiting for a moderation decision, oldest first. */
  async pendingImages(limit: number, offset: number): Promise<ReleaseImage[]> {
    const rows = await this.db
      .selectFrom('caa_images')
      .selectAll()
      .where('status', '=', 'pending')
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .offset(offset)
      .limit(limit)
      .execute();
    return rows.map(toImage);
  }

  /** The explicit choice for a group (null clears it). The release must belong to the group. */
  async chooseReleaseGroupCover(groupMbid: string, releaseMbid: string | null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const group = await this.resolveMbid(groupMbid, 'release-group', trx);
      if (group !== groupMbid) throw new JacketError(409, 'release_group_merged', `Release group ${groupMbid} was merged into ${group}.`);
      let chosen: string | null = null;
      if (releaseMbid !== null) {
        chosen = await this.resolveMbid(releaseMbid, 'release', trx);
        const release = await this.getRelease(chosen, trx);
        if (!release) throw notFound(`There is no release ${releaseMbid}.`);
        if (release.releaseGroup !== groupMbid) {
          throw new JacketError(409, 'release_not_in_group', `Release ${releaseMbid} does not belong to release group ${groupMbid}.`);
        }
      }
      await trx
        .insertInto('caa_release_groups')
        .values({ mbid: groupMbid, chosen_release: chosen })
        .onConflict((oc) => oc.column('mbid').doUpdateSet({ chosen_release: chosen }))
        .execute();
      await this.logEdit(trx, 'choose-group-cover', chosen ?? groupMbid, null);
    });
    this.changed();
  }

  /**
   * Merge a release into another: its images move to the end of the target's list with their ids, and the old MBID
   * (and every MBID already merged into it) answers for the target from now on.
   */
  async mergeRelease(oldMbid: string, intoMbid: string): Promise<{ moved: number; into: string }> {
    const result = await this.db.transaction().execute(async (trx) => {
      await this.lockReleases(trx, [oldMbid, await this.resolveMbid(intoMbid, 'release', trx)]);
      await this.refuseMerged(trx, oldMbid);
      const target = await this.resolveMbid(intoMbid, 'release', trx);
      if (target === oldMbid) throw new JacketError(400, 'merge_into_self', 'A release cannot be merged into itself.');
      if (!(await this.getRelease(oldMbid, trx))) throw notFound(`There is no release ${oldMbid}.`);
      if (!(await this.getRelease(target, trx))) throw notFound(`There is no release ${intoMbid}.`);
      const moving = await this.imagesOf(oldMbid, trx, true);
      const existing = await this.imagesOf(target, trx);
      for (const [index, image] of moving.entries()) {
        await trx.updateTable('caa_images').set({ release: target, position: existing.length + index + 1 }).where('id', '=', image.id).execute();
      }
      await trx.updateTable('caa_merges').set({ new_mbid: target }).where('new_mbid', '=', oldMbid).where('entity', '=', 'release').execute();
      await trx.insertInto('caa_merges').values({ old_mbid: oldMbid, new_mbid: target, entity: 'release', created_at: this.now() }).execute();
      await trx.updateTable('caa_release_groups').set({ chosen_release: target }).where('chosen_release', '=', oldMbid).execute();
      await trx.deleteFrom('caa_releases').where('mbid', '=', oldMbid).execute();
      await this.logEdit(trx, 'merge-release', target, null);
      return { moved: moving.length, into: target };
    });
    this.changed();
    return result;
  }

  /**
   * The release whose art represents a group, among its releases with a front image: the explicit choice first;
   * then fronts not tagged Raw/Unedited; then the earliest date (year, month, day; missing parts and undated last).
   */
  async releaseGroupArt(groupMbid: string): Promise<ReleaseGroupArt | undefined> {
    const group = await this.resolveMbid(groupMbid, 'release-group');
    const releases = (await this.db.selectFrom('caa_releases').selectAll().where('release_group', '=', group).execute()).map(toRelease);
    if (releases.length === 0) return undefined;
    const chosen = (await this.db.selectFrom('caa_release_groups').select('chosen_release').where('mbid', '=', group).executeTakeFirst())?.chosen_release ?? null;
    const fronts = await this.db
      .selectFrom('caa_images')
      .select(['release', 'types', 'position', 'id'])
      .where(
        'release',
        'in',
        releases.map((release) => release.mbid),
      )
      // Pending and rejected images are served to nobody, so they cannot make a release the group's front.
      .where(statusOf(this.db, 'status'), '=', 'approved')
      .orderBy('position')
      .orderBy('id')
      .execute();
    const frontOf = new Map<string, number[]>();
    for (const row of fronts) {
      const types = row.types === '' ? [] : row.types.split(',').map(Number);
      if (types.includes(FRONT_TYPE) && !frontOf.has(row.release)) frontOf.set(row.release, types);
    }
    const candidates = releases.filter((release) => frontOf.has(release.mbid));
    if (candidates.length === 0) return undefined;
    const missingLast = (value: number | undefined) => value ?? Number.MAX_SAFE_INTEGER;
    candidates.sort((a, b) => {
      const rank = (release: Release) => [
        release.mbid === chosen ? 0 : 1,
        frontOf.get(release.mbid)!.includes(RAW_UNEDITED_TYPE) ? 1 : 0,
        missingLast(release.date?.year),
        missingLast(release.date?.month),
        missingLast(release.date?.day),
      ];
      const left = rank(a);
      const right = rank(b);
      for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return left[i]! - right[i]!;
      return a.mbid < b.mbid ? -1 : a.mbid > b.mbid ? 1 : 0;
    });
    const release = candidates[0]!;
    return { release, images: await this.imagesOf(release.mbid) };
  }

  /** Whether a group has any release at all with images (for the "404 before 400" rule). */
  async releaseGroupExists(groupMbid: string): Promise<boolean> {
    const group = await this.resolveMbid(groupMbid, 'release-group');
    const row = await this.db.selectFrom('caa_releases').select('mbid').where('release_group', '=', group).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Every release with at least one image (rejected ones aside), in MBID order, read a page at a time: an export of
   * millions of releases never holds every MBID at once.
   */
  async *releasesWithImages(pageSize = 500): AsyncGenerator<string> {
    let after = '';
    for (;;) {
      const rows = await this.db
        .selectFrom('caa_images')
        .select('release')
        .distinct()
        .where('status', '<>', 'rejected')
        .where('release', '>', after)
        .orderBy('release')
        .limit(pageSize)
        .execute();
      for (const row of rows) yield row.release;
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.release;
    }
  }

  /** How many releases `releasesWithImages` yields. */
  async countReleasesWithImages(): Promise<number> {
    const row = await this.db
      .selectFrom('caa_images')
      .select((eb) => eb.fn.count<number>('release').distinct().as('count'))
      .where('status', '<>', 'rejected')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}

/** The front (or back) of a release: the first served (approved) image in order carrying that type. */
export function firstOfType(images: ReleaseImage[], type: number): ReleaseImage | undefined {
  return images.find((image) => image.status === 'approved' && image.types.includes(type));
}

/** Whether Jacket serves an image's files (pending and rejected images are served to nobody). */
export function isServed(image: ReleaseImage): boolean {
  return image.status === 'approved';
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
