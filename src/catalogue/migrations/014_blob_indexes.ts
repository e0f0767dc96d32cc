import type { Kysely } from 'kysely';

/**
 * `jacket fsck` asks, for each piece of garbage it is about to remove, whether a row took the blob meanwhile (by blob
 * key, or for a rendition by its original's sha256): without these indexes each such question read a whole table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('covers_blob_key').on('covers').column('blob_key').execute();
  await db.schema.createIndex('caa_images_blob_key').on('caa_images').column('blob_key').execute();
  await db.schema.createIndex('caa_images_sha256').on('caa_images').column('sha256').execute();
}
