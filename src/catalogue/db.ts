import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresAdapter, sql, SqliteDialect, type MigrationProvider, type SqliteDatabase, type Transaction } from 'kysely';
import { migrations } from './migrations/index.ts';
import { ConfigError, type Config } from '../config.ts';
import type { Database } from './schema.ts';

export type CatalogueDb = Kysely<Database>;

/** Where a statement runs: the catalogue itself, or a transaction on it. */
export type Executor = CatalogueDb | Transaction<Database>;

/** The embedded catalogue's file in the data folder. */
export const CATALOGUE_FILE = 'catalogue.sqlite';

export interface DatabaseOptions {
  /** `postgres://…` selects PostgreSQL; otherwise SQLite at `sqlitePath`. */
  databaseUrl?: string;
  sqlitePath: string;
}

/** The catalogue a configuration names (PostgreSQL when `DATABASE_URL` is set, else SQLite in the data folder), migrated. */
export async function openCatalogue(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<CatalogueDb> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: path.join(config.dataDir, CATALOGUE_FILE) });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

export async function openDatabase(options: DatabaseOptions): Promise<CatalogueDb> {
  // loadConfig accepts only postgres:// URLs (in any case) for DATABASE_URL.
  if (options.databaseUrl) {
    const { openPostgres } = await import('./postgres.ts');
    return openPostgres(options.databaseUrl);
  }
  fs.mkdirSync(path.dirname(options.sqlitePath), { recursive: true });
  const sqlite = new SQLite(options.sqlitePath);
  // WAL lets readers (and `jacket` commands run beside the server) work while one writer writes; synchronous=FULL
  // makes every committed transaction durable across power loss, which crash safety relies on.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}

/** A ROLLBACK with nothing left to roll back: it does nothing. */
const ALREADY_ROLLED_BACK = { reader: false, all: () => [], run: () => ({ changes: 0, lastInsertRowid: 0 }), iterate: () => [][Symbol.iterator]() };

/**
 * Kysely's SQLite driver prepares every query's SQL anew. The queries of a running server are a few dozen shapes
 * (values are parameters), so prepared statements are kept by their SQL and used again: preparing was about a third
 * of a cover lookup's main-thread time on the misses bench. A statement still being iterated (a streamed query) is
 * never handed out twice; a fresh one is prepared instead.
 */
function withStatementCache(sqlite: SQLite.Database, max = 256): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      // SQLite ends the transaction itself on some failures (SQLITE_FULL, SQLITE_IOERR); Kysely's ROLLBACK would then
      // fail with "no transaction is active" and replace the error that says what happened (a full disk: 507).
      if (text === 'rollback' && !sqlite.inTransaction) return ALREADY_ROLLED_BACK;
      const cached = statements.get(text);
      if (cached && !cached.busy) {
        // Least recently used goes first: the few shapes on every request stay, however many one-off texts pass.
        statements.delete(text);
        statements.set(text, cached);
        return cached;
      }
      const statement = sqlite.prepare(text);
      if (!cached) {
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Key of the PostgreSQL advisory lock that serialises migrations of instances starting at the same time. */
export const MIGRATION_LOCK_KEY = 0x6a61636b; // 'jack'

export function isPostgres(db: CatalogueDb): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Bring the schema up to date. On PostgreSQL several instances may start at once: a session advisory lock, held on
 * one connection while the migrator works on others, lets exactly one migrate while the rest wait and then find
 * nothing to do. (Kysely's migrator also locks its own table; this lock covers creating that table.)
 */
export async function migrateToLatest(db: CatalogueDb): Promise<void> {
  if (!isPostgres(db)) return runMigrations(db);
  await db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
    try {
      await runMigrations(db);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(connection);
    }
  });
}

/**
 * After a bulk import, let the database's planner know what the tables hold now. On PostgreSQL a table filled by an
 * import has no statistics until autovacuum gets to it (minutes later, or never where it is turned off); until then
 * the planner guesses, and measured at 300,000 covers it guessed "status = 'approved'" to be rare and read the whole
 * status index for every identifier lookup (178 ms a lookup instead of well under 1 ms). ANALYZE samples a fixed
 * number of rows per table, so this costs about a second however large the catalogue is. SQLite plans these
 * statements well without statistics (test/query-plans.test.ts reads its plans without any).
 */
export async function refreshStatistics(db: CatalogueDb, tables: readonly (keyof Database)[]): Promise<void> {
  if (!isPostgres(db) || tables.length === 0) return;
  await sql.raw(`analyze ${tables.map((table) => `"${table}"`).join(', ')}`).execute(db);
}

async function runMigrations(db: CatalogueDb): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  // An older Jacket on a catalogue a newer one migrated: refuse plainly (nothing was changed), a downgrade is a restore.
  const unknown = /previously executed migration (\S+) is missing/.exec(String((error as Error | undefined)?.message ?? ''));
  if (unknown) {
    throw new ConfigError(
      `the catalogue was upgraded by a newer Jacket (its migration ${unknown[1]} is unknown to this version): run that version or newer, or restore the backup taken before the upgrade`,
    );
  }
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
  }
}
