import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

// int8 columns (our millisecond timestamps and ids) fit a double exactly; read them as numbers, not strings.
pg.types.setTypeParser(20, (value: string) => Number(value));

export function openPostgres(databaseUrl: string): Kysely<Database> {
  // A request waits at most a few seconds for a connection during an outage, then gets a 503 (see outageError).
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 3_000 });
  // An idle connection that the server drops (restart, failover, pg_terminate_backend) is reported here; without a
  // listener the process would crash. The pool discards it and the next query opens a new one.
  pool.on('error', () => {});
  // A client checked out when the server goes away emits 'error' on itself too ("Connection terminated
  // unexpectedly"): unheard, that killed the process. Its query fails with the same error, which the request answers.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
