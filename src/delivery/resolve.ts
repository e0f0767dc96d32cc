import type { Category, Cover, CoverCatalogue } from '../catalogue/covers.ts';
import { BACK_TYPE, firstOfType, FRONT_TYPE, isServed, type ReleaseCatalogue, type ReleaseImage } from '../catalogue/releases.ts';
import { ResolutionCache } from '../catalogue/resolution-cache.ts';
import type { ChangeBus } from '../changes.ts';
import { CATEGORY_OLID_KIND, EDITION_SCHEMES, isEditionScheme, normaliseIdentifier, parseCoverId, parseOlid } from '../identifiers/index.ts';

/** How a cover is named in a URL: by id, by OLID or by an edition identifier (ISBN, OCLC, LCCN …). */
export const COVER_KEYS = ['id', 'olid', ...EDITION_SCHEMES] as const;
export type CoverKey = (typeof COVER_KEYS)[number];

/** The mirror's fill on a miss (set by mirror mode; read at call time, so a mirror set up later is the one asked). */
export interface MirrorFill {
  openLibraryMiss?: (category: Category, key: string, value: string) => Promise<Cover | undefined>;
  coverArtArchiveMiss?: (entity: 'release' | 'release-group', mbid: string) => Promise<boolean>;
}

/** What a release's art selector names: its front, its back, or one image by id. */
export type ImageSelector = 'front' | 'back' | number;

/**
 * Identifier → image, for every dialect: which cover an id, OLID or ISBN names (visible covers only), which release
 * image a file name or selector names (approved images only), the mirror's fill when nothing is here. Cover lookups
 * share one cache (found and not found alike), emptied by any catalogue change.
 */
export class Resolver {
  private readonly catalogue: CoverCatalogue;
  private readonly releases: ReleaseCatalogue;
  private readonly mirror: MirrorFill;
  readonly covers: ResolutionCache;

  constructor(options: { catalogue: CoverCatalogue; releases: ReleaseCatalogue; changes: ChangeBus; mirror: MirrorFill }) {
    this.catalogue = options.catalogue;
    this.releases = options.releases;
    this.mirror = options.mirror;
    this.covers = new ResolutionCache(options.changes);
  }

  /** The visible cover `/{category}/{key}/{value}` names, else the mirror's fill, else undefined. */
  async cover(category: Category, key: CoverKey, value: string): Promise<Cover | undefined> {
    const cover = await this.covers.resolve(`${category}/${key}/${value}`, () => this.lookUp(category, key, value));
    if (cover || !this.mirror.openLibraryMiss || !keyAllowedIn(key, category)) return cover;
    return this.mirror.openLibraryMiss(category, key, value);
  }

  /** The visible cover with this id (the native API's: no mirror fill, the ids are this catalogue's own). */
  coverById(id: number): Promise<Cover | undefined> {
    return this.covers.resolve(`b/id/${id}`, () => this.catalogue.visibleCover(id));
  }

  private lookUp(category: Category, key: CoverKey, value: string): Promise<Cover | undefined> {
    if (key === 'id') {
      const id = parseCoverId(value);
      return id === undefined ? Promise.resolve(undefined) : this.catalogue.visibleCover(id);
    }
    if (key === 'olid') {
      // An author's OLID under /b (or an edition's under /a) names nothing there.
      const olid = parseOlid(value);
      return olid && olid.kind === CATEGORY_OLID_KIND[category] ? this.catalogue.coverForOlid(olid.olid) : Promise.resolve(undefined);
    }
    // Identifiers belong to editions: only /b looks them up.
    if (category !== 'b' || !isEditionScheme(key)) return Promise.resolve(undefined);
    const normalised = normaliseIdentifier(key, value);
    return normalised ? this.catalogue.coverForIdentifier(key, normalised) : Promise.resolve(undefined);
  }

  /** A release's images (rejected ones left out), the release's merge followed; in mirror mode filled when none. */
  async releaseImages(mbid: string): Promise<{ release: string; images: ReleaseImage[] }> {
    const release = await this.releases.resolveMbid(mbid, 'release');
    const images = await this.releases.imagesOf(release);
    if (images.length > 0 || !this.mirror.coverArtArchiveMiss) return { release, images };
    return { release, images: (await this.mirror.coverArtArchiveMiss('release', release)) ? await this.releases.imagesOf(release) : images };
  }

  /** The served image a selector names among a release's images. */
  static select(images: ReleaseImage[], selector: ImageSelector): ReleaseImage | undefined {
    if (selector === 'front') return firstOfType(images, FRONT_TYPE);
    if (selector === 'back') return firstOfType(images, BACK_TYPE);
    return images.find((candidate) => candidate.id === selector && isServed(candidate));
  }

  /** The release chosen for a release group and its images; in mirror mode filled when the group has none. */
  async releaseGroupArt(mbid: string) {
    const art = await this.releases.releaseGroupArt(mbid);
    if (art || !this.mirror.coverArtArchiveMiss) return art;
    return (await this.mirror.coverArtArchiveMiss('release-group', mbid)) ? this.releases.releaseGroupArt(mbid) : art;
  }

  /** Release image `id`, whichever release holds it, when it is served (the IIIF dialect names images by id alone). */
  async releaseImageById(id: number): Promise<ReleaseImage | undefined> {
    const image = await this.releases.getImage(id);
    return image && isServed(image) ? image : undefined;
  }

  /** Image `id` of release `mbid` (merges followed) when it is served: pending and rejected images are nobody's. */
  async releaseImage(mbid: string, id: number): Promise<ReleaseImage | undefined> {
    const release = await this.releases.resolveMbid(mbid, 'release');
    const image = await this.releases.getImage(id);
    return image && image.release === release && isServed(image) ? image : undefined;
  }
}

/** Identifier keys exist only under /b; ids and OLIDs under every category. */
function keyAllowedIn(key: CoverKey, category: Category): boolean {
  return key === 'id' || key === 'olid' || category === 'b';
}
