import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * Node 24.19+ headers make `node::ObjectWrap`'s destructor require an entered V8 context, and better-sqlite3 ≤ 12
 * builds its Database/Statement/Backup objects on ObjectWrap: when an idle (background) garbage collection
 * finalises one, the process aborts with `Assertion failed: (env) != nullptr` (nodejs/node#65446). Kysely prepares
 * a fresh statement for every query, so a server would die at a random moment after some writes.
 *
 * Until the addon no longer uses ObjectWrap (better-sqlite3 13 is on Node-API), keep every such object reachable:
 * statements are prepared once per SQL text and reused (the texts are parameterised, so the set is small), and
 * closed databases and their statements are kept until the process exits, where Node's own cleanup hooks free them.
 */
const retainedUntilExit: unknown[] = [];

export function retainUntilExit(...objects: unknown[]): void {
  retainedUntilExit.push(...objects);
}

/** A Kysely-facing database whose statements are cached per SQL text instead of being left to the garbage collector. */
export function withRetainedStatements(sqlite: SQLite.Database): SqliteDatabase & { run(sql: string): unknown } {
  const statements = new Map<string, SQLite.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = sqlite.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  return {
    prepare,
    /** Runs a statement that may return rows (PRAGMA …) through the cache, unlike `sqlite.pragma()`. */
    run: (sql: string) => {
      const statement = prepare(sql);
      return statement.reader ? statement.all() : statement.run();
    },
    close() {
      sqlite.close();
      retainUntilExit(sqlite, statements);
    },
  };
}
