/**
 * The catalogue schema as a TypeScript type. Timestamps are milliseconds since the epoch (bigint), booleans are 0/1
 * integers: the same columns work on SQLite and PostgreSQL.
 */
export interface Database {
  settings: SettingsTable;
  sequences: SequencesTable;
  entities: EntitiesTable;
  covers: CoversTable;
  identifiers: IdentifiersTable;
  mirror_entries: MirrorEntriesTable;
  mirror_releases: MirrorReleasesTable;
  caa_releases: CaaReleasesTable;
  caa_release_groups: CaaReleaseGroupsTable;
  caa_merges: CaaMergesTable;
  caa_images: CaaImagesTable;
  caa_edits: CaaEditsTable;
  developer_keys: DeveloperKeysTable;
  pending_cover_links: PendingCoverLinksTable;
  titles: TitlesTable;
  usage_days: UsageDaysTable;
  usage_covers: UsageCoversTable;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface SequencesTable {
  name: string;
  value: number;
}

export interface EntitiesTable {
  olid: string;
  kind: 'edition' | 'work' | 'author';
  created_at: number;
}

/** The columns of a stored original (covers and release images alike): where its bytes are, what they are, its upright size. */
export interface StoredImageColumns {
  blob_key: string;
  sha256: string;
  mime: string;
  width: number;
  height: number;
  byte_size: number;
}

export interface CoversTable extends StoredImageColumns {
  id: number;
  category: 'b' | 'a' | 'w';
  olid: string | null;
  source_url: string | null;
  author: string | null;
  created_at: number;
  modified_at: number;
  deleted: number;
  /** Moderation state: `approved` covers are served; `pending` and `rejected` are served to nobody. */
  status: 'approved' | 'pending' | 'rejected';
}

/**
 * An identifier attached to an edition (`olid`) or, when the upload named no edition, directly to a cover
 * (`cover_id`). The unused target column holds '' or 0 so the four columns can form the primary key.
 */
export interface IdentifiersTable {
  scheme: string;
  value: string;
  olid: string;
  cover_id: number;
  created_at: number;
}

export interface MirrorReleasesTable {
  release: string;
  upstream: string;
  fetched_at: number;
}

export interface MirrorEntriesTable {
  cover_id: number;
  upstream: string;
  upstream_id: number;
  source_url: string;
  fetched_at: number;
}

/** A MusicBrainz release known to the Cover Art Archive dialect; the date keeps its precision (month/day may be null). */
export interface CaaReleasesTable {
  mbid: string;
  release_group: string | null;
  date_year: number | null;
  date_month: number | null;
  date_day: number | null;
  created_at: number;
}

export interface CaaReleaseGroupsTable {
  mbid: string;
  /** The release explicitly chosen to represent the group, if any. */
  chosen_release: string | null;
}

/** An MBID merged into another: the old one keeps answering for the new one. */
export interface CaaMergesTable {
  old_mbid: string;
  new_mbid: string;
  entity: 'release' | 'release-group';
  created_at: number;
}

export interface CaaImagesTable extends StoredImageColumns {
  id: number;
  release: string;
  /** 1-based ordering on the release. */
  position: number;
  /** Comma-separated CAA type ids, ascending (e.g. `1,14`). */
  types: string;
  comment: string;
  /** The CAA `approved` field (copied from the upstream by a mirror or an import). */
  approved: number;
  /**
   * Jacket's moderation (migration 011): `approved` images are served; `pending` ones are listed with
   * `approved: false` but served to nobody; `rejected` ones are kept for audit and left out of everything public.
   */
  status: 'approved' | 'pending' | 'rejected';
  edit_id: number;
  created_at: number;
}

/** The edit log: every change to release art gets an id (the `edit` field of index.json). */
export interface CaaEditsTable {
  id: number;
  action: string;
  release: string;
  image_id: number | null;
  created_at: number;
}

/**
 * Developer keys (migration 003). Only the SHA-256 of the secret is kept: secrets are 32 random bytes, so a plain
 * hash cannot be reversed by guessing. `daily_limit` null means the JACKET_DEVKEY_DAILY_LIMIT default; `rate_limit`
 * null means the JACKET_DEVKEY_RATE_LIMIT default (text such as `1/1s` or `off`).
 */
export interface DeveloperKeysTable {
  id: string;
  secret_sha256: string;
  name: string;
  contact: string | null;
  daily_limit: number | null;
  rate_limit: string | null;
  /** Comma-separated permissions (`upload`), '' for none. */
  permissions: string;
  created_at: number;
  revoked_at: number | null;
}
/** A cover → entity link known before the cover was imported (editions dump, identifier mapping). */
export interface PendingCoverLinksTable {
  cover_id: number;
  olid: string;
  kind: 'edition' | 'work' | 'author';
  created_at: number;
}
/**
 * A title and its authors, on an edition (`olid`, `cover_id` 0) or on a cover without one (`olid` ''), as identifiers
 * are attached. The `_words` columns are what the text search indexes (see catalogue/titles.ts).
 */
export interface TitlesTable {
  olid: string;
  cover_id: number;
  title: string;
  /** Author names, one per line. */
  authors: string;
  /** Open Library author ids (`OL26320A`), comma-separated. */
  author_keys: string;
  title_words: string;
  author_words: string;
  created_at: number;
}

/** Image requests and renditions made on one UTC day (`2026-12-03`), added to by every instance (src/usage.ts). */
export interface UsageDaysTable {
  day: string;
  requests: number;
  renditions: number;
}

/** Requests for one cover on one UTC day: the most requested covers of each flush interval (src/usage.ts). */
export interface UsageCoversTable {
  day: string;
  cover_id: number;
  requests: number;
}
