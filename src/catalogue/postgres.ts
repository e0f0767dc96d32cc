import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

// int8 columns (our millisecond timestamps and ids) fit a double exactly; read them as numbers, not strings.
pg.types.setTypeParser(20, (value: string) => Number(value));

export function openPostgres(databaseUrl: string): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 10_000 });
  // An idle connection that the server drops (restart, failover, pg_terminate_backend) is reported here; without a
  // listener the process would crash. The pool discards it and the next query opens a new one.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
