import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('settings')
    .addColumn('key', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('sequences')
    .addColumn('name', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('sequences').values({ name: 'cover_id', value: 0 }).execute();
  await db.schema
    .createTable('entities')
    .addColumn('olid', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('covers')
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('category', 'varchar(1)', (c) => c.notNull())
    .addColumn('olid', 'varchar(32)')
    .addColumn('blob_key', 'varchar(200)', (c) => c.notNull())
    .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('mime', 'varchar(64)', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('byte_size', 'bigint', (c) => c.notNull())
    .addColumn('source_url', 'text')
    .addColumn('author', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('modified_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'varchar(16)', (c) => c.notNull().defaultTo('approved'))
    .execute();
  await db.schema.createIndex('covers_olid_modified').on('covers').columns(['olid', 'modified_at']).execute();
  await db.schema.createIndex('covers_modified').on('covers').column('modified_at').execute();
  await db.schema.createIndex('covers_sha256').on('covers').column('sha256').execute();
  await db.schema
    .createTable('identifiers')
    .addColumn('scheme', 'varchar(32)', (c) => c.notNull())
    .addColumn('value', 'varchar(64)', (c) => c.notNull())
    .addColumn('olid', 'varchar(32)', (c) => c.notNull().defaultTo(''))
    .addColumn('cover_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('identifiers_pk', ['scheme', 'value', 'olid', 'cover_id'])
    .execute();
  await db.schema.createIndex('identifiers_olid').on('identifiers').column('olid').execute();
  await db.schema.createIndex('identifiers_cover').on('identifiers').column('cover_id').execute();
  void sql;
}
