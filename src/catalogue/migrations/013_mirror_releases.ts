import type { Kysely } from 'kysely';

/** Releases whose art came from a Cover Art Archive upstream in mirror mode: where from and when (refresh, purge). */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mirror_releases')
    .addColumn('release', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('upstream', 'varchar(500)', (c) => c.notNull())
    .addColumn('fetched_at', 'bigint', (c) => c.notNull())
    .execute();
}
