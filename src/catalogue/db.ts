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
  // exec, not pragma(): pragma() prepares a Statement that would be left for the garbage collector (see below).
  sqlite.exec('PRAGMA journal_mode = WAL');
  sqlite.exec('PRAGMA synchronous = FULL');
  sqlite.exec('PRAGMA busy_timeout = 10000');
  sqlite.exec('PRAGMA foreign_keys = ON');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: statementKeepingDatabase(sqlite) }) });
}

/**
 * better-sqlite3 wrappers that must never be garbage collected. Built against Node 24.21, node::ObjectWrap removes a
 * per-object environment cleanup hook in its destructor, and that aborts the whole process
 * (`Assertion failed: (env) != nullptr` in RemoveEnvironmentCleanupHook) when V8 collects a Statement or Database
 * outside a JavaScript context — which happened at random, often during startup. So statements are prepared once
 * per SQL text and kept, and databases stay referenced after close, until the process exits.
 */
const keptUntilExit: unknown[] = [];

function statementKeepingDatabase(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  keptUntilExit.push(sqlite, statements);
  return {
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      sqlite.close();
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
