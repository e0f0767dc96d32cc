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
  pending_cover_links: PendingCoverLinksTable;
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

export interface CoversTable {
  id: number;
  category: 'b' | 'a' | 'w';
  olid: string | null;
  blob_key: string;
  sha256: string;
  mime: string;
  width: number;
  height: number;
  byte_size: number;
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

/** A cover → entity link known before the cover was imported (editions dump, identifier mapping). */
export interface PendingCoverLinksTable {
  cover_id: number;
  olid: string;
  kind: 'edition' | 'work' | 'author';
  created_at: number;
}
