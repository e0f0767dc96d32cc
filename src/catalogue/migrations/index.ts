import type { Migration } from 'kysely';
import * as m001 from './001_openlibrary.ts';
import * as m002BulkLinks from './002_bulk_links.ts';

/**
 * Every migration, in order. Add new ones at the end with the next number; never edit one that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '001_openlibrary': m001,
  '002_bulk_links': m002BulkLinks,
};
