import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('developer_keys')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('secret_sha256', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('contact', 'varchar(320)')
    .addColumn('daily_limit', 'bigint')
    .addColumn('rate_limit', 'varchar(32)')
    .addColumn('permissions', 'varchar(200)', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('developer_keys').execute();
}
