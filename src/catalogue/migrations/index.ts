import type { Migration } from 'kysely';
import * as m001 from './001_openlibrary.ts';
import * as m002 from './002_coverartarchive.ts';
import * as m003 from './003_keys.ts';
import * as m010 from './010_mirror.ts';
import * as m011 from './011_caa_image_status.ts';
import * as m012 from './012_bulk_links.ts';
import * as m013 from './013_mirror_releases.ts';
import * as m014 from './014_blob_indexes.ts';
import * as m015 from './015_request_path_indexes.ts';
import * as m016 from './016_listing_indexes.ts';
import * as m017 from './017_titles.ts';
import * as m018 from './018_usage.ts';

/**
 * Every migration, in order (Kysely runs them sorted by name). Add new ones with the next free number; never edit
 * one that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '001_openlibrary': m001,
  '002_coverartarchive': m002,
  '003_keys': m003,
  '010_mirror': m010,
  '011_caa_image_status': m011,
  '012_bulk_links': m012,
  '013_mirror_releases': m013,
  '014_blob_indexes': m014,
  '015_request_path_indexes': m015,
  '016_listing_indexes': m016,
  '017_titles': m017,
  '018_usage': m018,
};
