import type { Kysely } from 'kysely';

/**
 * The rest of the request paths, O(log n + page) at any catalogue size (the plans are read by test/query-plans):
 * - the collection listing of every cover, newest first, reads (created_at, id) in order instead of sorting them all;
 * - the moderation queue of release images reads pending images oldest first, as 015 does for covers;
 * - an uploader's question whether an image was removed finds its edit by image id instead of reading the edit log.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('covers_created_id').on('covers').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('caa_images_status_created').on('caa_images').columns(['status', 'created_at', 'id']).execute();
  await db.schema.createIndex('caa_edits_image').on('caa_edits').column('image_id').execute();
}
