import type { Services } from '../services.ts';
import type { Cover } from '../catalogue/covers.ts';
import { normaliseIdentifier, parseOlid } from '../identifiers/index.ts';

/** The identifier kinds Open Library's Books and Read APIs take (`ISBN:…`, `isbn/…`, `isbn:…`). */
export const EDITION_KEY_KINDS = ['isbn', 'oclc', 'lccn', 'olid'] as const;
export type EditionKeyKind = (typeof EDITION_KEY_KINDS)[number];

export function editionKeyKind(raw: string): EditionKeyKind | undefined {
  const kind = raw.toLowerCase();
  return (EDITION_KEY_KINDS as readonly string[]).includes(kind) ? (kind as EditionKeyKind) : undefined;
}

/** An identifier in its canonical form (an edition OLID, or a normalised identifier), or undefined. */
function canonical(kind: EditionKeyKind, raw: string): string | undefined {
  if (kind !== 'olid') return normaliseIdentifier(kind, raw);
  const olid = parseOlid(raw);
  return olid?.kind === 'edition' ? olid.olid : undefined;
}

/**
 * The visible cover an edition identifier names, through the same resolution (and cache) as `/b/{kind}/{value}`;
 * undefined for an identifier that is not well formed or names nothing.
 */
export async function editionCover(services: Services, kind: EditionKeyKind, raw: string): Promise<Cover | undefined> {
  const value = canonical(kind, raw);
  return value ? services.delivery.resolve.cover('b', kind, value) : undefined;
}

/**
 * What an identifier names: its visible cover, or, for a book the catalogue knows without one (every cover deleted
 * or waiting for moderation), no cover and the edition's OLID if any; undefined when the catalogue never heard of it.
 */
export async function findEdition(services: Services, kind: EditionKeyKind, raw: string): Promise<{ cover?: Cover; olid?: string } | undefined> {
  const value = canonical(kind, raw);
  if (!value) return undefined;
  const cover = await services.delivery.resolve.cover('b', kind, value);
  if (cover) return { cover };
  const known = await services.catalogue.knownEdition(kind, value);
  return known && { olid: known.olid };
}

/** The three rendition URLs of a cover, absolute, as both APIs hand them out. */
export function coverUrls(base: string, cover: Cover): { small: string; medium: string; large: string } {
  return { small: `${base}/b/id/${cover.id}-S.jpg`, medium: `${base}/b/id/${cover.id}-M.jpg`, large: `${base}/b/id/${cover.id}-L.jpg` };
}

/**
 * What Jacket knows of the edition behind a cover: its Open Library key (`/books/OL…M`) when the cover belongs to an
 * edition, else the cover's own address (a cover uploaded with identifiers only has no edition); and a page about it,
 * the web UI's cover page (Jacket keeps no book records of its own).
 */
export function editionOf(base: string, cover: Cover): { key: string; url: string; olid: string | undefined } {
  const olid = cover.category === 'b' && cover.olid ? cover.olid : undefined;
  return { key: olid ? `/books/${olid}` : `/b/id/${cover.id}`, url: `${base}/ui/cover/${cover.id}`, olid };
}
