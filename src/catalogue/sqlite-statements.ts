import type SQLite from 'better-sqlite3';

/**
 * Keep every prepared statement of a SQLite connection alive for the connection's lifetime (bounded by `limit`
 * distinct SQL texts). Two reasons: the catalogue's queries are a small fixed set, so re-preparing them per query is
 * wasted work on the lookup path; and with better-sqlite3 12 on Node 24, a Statement collected by a garbage
 * collection that V8 runs outside any JavaScript context (the idle-time memory reducer) aborts the process
 * (`RemoveEnvironmentCleanupHook … Assertion failed: (env) != nullptr`). A statement that is never garbage is never
 * collected. A cached statement that is busy (an unfinished `iterate()`) is not shared: a fresh one is prepared.
 */
export function keepStatements(sqlite: SQLite.Database, limit = 1000): SQLite.Database {
  const statements = new Map<string, SQLite.Statement>();
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((source: string) => {
    const cached = statements.get(source);
    if (cached && !cached.busy) return cached;
    const statement = prepare(source);
    if (!cached && statements.size < limit) statements.set(source, statement);
    return statement;
  }) as typeof sqlite.prepare;
  return sqlite;
}
