import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * better-sqlite3 objects that must never be garbage-collected. Under Node 24.21 a native ObjectWrap removes an
 * environment cleanup hook in its destructor; when the GC collects a better-sqlite3 Statement or Database while no
 * JavaScript context is entered, that aborts the whole process (`node::RemoveEnvironmentCleanupHook … Assertion
 * failed: (env) != nullptr`). Kysely prepares a fresh statement per query and drops it, which made this happen
 * within a few thousand queries. Keeping every wrapper reachable means the GC never runs their destructors; Node's
 * environment cleanup frees them at exit instead.
 */
const retained: unknown[] = [];

/** Keep a better-sqlite3 object (a Database, a Statement made outside Kysely) reachable for the process lifetime. */
export function retain<T>(value: T): T {
  retained.push(value);
  return value;
}

/**
 * better-sqlite3 behind Kysely with one prepared statement per distinct SQL text, reused and never dropped (see
 * above). Jacket's queries come from a fixed set of builders, so the number of distinct texts stays small.
 */
export function reusingStatements(database: SQLite.Database): SqliteDatabase {
  retain(database);
  const statements = new Map<string, SQLite.Statement>();
  retain(statements);
  return {
    close() {
      database.close();
    },
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        statements.set(sql, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
}
