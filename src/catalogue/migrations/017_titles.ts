import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * Titles and authors, kept as identifiers are: on the edition (`olid`, `cover_id` 0) when a cover has one, else on
 * the cover itself (`olid` ''). `title_words` and `author_words` are the same text folded (lower case, no accents,
 * words split on anything not a letter or digit) by the application, so that both databases index the same words:
 * SQLite through an FTS5 table kept by triggers, PostgreSQL through a generated tsvector with a GIN index.
 */
/** The columns both databases share: where the title belongs, the text, and the text's folded words. */
const COLUMNS = sql.raw(`olid varchar(32) not null default '', cover_id bigint not null default 0, title text not null default '',
  authors text not null default '', author_keys text not null default '', title_words text not null default '',
  author_words text not null default '', created_at bigint not null`);

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`create table titles (${COLUMNS},
      search tsvector generated always as (to_tsvector('simple'::regconfig, title_words || ' ' || author_words)) stored,
      primary key (olid, cover_id)
    )`.execute(db);
    await sql`create index titles_search on titles using gin (search)`.execute(db);
    return;
  }
  // An INTEGER PRIMARY KEY: the FTS index refers to rows by rowid, which VACUUM may renumber unless it is a column.
  await sql`create table titles (id integer primary key, ${COLUMNS}, unique (olid, cover_id))`.execute(db);
  await sql`create virtual table titles_search using fts5(title_words, author_words, content='titles', content_rowid='id', tokenize='unicode61 remove_diacritics 0')`.execute(db);
  await sql`create trigger titles_inserted after insert on titles begin
    insert into titles_search (rowid, title_words, author_words) values (new.id, new.title_words, new.author_words);
  end`.execute(db);
  await sql`create trigger titles_deleted after delete on titles begin
    insert into titles_search (titles_search, rowid, title_words, author_words) values ('delete', old.id, old.title_words, old.author_words);
  end`.execute(db);
  await sql`create trigger titles_updated after update on titles begin
    insert into titles_search (titles_search, rowid, title_words, author_words) values ('delete', old.id, old.title_words, old.author_words);
    insert into titles_search (rowid, title_words, author_words) values (new.id, new.title_words, new.author_words);
  end`.execute(db);
}
