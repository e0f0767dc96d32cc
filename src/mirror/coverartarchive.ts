import type { CatalogueDb } from '../catalogue/db.ts';
import { parseTypeNames, type ReleaseCatalogue } from '../catalogue/releases.ts';
import type { Ingest } from '../ingest.ts';
import type { LimitStore } from '../limits/limit-store.ts';
import { parseMbid } from '../identifiers/index.ts';
import { singleFlight } from '../concurrency.ts';
import { isUnusable, upstreamFailed, type Upstream } from './upstream.ts';

interface UpstreamImage {
  id?: unknown;
  types?: unknown;
  comment?: unknown;
  approved?: unknown;
  image?: unknown;
}

function imageIdOf(item: UpstreamImage): number | undefined {
  if (typeof item.id === 'number' && Number.isSafeInteger(item.id) && item.id > 0) return item.id;
  return typeof item.id === 'string' && /^\d{1,15}$/.test(item.id) ? Number(item.id) : undefined;
}

/** Type names the upstream lists; an unknown name (a newer upstream) is dropped rather than refusing the image. */
function typesOf(item: UpstreamImage): number[] {
  const names = Array.isArray(item.types) ? item.types.filter((name): name is string => typeof name === 'string') : [];
  const ids = names.flatMap((name) => {
    try {
      return parseTypeNames([name]);
    } catch {
      return [];
    }
  });
  return [...new Set(ids)].sort((a, b) => a - b);
}

interface UpstreamListing {
  images?: unknown;
  release?: unknown;
}

/**
 * Mirror mode for the Cover Art Archive dialect: a release (or release group) with no art here is fetched from the
 * upstream — its listing, then every image's original through the upstream's 307s — and stored with the upstream's
 * ids, types, comments and order. Absence is remembered for a while; identical concurrent misses share one fill.
 */
/** What the mirror stores through; `limits` is read at each use, since a shared store may replace the first one. */
export interface CoverArtArchiveMirrorParts {
  db: CatalogueDb;
  releases: ReleaseCatalogue;
  ingest: Ingest;
  limits: LimitStore;
}

export class CoverArtArchiveMirror {
  private readonly services: CoverArtArchiveMirrorParts;
  readonly upstream: Upstream;
  private readonly negativeTtlMs: number;
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(services: CoverArtArchiveMirrorParts, upstream: Upstream, negativeTtlMs: number) {
    this.services = services;
    this.upstream = upstream;
    this.negativeTtlMs = negativeTtlMs;
  }

  /** Fill a release or a release group from the upstream; true when art was stored. */
  async fill(entity: 'release' | 'release-group', mbid: string): Promise<boolean> {
    const cacheKey = `mirror-negative:caa/${entity}/${mbid}`;
    if (await this.services.limits.peek(cacheKey)) return false;
    return singleFlight(this.inFlight, cacheKey, async () => {
      const filled = await (entity === 'release' ? this.fillRelease(mbid) : this.fillReleaseGroup(mbid));
      if (!filled) await this.services.limits.increment(cacheKey, 1, Date.now() + this.negativeTtlMs);
      return filled;
    });
  }

  private async listing(path: string): Promise<UpstreamListing | undefined> {
    const response = await this.upstream.get(path, 5, { accept: 'application/json' });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw upstreamFailed(response.status, path);
    try {
      return JSON.parse(response.body.toString('utf8')) as UpstreamListing;
    } catch {
      throw upstreamFailed(response.status, `${path} (not JSON)`);
    }
  }

  private async fillRelease(mbid: string, listing?: UpstreamListing): Promise<boolean> {
    listing ??= await this.listing(`/release/${mbid}/`);
    const stored = await this.storeListing(mbid, listing);
    if (stored > 0) await this.markMirrored(mbid);
    return stored > 0;
  }

  private async markMirrored(mbid: string): Promise<void> {
    await this.services.db
      .insertInto('mirror_releases')
      .values({ release: mbid, upstream: this.upstream.base, fetched_at: Date.now() })
      .onConflict((oc) => oc.column('release').doUpdateSet({ upstream: this.upstream.base, fetched_at: Date.now() }))
      .execute();
  }

  /**
   * Store the listed images this release does not have yet, and bring the types and comments of those it has up to
   * date. Returns how many listed images the release now has.
   */
  private async storeListing(mbid: string, listing: UpstreamListing | undefined): Promise<number> {
    const { releases, ingest } = this.services;
    const images = Array.isArray(listing?.images) ? (listing.images as UpstreamImage[]) : [];
    let stored = 0;
    for (const item of images) {
      const id = imageIdOf(item);
      const imageUrl = typeof item.image === 'string' ? item.image : undefined;
      if (id === undefined || !imageUrl) continue;
      const types = typesOf(item);
      const comment = typeof item.comment === 'string' ? item.comment : '';
      const existing = await releases.getImage(id);
      if (existing) {
        if (existing.comment !== comment || existing.types.join() !== types.join()) await releases.updateImage(id, { types, comment });
        stored++;
        continue;
      }
      let original;
      try {
        const response = await this.upstream.get(imageUrl);
        if (response.status !== 200) continue;
        // Validated exactly like an upload; an image we cannot take is left out, the others are kept.
        original = await ingest.storeOriginal(response.body);
      } catch (error) {
        if (isUnusable(error)) continue;
        throw error;
      }
      await releases.addImage(mbid, {
        id,
        // The stored original's key, hash, type and upright size.
        ...original,
        types,
        comment,
        approved: item.approved !== false,
      });
      stored++;
    }
    return stored;
  }

  /** Fetch a mirrored release's listing again: new images are added, changed types and comments updated, images the upstream dropped removed. */
  async refresh(mbid: string): Promise<{ images: number; removed: number } | undefined> {
    const entry = await this.services.db.selectFrom('mirror_releases').selectAll().where('release', '=', mbid).executeTakeFirst();
    if (!entry) return undefined;
    const listing = await this.listing(`/release/${mbid}/`);
    const listed = new Set((Array.isArray(listing?.images) ? (listing.images as UpstreamImage[]) : []).map(imageIdOf));
    let removed = 0;
    for (const image of await this.services.releases.imagesOf(mbid)) {
      if (!listed.has(image.id)) {
        await this.services.releases.deleteImage(image.id);
        removed++;
      }
    }
    const images = await this.storeListing(mbid, listing);
    await this.markMirrored(mbid);
    return { images, removed };
  }

  /** Forget a mirrored release's art entirely: the next request for it asks the upstream again. */
  async purge(mbid: string): Promise<boolean> {
    const entry = await this.services.db.selectFrom('mirror_releases').select('release').where('release', '=', mbid).executeTakeFirst();
    if (!entry) return false;
    for (const image of await this.services.releases.imagesOf(mbid)) {
      await this.services.releases.deleteImage(image.id);
    }
    await this.services.db.deleteFrom('mirror_releases').where('release', '=', mbid).execute();
    return true;
  }

  private async fillReleaseGroup(groupMbid: string): Promise<boolean> {
    const listing = await this.listing(`/release-group/${groupMbid}/`);
    if (!listing) return false;
    // The group listing is the chosen release's own listing; its `release` link names that release.
    const link = typeof listing.release === 'string' ? listing.release : '';
    const releaseMbid = parseMbid(link.replace(/\/+$/, '').split('/').pop() ?? '');
    if (!releaseMbid) throw upstreamFailed(200, 'the release-group listing (no release named)');
    const filled = await this.fillRelease(releaseMbid, listing);
    if (!filled) return false;
    await this.services.releases.putRelease(releaseMbid, { releaseGroup: groupMbid });
    await this.services.releases.chooseReleaseGroupCover(groupMbid, releaseMbid);
    return true;
  }
}
