import type { Kysely } from 'kysely';

/**
 * Indexes that keep every request's statement O(log n + page) however large the catalogue grows:
 * - recent covers order by (modified_at, id): a bulk import gives thousands of covers one timestamp, and with an index
 *   on modified_at alone the database sorted all of them to break the tie by id;
 * - the moderation queue reads pending covers oldest first straight from (status, created_at, id) instead of
 *   filtering the whole table.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('covers_modified_id').on('covers').columns(['modified_at', 'id']).execute();
  await db.schema.dropIndex('covers_modified').execute();
  await db.schema.createIndex('covers_status_created').on('covers').columns(['status', 'created_at', 'id']).execute();
}
