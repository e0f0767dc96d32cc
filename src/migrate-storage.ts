import { sql } from 'kysely';
import { isPostgres, type CatalogueDb } from './catalogue/db.ts';
import type { BlobStore } from './storage/blobstore.ts';

export interface Install {
  db: CatalogueDb;
  blobs: BlobStore;
}

export interface CopyOptions {
  /** Copy stored renditions too (they can always be made again from the originals). */
  renditions: boolean;
  onProgress?: (message: string) => void;
}

export interface CopyReport {
  rows: Record<string, number>;
  blobsCopied: number;
  blobsAlreadyThere: number;
}

export class MigrationRefused extends Error {}

const BATCH = 500;
/** The source row's rowid, selected under a name no table uses, to find the next page from. */
const PAGE_KEY = 'jacket_page_rowid';

/**
 * Tables of an SQLite catalogue in creation order (migrations create referenced tables first). A full-text index (an
 * FTS5 virtual table and its shadow tables) is no data of its own: the target builds its own from the rows copied
 * (SQLite by its triggers, PostgreSQL by a generated column).
 */
async function sqliteTables(db: CatalogueDb): Promise<string[]> {
  const result = await sql<{ name: string; sql: string | null }>`select name, sql from sqlite_master where type = 'table' order by rowid`.execute(db);
  const indexes = result.rows.filter((row) => /^create virtual table/i.test(row.sql ?? '')).map((row) => row.name);
  return result.rows
    .map((row) => row.name)
    .filter((name) => !name.startsWith('sqlite_') && !name.startsWith('kysely_'))
    .filter((name) => !indexes.some((index) => name === index || name.startsWith(`${index}_`)));
}

/** Each table's columns in the target: a column only SQLite has (the rowid FTS5 refers to) is not copied. */
async function targetColumns(db: CatalogueDb): Promise<Map<string, Set<string>>> {
  return new Map((await db.introspection.getTables()).map((table) => [table.name, new Set(table.columns.map((column) => column.name))]));
}

/**
 * Copy an embedded install (SQLite catalogue + blob folder) into the configured one (typically PostgreSQL + S3).
 * Blobs first, idempotently (a blob already there with the same size is skipped), so an interrupted run can simply
 * be started again; then every catalogue table in one target transaction, which replaces the target's rows. Both
 * catalogues are migrated to the same version beforehand; a target that already holds covers is refused.
 */
export async function copyInstall(source: Install, target: Install, options: CopyOptions): Promise<CopyReport> {
  const say = options.onProgress ?? (() => {});
  const existing = await target.db.selectFrom('covers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  if (Number(existing.n) > 0) {
    throw new MigrationRefused(`the target catalogue already holds ${existing.n} covers; migrate into an empty one`);
  }

  let blobsCopied = 0;
  let blobsAlreadyThere = 0;
  for await (const key of source.blobs.list('')) {
    if (!options.renditions && key.startsWith('renditions/')) continue;
    const sourceStat = await source.blobs.stat(key);
    const targetStat = await target.blobs.stat(key);
    if (sourceStat && targetStat && sourceStat.size === targetStat.size) {
      blobsAlreadyThere++;
      continue;
    }
    const bytes = await source.blobs.get(key);
    if (!bytes) continue;
    await target.blobs.put(key, bytes);
    blobsCopied++;
    if (blobsCopied % 500 === 0) say(`${blobsCopied} blobs copied`);
  }
  say(`blobs: ${blobsCopied} copied, ${blobsAlreadyThere} already there`);

  const tables = await sqliteTables(source.db);
  const columns = await targetColumns(target.db);
  const rows: Record<string, number> = {};
  await target.db.transaction().execute(async (trx) => {
    for (const table of [...tables].reverse()) await trx.deleteFrom(table as never).execute();
    for (const table of tables) {
      rows[table] = 0;
      // Pages by rowid, each found through the table's own B-tree: OFFSET would step over every row before the page,
      // which on a catalogue of millions of covers makes the copy quadratic.
      for (let after = Number.MIN_SAFE_INTEGER; ; ) {
        const batch = await sql<Record<string, unknown>>`select rowid as ${sql.ref(PAGE_KEY)}, * from ${sql.table(table)} where rowid > ${after} order by rowid limit ${BATCH}`.execute(source.db);
        if (batch.rows.length === 0) break;
        after = Number(batch.rows[batch.rows.length - 1]![PAGE_KEY]);
        const kept = columns.get(table);
        const values = batch.rows.map((row) => Object.fromEntries(Object.entries(row).filter(([column]) => column !== PAGE_KEY && (!kept || kept.has(column)))));
        await trx.insertInto(table as never).values(values as never).execute();
        rows[table] += batch.rows.length;
      }
      say(`${table}: ${rows[table]} rows`);
    }
    if (isPostgres(target.db)) {
      // Columns PostgreSQL numbers itself (serial/identity) must continue after the copied ids.
      for (const meta of await target.db.introspection.getTables()) {
        if (!tables.includes(meta.name)) continue;
        for (const column of meta.columns.filter((c) => c.isAutoIncrementing)) {
          await sql`select setval(pg_get_serial_sequence(${meta.name}, ${column.name}), coalesce((select max(${sql.ref(column.name)}) from ${sql.table(meta.name)}), 0) + 1, false)`.execute(trx);
        }
      }
    }
  });
  return { rows, blobsCopied, blobsAlreadyThere };
}
