import { createHash, randomBytes } from 'node:crypto';
import { JacketError } from '../errors.ts';
import { formatRate, parseRate } from '../limits/rate.ts';
import type { Config } from '../config.ts';
import type { CatalogueDb } from './db.ts';
import type { DeveloperKeysTable } from './schema.ts';

/** What a developer key may do besides fetching covers. */
export const KEY_PERMISSIONS = ['upload'] as const;
export type KeyPermission = (typeof KEY_PERMISSIONS)[number];

export const NAME_MAX = 100;
export const CONTACT_MAX = 200;

export interface DeveloperKey {
  /** Public id: safe to show, log and use in listings; never authorises anything. */
  id: string;
  name: string;
  contact: string | null;
  /** null: the server default (JACKET_DEVKEY_DAILY_LIMIT). */
  dailyLimit: number | null;
  /** null: the server default (JACKET_DEVKEY_RATE_LIMIT); otherwise `1/1s`-style text or `off`. */
  rateLimit: string | null;
  permissions: KeyPermission[];
  createdAt: number;
  revokedAt: number | null;
}

export interface NewKey {
  name: string;
  contact?: string | null;
  dailyLimit?: number | null;
  rateLimit?: string | null;
  permissions?: KeyPermission[];
}

/**
 * A new secret: 256 random bits in base64url, drawn again when it would begin with `-` (one in 64), so a secret can
 * always be given to a command (`jacket keys revoke <secret>`) without being read as an option.
 */
export function newSecret(): string {
  for (;;) {
    const secret = randomBytes(32).toString('base64url');
    if (!secret.startsWith('-')) return secret;
  }
}

/** Hash of a secret as stored. Secrets are 256 random bits, so one unsalted SHA-256 cannot be inverted by guessing. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function toKey(row: DeveloperKeysTable): DeveloperKey {
  return {
    id: row.id,
    name: row.name,
    contact: row.contact,
    dailyLimit: row.daily_limit === null ? null : Number(row.daily_limit),
    rateLimit: row.rate_limit,
    permissions: row.permissions.split(',').filter((p): p is KeyPermission => (KEY_PERMISSIONS as readonly string[]).includes(p)),
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** Check and clean what a caller (HTTP body or command line) asks a key to be. Throws 400s with readable sentences. */
export function validateNewKey(input: Record<string, unknown>): NewKey {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length < 1 || name.length > NAME_MAX) throw new JacketError(400, 'invalid_name', `name must be 1 to ${NAME_MAX} characters.`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new JacketError(400, 'invalid_name', 'name must not contain control characters.');
  let contact: string | null = null;
  if (input.contact !== undefined && input.contact !== null && input.contact !== '') {
    if (typeof input.contact !== 'string' || input.contact.trim().length > CONTACT_MAX || /[\u0000-\u001f\u007f]/.test(input.contact)) {
      throw new JacketError(400, 'invalid_contact', `contact must be text of at most ${CONTACT_MAX} characters.`);
    }
    contact = input.contact.trim();
  }
  let dailyLimit: number | null = null;
  if (input.dailyLimit !== undefined && input.dailyLimit !== null) {
    const value = typeof input.dailyLimit === 'string' && /^\d+$/.test(input.dailyLimit) ? Number(input.dailyLimit) : input.dailyLimit;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new JacketError(400, 'invalid_daily_limit', 'dailyLimit must be a whole number ≥ 0 (or null for the server default).');
    }
    dailyLimit = value;
  }
  let rateLimit: string | null = null;
  if (input.rateLimit !== undefined && input.rateLimit !== null) {
    if (typeof input.rateLimit !== 'string') throw new JacketError(400, 'invalid_rate_limit', 'rateLimit must be text such as "1/1s" or "off".');
    try {
      rateLimit = formatRate(parseRate(input.rateLimit));
    } catch (error) {
      throw new JacketError(400, 'invalid_rate_limit', `rateLimit: ${(error as Error).message}.`);
    }
  }
  const permissions: KeyPermission[] = [];
  if (input.permissions !== undefined && input.permissions !== null) {
    const list = typeof input.permissions === 'string' ? input.permissions.split(',').map((p) => p.trim()).filter(Boolean) : input.permissions;
    if (!Array.isArray(list)) throw new JacketError(400, 'invalid_permissions', 'permissions must be a list, e.g. ["upload"].');
    for (const permission of list) {
      if (!(KEY_PERMISSIONS as readonly unknown[]).includes(permission)) {
        throw new JacketError(400, 'invalid_permissions', `Unknown permission ${JSON.stringify(permission)}; known: ${KEY_PERMISSIONS.join(', ')}.`);
      }
      if (!permissions.includes(permission as KeyPermission)) permissions.push(permission as KeyPermission);
    }
  }
  return { name, contact, dailyLimit, rateLimit, permissions };
}

/** Developer keys in the catalogue database: the server and the `jacket keys` command share them. */
export class KeyService {
  private readonly db: CatalogueDb;
  /** Called after a revocation has committed: answers kept in memory for the key must go (the composition root publishes it). */
  onChange?: () => void;

  constructor(db: CatalogueDb) {
    this.db = db;
  }

  /** Make a key. The secret is returned here once and never again; only its hash is stored. */
  async create(input: NewKey, now = Date.now()): Promise<{ secret: string; key: DeveloperKey }> {
    const secret = newSecret();
    const row: DeveloperKeysTable = {
      id: `k_${randomBytes(8).toString('hex')}`,
      secret_sha256: hashSecret(secret),
      name: input.name,
      contact: input.contact ?? null,
      daily_limit: input.dailyLimit ?? null,
      rate_limit: input.rateLimit ?? null,
      permissions: (input.permissions ?? []).join(','),
      created_at: now,
      revoked_at: null,
    };
    await this.db.insertInto('developer_keys').values(row).execute();
    return { secret, key: toKey(row) };
  }

  async list(): Promise<DeveloperKey[]> {
    const rows = await this.db.selectFrom('developer_keys').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toKey);
  }

  /** The key a secret belongs to, revoked or not (callers tell the two apart for a clear 403). */
  async findBySecret(secret: string): Promise<DeveloperKey | undefined> {
    if (secret.length === 0 || secret.length > 200) return undefined;
    const row = await this.db.selectFrom('developer_keys').selectAll().where('secret_sha256', '=', hashSecret(secret)).executeTakeFirst();
    return row ? toKey(row) : undefined;
  }

  async findById(id: string): Promise<DeveloperKey | undefined> {
    if (!/^k_[0-9a-f]{16}$/.test(id)) return undefined;
    const row = await this.db.selectFrom('developer_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toKey(row) : undefined;
  }

  /** A key named by its public id or by its secret. */
  async find(idOrSecret: string): Promise<DeveloperKey | undefined> {
    return (await this.findById(idOrSecret)) ?? (await this.findBySecret(idOrSecret));
  }

  /** Revoke a key (by public id or secret). Revoking twice keeps the first time. Undefined when there is no such key. */
  async revoke(idOrSecret: string, now = Date.now()): Promise<DeveloperKey | undefined> {
    const key = await this.find(idOrSecret);
    if (!key) return undefined;
    if (key.revokedAt === null) {
      await this.db.updateTable('developer_keys').set({ revoked_at: now }).where('id', '=', key.id).where('revoked_at', 'is', null).execute();
      this.onChange?.();
      return (await this.findById(key.id)) ?? key;
    }
    return key;
  }
}

export interface KeyDefaults {
  dailyLimit: number;
  /** Canonical rate text (`off`, `1/1s`). */
  rateLimit: string;
}

/** What a key without its own limits gets (JACKET_DEVKEY_DAILY_LIMIT, JACKET_DEVKEY_RATE_LIMIT). */
export function keyDefaults(config: Pick<Config, 'devkeyDailyLimit' | 'devkeyRateLimit'>): KeyDefaults {
  return { dailyLimit: config.devkeyDailyLimit, rateLimit: formatRate(config.devkeyRateLimit) };
}

/** A key as the admin API and `jacket keys list` show it: effective limits filled in, never the secret. */
export function describeKey(key: DeveloperKey, defaults: KeyDefaults) {
  return {
    id: key.id,
    name: key.name,
    contact: key.contact,
    dailyLimit: key.dailyLimit ?? defaults.dailyLimit,
    dailyLimitIsDefault: key.dailyLimit === null,
    rateLimit: key.rateLimit ?? defaults.rateLimit,
    permissions: key.permissions,
    createdAt: new Date(key.createdAt).toISOString(),
    revoked: key.revokedAt !== null,
    revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
  };
}
