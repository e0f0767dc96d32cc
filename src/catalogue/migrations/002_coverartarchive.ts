import type { Kysely } from 'kysely';

/**
 * Cover Art Archive: releases, release groups, merges, images on releases and the edit log that numbers their
 * changes. Types are stored as a comma-separated list of the fixed CAA type ids (portable, no array column).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('caa_releases')
    .addColumn('mbid', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('release_group', 'varchar(36)')
    .addColumn('date_year', 'integer')
    .addColumn('date_month', 'integer')
    .addColumn('date_day', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('caa_releases_group').on('caa_releases').column('release_group').execute();
  await db.schema
    .createTable('caa_release_groups')
    .addColumn('mbid', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('chosen_release', 'varchar(36)')
    .execute();
  await db.schema
    .createTable('caa_merges')
    .addColumn('old_mbid', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('new_mbid', 'varchar(36)', (c) => c.notNull())
    .addColumn('entity', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('caa_images')
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('release', 'varchar(36)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('types', 'varchar(200)', (c) => c.notNull().defaultTo(''))
    .addColumn('comment', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('approved', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('edit_id', 'bigint', (c) => c.notNull())
    .addColumn('blob_key', 'varchar(200)', (c) => c.notNull())
    .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('mime', 'varchar(64)', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('byte_size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('caa_images_release').on('caa_images').columns(['release', 'position']).execute();
  await db.schema
    .createTable('caa_edits')
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('action', 'varchar(32)', (c) => c.notNull())
    .addColumn('release', 'varchar(36)', (c) => c.notNull())
    .addColumn('image_id', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('sequences').values({ name: 'caa_edit_id', value: 0 }).execute();
}
