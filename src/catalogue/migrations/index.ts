import type { Migration } from 'kysely';
import * as m001 from './001_openlibrary.ts';
import * as m002 from './002_coverartarchive.ts';
import * as m003 from './003_keys.ts';

/**
 * Every migration, in order. Add new ones at the end with the next number; never edit one that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '001_openlibrary': m001,
  '002_coverartarchive': m002,
  '003_keys': m003,
};
