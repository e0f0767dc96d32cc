import type { Kysely } from 'kysely';

/**
 * Cover → entity links learnt from an editions dump or an identifier mapping before the cover itself was imported;
 * the cover import applies and removes them, so the two dumps can be imported in either order.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pending_cover_links')
    .addColumn('cover_id', 'bigint', (c) => c.primaryKey())
    .addColumn('olid', 'varchar(32)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
