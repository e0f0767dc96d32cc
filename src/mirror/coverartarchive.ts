import type { Services } from '../app.ts';
import { parseTypeNames } from '../catalogue/releases.ts';
import { JacketError } from '../errors.ts';
import { parseMbid } from '../identifiers/index.ts';
import type { Upstream } from './upstream.ts';

interface UpstreamImage {
  id?: unknown;
  types?: unknown;
  comment?: unknown;
  approved?: unknown;
  image?: unknown;
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
export class CoverArtArchiveMirror {
  private readonly services: Services;
  readonly upstream: Upstream;
  private readonly negativeTtlMs: number;
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(services: Services, upstream: Upstream, negativeTtlMs: number) {
    this.services = services;
    this.upstream = upstream;
    this.negativeTtlMs = negativeTtlMs;
  }

  /** Fill a release or a release group from the upstream; true when art was stored. */
  async fill(entity: 'release' | 'release-group', mbid: string): Promise<boolean> {
    const cacheKey = `mirror-negative:caa/${entity}/${mbid}`;
    if (await this.services.limits.peek(cacheKey)) return false;
    const pending = this.inFlight.get(cacheKey);
    if (pending) return pending;
    const work = (entity === 'release' ? this.fillRelease(mbid) : this.fillReleaseGroup(mbid))
      .then(async (filled) => {
        if (!filled) await this.services.limits.increment(cacheKey, 1, Date.now() + this.negativeTtlMs);
        return filled;
      })
      .finally(() => this.inFlight.delete(cacheKey));
    this.inFlight.set(cacheKey, work);
    return work;
  }

  private async listing(path: string): Promise<UpstreamListing | undefined> {
    const response = await this.upstream.get(path, 5, { accept: 'application/json' });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new JacketError(502, 'upstream_failed', `The upstream answered ${response.status} for ${path}.`);
    try {
      return JSON.parse(response.body.toString('utf8')) as UpstreamListing;
    } catch {
      throw new JacketError(502, 'upstream_failed', 'The upstream sent a listing that is not JSON.');
    }
  }

  private async fillRelease(mbid: string, listing?: UpstreamListing): Promise<boolean> {
    const { releases, ingest } = this.services;
    listing ??= await this.listing(`/release/${mbid}/`);
    const images = Array.isArray(listing?.images) ? (listing.images as UpstreamImage[]) : [];
    let stored = 0;
    for (const item of images) {
      const id = typeof item.id === 'number' ? item.id : typeof item.id === 'string' && /^\d{1,15}$/.test(item.id) ? Number(item.id) : undefined;
      const imageUrl = typeof item.image === 'string' ? item.image : undefined;
      if (id === undefined || !imageUrl) continue;
      if (await releases.getImage(id)) {
        stored++;
        continue;
      }
      const response = await this.upstream.get(imageUrl);
      if (response.status !== 200) continue;
      // Validated exactly like an upload.
      const original = await ingest.storeOriginal(response.body);
      const typeList = Array.isArray(item.types) ? item.types.filter((name): name is string => typeof name === 'string') : [];
      let types: number[];
      try {
        types = parseTypeNames(typeList);
      } catch {
        types = [];
      }
      await releases.addImage(mbid, {
        id,
        blobKey: original.blobKey,
        sha256: original.sha256,
        mime: original.mime,
        width: original.width,
        height: original.height,
        byteSize: original.byteSize,
        types,
        comment: typeof item.comment === 'string' ? item.comment : '',
        approved: item.approved !== false,
      });
      stored++;
    }
    return stored > 0;
  }

  private async fillReleaseGroup(groupMbid: string): Promise<boolean> {
    const listing = await this.listing(`/release-group/${groupMbid}/`);
    if (!listing) return false;
    // The group listing is the chosen release's own listing; its `release` link names that release.
    const link = typeof listing.release === 'string' ? listing.release : '';
    const releaseMbid = parseMbid(link.replace(/\/+$/, '').split('/').pop() ?? '');
    if (!releaseMbid) throw new JacketError(502, 'upstream_failed', 'The upstream release-group listing does not name its release.');
    const filled = await this.fillRelease(releaseMbid, listing);
    if (!filled) return false;
    await this.services.releases.putRelease(releaseMbid, { releaseGroup: groupMbid });
    await this.services.releases.chooseReleaseGroupCover(groupMbid, releaseMbid);
    return true;
  }
}
