import { normaliseIsbn } from './isbn.ts';

export * from './isbn.ts';

/** Identifier schemes that can be attached to an edition and looked up under `/b/{scheme}/{value}`. */
export const EDITION_SCHEMES = ['isbn', 'oclc', 'lccn', 'goodreads', 'librarything'] as const;
export type EditionScheme = (typeof EDITION_SCHEMES)[number];

export type OlidKind = 'edition' | 'work' | 'author';
const OLID_KINDS: Record<string, OlidKind> = { M: 'edition', W: 'work', A: 'author' };

/** `OL123M` → { olid: 'OL123M', kind: 'edition' }. Case-insensitive; canonical form is upper case. */
export function parseOlid(raw: string): { olid: string; kind: OlidKind } | undefined {
  const match = /^OL([1-9]\d{0,11})([MWA])$/i.exec(raw.trim());
  if (!match) return undefined;
  const suffix = match[2]!.toUpperCase();
  return { olid: `OL${match[1]}${suffix}`, kind: OLID_KINDS[suffix]! };
}

/** The OLID kind that lives under each Open Library category. */
export const CATEGORY_OLID_KIND: Record<string, OlidKind> = { b: 'edition', w: 'work', a: 'author' };

/** LCCN normalisation as the Library of Congress describes it: drop spaces, hyphen part zero-padded to 6 digits. */
export function normaliseLccn(raw: string): string | undefined {
  let value = raw.trim().replace(/\s+/g, '').toLowerCase();
  value = value.split('/')[0]!;
  const hyphen = value.indexOf('-');
  if (hyphen > 0) {
    const suffix = value.slice(hyphen + 1);
    if (!/^\d{1,6}$/.test(suffix)) return undefined;
    value = value.slice(0, hyphen) + suffix.padStart(6, '0');
  }
  return /^[a-z]{0,3}\d{8,10}$/.test(value) ? value : undefined;
}

/** OCLC numbers: digits, optionally prefixed ocm/ocn/on/(OCoLC); leading zeros dropped. */
export function normaliseOclc(raw: string): string | undefined {
  const value = raw.trim().replace(/^\(ocolc\)/i, '').replace(/^(ocm|ocn|on)/i, '');
  if (!/^\d{1,15}$/.test(value)) return undefined;
  return value.replace(/^0+(?=\d)/, '');
}

function normaliseNumericId(raw: string): string | undefined {
  const value = raw.trim();
  return /^\d{1,15}$/.test(value) ? value.replace(/^0+(?=\d)/, '') : undefined;
}

/** Normalise an identifier of a scheme; undefined when it is not one. */
export function normaliseIdentifier(scheme: EditionScheme, raw: string): string | undefined {
  if (raw.length > 64) return undefined;
  switch (scheme) {
    case 'isbn':
      return normaliseIsbn(raw);
    case 'oclc':
      return normaliseOclc(raw);
    case 'lccn':
      return normaliseLccn(raw);
    case 'goodreads':
      return normaliseNumericId(raw);
    case 'librarything':
      return normaliseNumericId(raw);
  }
}

export function isEditionScheme(value: string): value is EditionScheme {
  return (EDITION_SCHEMES as readonly string[]).includes(value);
}

/** Cover ids: positive integers that fit in a double exactly. */
export function parseCoverId(raw: string): number | undefined {
  if (!/^\d{1,15}$/.test(raw)) return undefined;
  const id = Number(raw);
  return id > 0 ? id : undefined;
}

/** MusicBrainz ids are UUIDs; canonical form is lower case. Upper case is accepted as the same MBID. */
export function parseMbid(raw: string): string | undefined {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(raw) ? raw.toLowerCase() : undefined;
}
