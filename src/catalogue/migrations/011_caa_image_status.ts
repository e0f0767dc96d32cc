import type { Kysely } from 'kysely';

/**
 * Jacket's own moderation state of a release image (issue 8), apart from `approved`, the CAA field a mirror or an
 * import copies from the upstream archive (whose unapproved images are still served there). Rows that exist already
 * stay `approved`: served exactly as before the column existed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('caa_images').addColumn('status', 'varchar(16)', (c) => c.notNull().defaultTo('approved')).execute();
}
