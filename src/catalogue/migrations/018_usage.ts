import { sql, type Kysely } from 'kysely';

/**
 * What the server was asked for, per day (UTC, `2026-12-03`): image requests and renditions made, and requests per
 * cover. Each instance adds what it counted since its last flush (src/usage.ts), so instances sharing a database add up.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table usage_days (
    day varchar(10) primary key,
    requests bigint not null default 0,
    renditions bigint not null default 0
  )`.execute(db);
  await sql`create table usage_covers (
    day varchar(10) not null,
    cover_id bigint not null,
    requests bigint not null default 0,
    primary key (day, cover_id)
  )`.execute(db);
}
