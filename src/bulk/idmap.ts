/**
 * Open Library's identifier mapping dump: 4 tab-separated columns, ID-Name, ID-Value, OL-KEY, CoverID
 * (`isbn_13	9780385472579	/books/OL7353617M	240727`). Pure formatting and parsing.
 */
import type { EditionScheme, OlidKind } from '../identifiers/index.ts';
import { isbn13To10, isValidIsbn13, normaliseIdentifier, parseCoverId, parseOlid } from '../identifiers/index.ts';

export const ID_NAMES = ['isbn_10', 'isbn_13', 'oclc', 'lccn', 'goodreads', 'librarything', 'olid'] as const;
export type IdName = (typeof ID_NAMES)[number];

const KEY_PREFIX: Record<OlidKind, string> = { edition: '/books/', author: '/authors/', work: '/works/' };
const PREFIX_KIND: Record<string, OlidKind> = { books: 'edition', authors: 'author', works: 'work' };

export function olKey(olid: string, kind: OlidKind): string {
  return `${KEY_PREFIX[kind]}${olid}`;
}

/** `/books/OL1M` → OL1M (edition); also accepts a bare OLID. */
export function parseOlKey(raw: string): { olid: string; kind: OlidKind } | undefined {
  const match = /^\/(books|authors|works)\/([^/]+)$/.exec(raw.trim());
  const parsed = parseOlid(match ? match[2]! : raw);
  if (!parsed) return undefined;
  if (match && PREFIX_KIND[match[1]!] !== parsed.kind) return undefined;
  return parsed;
}

/**
 * The ID-Name/ID-Value pairs a stored identifier is written as. ISBNs are stored as ISBN-13 where one exists, so a
 * 978 ISBN gives both an `isbn_13` and an `isbn_10` row; a kept-as-is ISBN of bad check digit keeps its length's name.
 */
export function idNamesFor(scheme: EditionScheme, value: string): Array<[IdName, string]> {
  if (scheme !== 'isbn') return [[scheme, value]];
  if (value.length === 10) return [['isbn_10', value]];
  if (isValidIsbn13(value)) {
    const isbn10 = isbn13To10(value);
    return isbn10 ? [['isbn_13', value], ['isbn_10', isbn10]] : [['isbn_13', value]];
  }
  return [['isbn_13', value]];
}

export function formatRow(idName: string, idValue: string, key: string, coverId: number | undefined): string {
  return `${idName}\t${idValue}\t${key}\t${coverId ?? ''}\n`;
}

export interface IdMapRow {
  /** Absent for `olid` rows, which only link a cover to its entity. */
  identifier?: { scheme: EditionScheme; value: string };
  entity?: { olid: string; kind: OlidKind };
  coverId?: number;
}

export type ParsedRow = { ok: true; row: IdMapRow } | { ok: false; code: string; message: string };

/** One line of the dump. Blank lines and a header line are `undefined` (nothing to do, nothing wrong). */
export function parseIdMapLine(line: string): ParsedRow | undefined {
  const text = line.replace(/\r$/, '');
  if (text.trim() === '' || /^ID-Name\t/i.test(text)) return undefined;
  const columns = text.split('\t');
  if (columns.length !== 4) return { ok: false, code: 'bad_line', message: `${columns.length} columns, not 4` };
  const [idName, idValue, key, cover] = columns.map((column) => column.trim()) as [string, string, string, string];
  const row: IdMapRow = {};
  if (key !== '') {
    const entity = parseOlKey(key);
    if (!entity) return { ok: false, code: 'bad_ol_key', message: `"${key.slice(0, 40)}" is not an Open Library key` };
    row.entity = entity;
  }
  if (cover !== '') {
    const coverId = parseCoverId(cover);
    if (coverId === undefined) return { ok: false, code: 'bad_cover_id', message: `"${cover.slice(0, 20)}" is not a cover id` };
    row.coverId = coverId;
  }
  switch (idName) {
    case 'olid': {
      const olid = parseOlid(idValue);
      if (!olid) return { ok: false, code: 'bad_identifier', message: `"${idValue.slice(0, 40)}" is not an OLID` };
      if (row.entity && row.entity.olid !== olid.olid) return { ok: false, code: 'bad_line', message: `olid ${olid.olid} differs from OL-KEY ${key}` };
      row.entity = olid;
      break;
    }
    case 'isbn_10':
    case 'isbn_13':
    case 'oclc':
    case 'lccn':
    case 'goodreads':
    case 'librarything': {
      const scheme: EditionScheme = idName.startsWith('isbn') ? 'isbn' : (idName as EditionScheme);
      const value = normaliseIdentifier(scheme, idValue);
      if (!value) return { ok: false, code: 'bad_identifier', message: `"${idValue.slice(0, 40)}" is not a valid ${idName}` };
      if (row.entity && row.entity.kind !== 'edition') {
        return { ok: false, code: 'bad_line', message: `${idName} attached to ${key}, which is not an edition` };
      }
      row.identifier = { scheme, value };
      break;
    }
    default:
      return { ok: false, code: 'unknown_id_name', message: `ID-Name "${idName.slice(0, 30)}" is not one of ${ID_NAMES.join(', ')}` };
  }
  if (!row.entity && row.coverId === undefined) return { ok: false, code: 'bad_line', message: 'neither an OL-KEY nor a CoverID' };
  if (!row.identifier && row.coverId === undefined) return { ok: false, code: 'bad_line', message: 'an olid row without a CoverID links nothing' };
  return { ok: true, row };
}
