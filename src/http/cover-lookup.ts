import type { Services } from '../app.ts';
import type { Category, Cover, CoverCatalogue } from '../catalogue/covers.ts';
import { ResolutionCache } from '../catalogue/resolution-cache.ts';
import { CATEGORY_OLID_KIND, isEditionScheme, normaliseIdentifier, parseCoverId, parseOlid } from '../identifiers/index.ts';

/** How a cover is named in a lookup: its id, its entity's OLID, or an edition identifier scheme. */
export type LookupKey = 'id' | 'olid' | (string & {});

/** The catalogue's answer for `/{category}/{key}/{value}`, uncached. */
async function lookUp(catalogue: CoverCatalogue, category: Category, key: LookupKey, value: string): Promise<Cover | undefined> {
  if (key === 'id') {
    const id = parseCoverId(value);
    return id === undefined ? undefined : catalogue.visibleCover(id);
  }
  if (key === 'olid') {
    // An author's OLID under /b (or an edition's under /a) names nothing there.
    const olid = parseOlid(value);
    return olid && olid.kind === CATEGORY_OLID_KIND[category] ? catalogue.coverForOlid(olid.olid) : undefined;
  }
  // Identifiers belong to editions: only /b looks them up.
  if (category !== 'b' || !isEditionScheme(key)) return undefined;
  const normalised = normaliseIdentifier(key, value);
  return normalised ? catalogue.coverForIdentifier(key, normalised) : undefined;
}

// One cache per running server, whichever dialect asks first: the Books and Read APIs resolve an ISBN to the same
// remembered answer the `/b/isbn/…` image route uses.
const caches = new WeakMap<Services, ResolutionCache>();

function resolutionsOf(services: Services): ResolutionCache {
  let cache = caches.get(services);
  if (!cache) caches.set(services, (cache = new ResolutionCache(services.changes)));
  return cache;
}

/**
 * The cover `/{category}/{key}/{value}` names, through the shared resolution cache; in mirror mode a miss asks the
 * mirror (identifier keys only under /b, where they mean something).
 */
export async function resolveCover(services: Services, category: Category, key: LookupKey, value: string): Promise<Cover | undefined> {
  const cover = await resolutionsOf(services).resolve(`${category}/${key}/${value}`, () => lookUp(services.catalogue, category, key, value));
  if (cover) return cover;
  const miss = services.hooks.openLibraryMiss;
  const allowed = key === 'id' || key === 'olid' || category === 'b';
  return miss && allowed ? miss(category, key, value) : undefined;
}
