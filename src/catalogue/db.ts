import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationProvider, type SqliteDatabase } from 'kysely';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type CatalogueDb = Kysely<Database>;

export interface DatabaseOptions {
  /** `postgres://…` selects PostgreSQL; otherwise SQLite at `sqlitePath`. */
  databaseUrl?: string;
  sqlitePath: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<CatalogueDb> {
  if (options.databaseUrl && /^postgres(ql)?:/.test(options.databaseUrl)) {
    const { openPostgres } = await import('./postgres.ts');
    return openPostgres(options.databaseUrl);
  }
  fs.mkdirSync(path.dirname(options.sqlitePath), { recursive: true });
  const sqlite = new SQLite(options.sqlitePath);
  // WAL lets readers (and `jacket` commands run beside the server) work while one writer writes; synchronous=FULL
  // makes every committed transaction durable across power loss, which crash safety relies on.
  // exec, not pragma(): pragma() prepares a Statement that would be left to the garbage collector (see below).
  sqlite.exec('PRAGMA journal_mode = WAL');
  sqlite.exec('PRAGMA synchronous = FULL');
  sqlite.exec('PRAGMA busy_timeout = 10000');
  sqlite.exec('PRAGMA foreign_keys = ON');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: retainingStatements(sqlite) }) });
}

/**
 * Node 24.21's ObjectWrap removes an environment cleanup hook in its destructor and aborts the process
 * (`Assertion failed: (env) != nullptr`) when V8 collects a wrapped object outside any context, which happens to
 * better-sqlite3 Statements that Kysely prepares per query and drops. So no Statement (nor Database) is ever left to
 * the collector: statements are cached by SQL text (Kysely's texts are few) and kept for the life of the process.
 */
const keptAlive: unknown[] = [];

function retainingStatements(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  keptAlive.push(sqlite, statements);
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (!statement || statement.busy) {
        statement = sqlite.prepare(text);
        if (statements.has(text)) keptAlive.push(statement);
        else statements.set(text, statement);
      }
      return statement;
    },
  };
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

export async function migrateToLatest(db: CatalogueDb): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
  }
}
