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
  developer_keys: DeveloperKeysTable;
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
