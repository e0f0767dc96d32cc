import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * better-sqlite3 behind Kysely with its prepared statements reused. Kysely prepares a new statement for every query
 * and drops it; with Node 24.21's ObjectWrap (which removes an environment cleanup hook in its destructor), a
 * statement collected by a GC that runs outside a JavaScript context aborts the process
 * (`RemoveEnvironmentCleanupHook: Assertion failed: (env) != nullptr`). Reusing statements keeps them reachable, so
 * the GC has almost none to collect; it also saves the prepare on every query.
 */
export function reusingStatements(database: SQLite.Database, capacity = 2000): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close() {
      database.close();
    },
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (statement) {
        // Move to the back: the map's order is the recency order for eviction.
        statements.delete(sql);
        statements.set(sql, statement);
        return statement as unknown as SqliteStatement;
      }
      statement = database.prepare(sql);
      statements.set(sql, statement);
      if (statements.size > capacity) statements.delete(statements.keys().next().value!);
      return statement as unknown as SqliteStatement;
    },
  };
}
