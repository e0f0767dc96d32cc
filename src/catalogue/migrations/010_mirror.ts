import type { Kysely } from 'kysely';

/** Where a mirrored cover came from and when: refresh and purge use it; a local upload has no row here. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mirror_entries')
    .addColumn('cover_id', 'bigint', (c) => c.primaryKey())
    .addColumn('upstream', 'varchar(500)', (c) => c.notNull())
    .addColumn('upstream_id', 'bigint', (c) => c.notNull())
    .addColumn('source_url', 'text', (c) => c.notNull())
    .addColumn('fetched_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mirror_entries_upstream').on('mirror_entries').columns(['upstream', 'upstream_id']).execute();
}
