import { sql } from 'kysely';
import { JacketError } from '../errors.ts';
import { isPostgres, type CatalogueDb } from './db.ts';
import type { Executor } from './db.ts';

/** What is known of a book besides its identifiers; kept where its identifiers are (its edition, else its cover). */
export interface BookTitle {
  title: string | null;
  authors: string[];
  /** Open Library author ids (`OL26320A`), as an editions dump names them. */
  authorKeys: string[];
}

/** A change to a book's title: each field given replaces what was there. */
export interface TitleEdit {
  /** '' or null removes the title. */
  title?: string | null;
  authors?: string[];
  authorKeys?: string[];
}

/** Where a title belongs: an edition, or a cover that has none. */
export interface TitleTarget {
  olid?: string | null;
  coverId: number;
}

/** Words a search may name at most: more narrow nothing further and only lengthen the statement. */
export const MAX_SEARCH_WORDS = 8;
/** Title rows a search reads at most (the covers of those are then listed, as for an identifier). */
export const SEARCH_ROWS = 500;

/**
 * Text as both databases index it: lower case, accents removed, split on anything that is not a letter or digit.
 * Done here rather than by each database's tokenizer, so SQLite and PostgreSQL find exactly the same words.
 */
export function foldWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** The longest title kept, in characters (Open Library's longest run to a few hundred). */
export const MAX_TITLE_LENGTH = 500;
/** Authors a book may list, and the longest name, in characters. */
export const MAX_AUTHORS = 20;
export const MAX_AUTHOR_LENGTH = 200;

/** One line of text, its runs of white space made one space; undefined when it holds a control character. */
function oneLine(text: string): string | undefined {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return undefined;
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * A title and authors as a client sent them (an upload form's fields, a PATCH body), checked: a 400 with a code and a
 * sentence for anything that is not text of a sensible length. An empty title removes it; `authors` replaces the list.
 */
export function checkedTitleEdit(raw: { title?: unknown; authors?: unknown }): TitleEdit {
  const edit: TitleEdit = {};
  if (raw.title !== undefined && raw.title !== null) {
    const title = typeof raw.title === 'string' ? oneLine(raw.title) : undefined;
    if (title === undefined || title.length > MAX_TITLE_LENGTH) throw new JacketError(400, 'invalid_title', `title must be one line of text of at most ${MAX_TITLE_LENGTH} characters.`);
    edit.title = title;
  } else if (raw.title === null) {
    edit.title = null;
  }
  if (raw.authors !== undefined) {
    if (!Array.isArray(raw.authors) || raw.authors.length > MAX_AUTHORS) throw new JacketError(400, 'invalid_authors', `authors must be a list of at most ${MAX_AUTHORS} names.`);
    edit.authors = [
      ...new Set(
        raw.authors
          .map((name: unknown) => {
            const checked = typeof name === 'string' ? oneLine(name) : undefined;
            if (checked === undefined || checked.length > MAX_AUTHOR_LENGTH) throw new JacketError(400, 'invalid_authors', `Each author must be a name of at most ${MAX_AUTHOR_LENGTH} characters on one line.`);
            return checked;
          })
          .filter(Boolean),
      ),
    ];
  }
  return edit;
}

function keyOf(target: TitleTarget): { olid: string; cover_id: number } {
  return target.olid ? { olid: target.olid, cover_id: 0 } : { olid: '', cover_id: target.coverId };
}

/** The title row's columns for these values (the folded words beside the text). */
function titleColumns(title: BookTitle) {
  const authors = title.authors.join('\n');
  return {
    title: title.title ?? '',
    authors,
    author_keys: title.authorKeys.join(','),
    title_words: foldWords(title.title ?? '').join(' '),
    author_words: foldWords(authors).join(' '),
  };
}

function fromRow(row: { title: string; authors: string; author_keys: string }): BookTitle {
  return {
    title: row.title === '' ? null : row.title,
    authors: row.authors === '' ? [] : row.authors.split('\n'),
    authorKeys: row.author_keys === '' ? [] : row.author_keys.split(','),
  };
}

const NO_TITLE: BookTitle = { title: null, authors: [], authorKeys: [] };

/** The title a cover shows: its edition's when it has one with a title, else its own. */
export async function titleOf(db: Executor, cover: { id: number; olid: string | null }): Promise<BookTitle> {
  const keys = [keyOf({ coverId: cover.id }), ...(cover.olid ? [keyOf({ olid: cover.olid, coverId: cover.id })] : [])];
  const rows = await db
    .selectFrom('titles')
    .select(['olid', 'title', 'authors', 'author_keys'])
    .where((eb) => eb.or(keys.map((key) => eb.and([eb('olid', '=', key.olid), eb('cover_id', '=', key.cover_id)]))))
    .execute();
  const row = rows.find((candidate) => candidate.olid !== '') ?? rows[0];
  return row ? fromRow(row) : NO_TITLE;
}

/** Apply an edit to the title of an edition or cover: the fields given replace theirs, the others stay. */
export async function editTitle(trx: Executor, target: TitleTarget, edit: TitleEdit, now: number): Promise<void> {
  if (edit.title === undefined && edit.authors === undefined && edit.authorKeys === undefined) return;
  const key = keyOf(target);
  const row = await trx.selectFrom('titles').select(['title', 'authors', 'author_keys']).where('olid', '=', key.olid).where('cover_id', '=', key.cover_id).executeTakeFirst();
  const current = row ? fromRow(row) : NO_TITLE;
  const columns = titleColumns({
    title: edit.title === undefined ? current.title : edit.title || null,
    authors: edit.authors ?? current.authors,
    authorKeys: edit.authorKeys ?? current.authorKeys,
  });
  await trx
    .insertInto('titles')
    .values({ ...key, ...columns, created_at: now })
    .onConflict((oc) => oc.columns(['olid', 'cover_id']).doUpdateSet(columns))
    .execute();
}

/**
 * Editions' titles and author ids from a dump, a few hundred per statement: each replaces the edition's title and
 * author ids and keeps the author names a librarian gave (a dump names authors by id only).
 */
export async function importEditionTitles(trx: Executor, editions: Array<{ olid: string; title: string; authorKeys: string[] }>, now: number): Promise<void> {
  const unique = new Map(editions.map((edition) => [edition.olid, edition]));
  const rows = [...unique.keys()].sort().map((olid) => {
    const { title, authorKeys } = unique.get(olid)!;
    return { olid, cover_id: 0, title, authors: '', author_keys: authorKeys.join(','), title_words: foldWords(title).join(' '), author_words: '', created_at: now };
  });
  for (let i = 0; i < rows.length; i += 200) {
    await trx
      .insertInto('titles')
      .values(rows.slice(i, i + 200))
      .onConflict((oc) =>
        oc.columns(['olid', 'cover_id']).doUpdateSet((eb) => ({
          title: eb.ref('excluded.title'),
          author_keys: eb.ref('excluded.author_keys'),
          title_words: eb.ref('excluded.title_words'),
        })),
      )
      .execute();
  }
}

/**
 * The editions and covers whose title or author names hold every one of these words (the last one as a prefix, so a
 * search box finds as it is typed): at most SEARCH_ROWS of them, through the full-text index.
 */
export async function titleMatches(db: CatalogueDb, words: string[]): Promise<Array<{ olid: string; cover_id: number }>> {
  if (isPostgres(db)) {
    const query = words.map((word, index) => (index === words.length - 1 ? `${word}:*` : word)).join(' & ');
    return db
      .selectFrom('titles')
      .select(['olid', 'cover_id'])
      .where(sql<boolean>`search @@ to_tsquery('simple'::regconfig, ${query})`)
      .limit(SEARCH_ROWS)
      .execute();
  }
  const match = words.map((word, index) => `"${word}"${index === words.length - 1 ? '*' : ''}`).join(' AND ');
  const { rows } = await sql<{ olid: string; cover_id: number }>`select titles.olid, titles.cover_id from titles_search
    join titles on titles.id = titles_search.rowid where titles_search match ${match} limit ${SEARCH_ROWS}`.execute(db);
  return rows;
}
