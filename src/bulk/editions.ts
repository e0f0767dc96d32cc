/**
 * Open Library's editions dump: one edition per line, tab-separated `type, key, revision, last_modified, JSON`,
 * usually gzip-compressed. Pure line parsing plus a streaming line reader that unzips when it sees gzip's magic.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { EditionScheme } from '../identifiers/index.ts';
import { normaliseIdentifier, parseOlid } from '../identifiers/index.ts';
import { MAX_TITLE_LENGTH } from '../catalogue/titles.ts';

export interface EditionRecord {
  olid: string;
  identifiers: Array<{ scheme: EditionScheme; value: string }>;
  covers: number[];
  /** The edition's title ('' when it has none) and its authors' Open Library ids (`OL26320A`). */
  title: string;
  authorKeys: string[];
  /** Identifier values of this edition that are not valid for their scheme (`isbn_10: "n/a"`). */
  invalid: string[];
}

export type ParsedEdition = { ok: true; edition: EditionRecord } | { ok: false; code: string; message: string };

function strings(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** The author ids of an edition's `authors`: `[{"key": "/authors/OL26320A"}]` (older records nest it under `author`). */
function authorKeysOf(authors: unknown): string[] {
  if (!Array.isArray(authors)) return [];
  const keys = authors.map((item) => {
    const reference = (item && typeof item === 'object' && 'author' in item ? item.author : item) as { key?: unknown } | null;
    const match = typeof reference?.key === 'string' ? /^\/authors\/(OL\d+A)$/.exec(reference.key) : null;
    return match ? parseOlid(match[1]!)?.olid : undefined;
  });
  return [...new Set(keys.filter((key): key is string => key !== undefined))];
}

/** One line of the dump; `undefined` for a blank line. */
export function parseEditionLine(line: string): ParsedEdition | undefined {
  const text = line.replace(/\r$/, '');
  if (text.trim() === '') return undefined;
  const columns = text.split('\t');
  if (columns.length < 5) return { ok: false, code: 'bad_line', message: `${columns.length} columns, not 5` };
  const [type, key] = columns as [string, string];
  // The JSON column may itself contain tabs only escaped, but be lenient with stray ones.
  const json = columns.slice(4).join('\t');
  if (type !== '/type/edition') return { ok: false, code: 'not_an_edition', message: `type ${type.slice(0, 40)} (${key.slice(0, 40)})` };
  const keyMatch = /^\/books\/(OL\d+M)$/.exec(key);
  const parsed = keyMatch ? parseOlid(keyMatch[1]!) : undefined;
  if (!parsed || parsed.kind !== 'edition') return { ok: false, code: 'bad_key', message: `"${key.slice(0, 40)}" is not an edition key` };
  let record: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(json);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    record = value as Record<string, unknown>;
  } catch {
    return { ok: false, code: 'bad_json', message: `${key}: the JSON column cannot be parsed` };
  }
  const identifiers: EditionRecord['identifiers'] = [];
  const invalid: string[] = [];
  const take = (scheme: EditionScheme, raws: string[], label: string) => {
    for (const raw of raws) {
      const value = normaliseIdentifier(scheme, raw);
      if (value) identifiers.push({ scheme, value });
      else invalid.push(`${label} "${raw.slice(0, 40)}"`);
    }
  };
  const ids = (record.identifiers && typeof record.identifiers === 'object' ? record.identifiers : {}) as Record<string, unknown>;
  take('isbn', strings(record.isbn_10), 'isbn_10');
  take('isbn', strings(record.isbn_13), 'isbn_13');
  take('oclc', strings(record.oclc_numbers), 'oclc_numbers');
  take('lccn', strings(record.lccn), 'lccn');
  take('goodreads', strings(ids.goodreads), 'identifiers.goodreads');
  take('librarything', strings(ids.librarything), 'identifiers.librarything');
  // Open Library marks removed covers with -1; only positive ids are covers.
  const covers = Array.isArray(record.covers)
    ? record.covers.filter((id): id is number => Number.isSafeInteger(id) && (id as number) > 0)
    : [];
  const unique = new Map(identifiers.map((identifier) => [`${identifier.scheme}\0${identifier.value}`, identifier]));
  const title = typeof record.title === 'string' ? record.title.replace(/\s+/g, ' ').trim().slice(0, MAX_TITLE_LENGTH) : '';
  return { ok: true, edition: { olid: parsed.olid, identifiers: [...unique.values()], covers: [...new Set(covers)], title, authorKeys: authorKeysOf(record.authors), invalid } };
}

/**
 * The longest line the dump readers keep, in bytes. Open Library's largest edition records are a few hundred KB; a
 * line past this is a damaged file (or a hostile one: one line of a 2 MB gzip can be gigabytes), so it is skipped
 * without being held whole, and the import goes on at the next line.
 */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** A line that was longer than the reader keeps: skipped, and only its length is known. */
export class OverlongLine {
  readonly bytes: number;
  constructor(bytes: number) {
    this.bytes = bytes;
  }
}

/**
 * Lines of a file, gunzipped when it starts with gzip's magic bytes. `onBytes` sees the file's (compressed) bytes.
 * A line over `maxLineBytes` comes as an OverlongLine; at most that many bytes of a line are ever held in memory.
 */
export async function* readLines(file: string, onBytes?: (bytes: number) => void, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<string | OverlongLine> {
  const head = Buffer.alloc(2);
  const handle = await fs.open(file, 'r');
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  if (onBytes) raw.on('data', (chunk) => onBytes(chunk.length));
  let input: Readable = raw;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    raw.on('error', (error) => gunzip.destroy(error));
    input = raw.pipe(gunzip);
  }
  let held: Buffer[] = [];
  let heldBytes = 0;
  let overlong = 0; // bytes of the current line once it is past the limit (nothing of it is held then)
  const endLine = (): string | OverlongLine => {
    const line = overlong > 0 ? new OverlongLine(overlong) : stripCr(Buffer.concat(held, heldBytes).toString('utf8'));
    held = [];
    heldBytes = 0;
    overlong = 0;
    return line;
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let from = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, from)) {
      take(chunk.subarray(from, newline));
      yield endLine();
      from = newline + 1;
    }
    take(chunk.subarray(from));
  }
  if (heldBytes > 0 || overlong > 0) yield endLine();

  function take(part: Buffer): void {
    if (part.length === 0) return;
    if (overlong > 0 || heldBytes + part.length > maxLineBytes) {
      overlong = (overlong || heldBytes) + part.length;
      held = [];
      heldBytes = 0;
      return;
    }
    held.push(part);
    heldBytes += part.length;
  }
}

/** A line without the CR of a CRLF ending (as readline's crlfDelay: Infinity read them). */
function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
