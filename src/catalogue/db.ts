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
  // exec, not pragma(): pragma() prepares a statement object that is then left to the GC (see keepStatements).
  sqlite.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: keepStatements(sqlite) }) });
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

/**
 * Prepared statements are reused per SQL text instead of being prepared per query. Besides saving the prepare, this
 * keeps them from becoming garbage: better-sqlite3 12's statements are raw node::ObjectWrap objects, and on Node
 * 24.19+ one finalised by a background GC aborts the process (`RemoveEnvironmentCleanupHook ... (env) != nullptr`,
 * WiseLibs/better-sqlite3#1515; fixed by the N-API build in better-sqlite3 13). Bulk imports run enough queries to
 * hit it within seconds. Capped, so SQL of many shapes (IN lists) cannot grow it without bound.
 */
function keepStatements(sqlite: SQLite.Database, limit = 5000): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => void sqlite.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (statements.size < limit) statements.set(sql, statement);
      }
      return statement as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}
