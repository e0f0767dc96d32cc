import path from 'node:path';
import os from 'node:os';
import { parseRate, type Rate } from './limits/rate.ts';

/**
 * Every setting Jacket reads, in one place: environment name, default and meaning. The README's settings table is
 * checked against this list by a test, so a setting cannot exist without documentation.
 */
export interface Setting {
  env: string;
  default: string;
  meaning: string;
}

export const SETTINGS: Setting[] = [
  { env: 'PORT', default: '8080', meaning: 'TCP port to listen on.' },
  { env: 'HOST', default: '127.0.0.1', meaning: 'Address to listen on (`0.0.0.0` for every interface).' },
  { env: 'JACKET_DATA_DIR', default: './data', meaning: 'Catalogue database and image files of the embedded default.' },
  {
    env: 'JACKET_ADMIN_TOKEN',
    default: '(generated)',
    meaning:
      'Administrator credential, sent as `Authorization: Bearer <token>`. If unset on first start, one is generated, printed once, and only its hash is stored.',
  },
  { env: 'JACKET_MAX_UPLOAD_BYTES', default: '20000000', meaning: 'Largest accepted upload body in bytes; larger bodies are refused before they are read into memory.' },
  { env: 'JACKET_MAX_PIXELS', default: '50000000', meaning: 'Largest accepted image in pixels (width × height), checked from the header before decoding.' },
  { env: 'JACKET_PUBLIC_URL', default: '(none)', meaning: 'Public base URL (e.g. `https://covers.example.org`) used in absolute URLs and redirects.' },
  { env: 'JACKET_TRUST_PROXY', default: 'false', meaning: 'Trust `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` from a reverse proxy.' },
  {
    env: 'JACKET_SOURCE_URL_HOSTS',
    default: '(empty: feature off)',
    meaning: 'Comma-separated host names that `source_url` uploads may download from (`*.example.org` matches subdomains).',
  },
  {
    env: 'JACKET_SOURCE_URL_ALLOW_PRIVATE',
    default: 'false',
    meaning: 'Allow `source_url` downloads, and mirror redirects to a host other than the upstream, from loopback and private-network addresses (only for closed networks and tests); link-local addresses such as cloud metadata stay refused.',
  },
  { env: 'JACKET_SOURCE_URL_TIMEOUT_MS', default: '10000', meaning: 'Time limit for a whole `source_url` download, redirects included.' },
  { env: 'JACKET_IMAGE_CONCURRENCY', default: '(number of cores)', meaning: 'Image operations (resize/encode) run at once.' },
  { env: 'JACKET_IMAGE_QUEUE', default: '64', meaning: 'Image operations that may wait for a worker; beyond this, requests get 503 with `Retry-After`.' },
  { env: 'JACKET_RENDITION_CACHE_MB', default: '256', meaning: 'Memory for the in-process cache of hot rendition bytes, in MiB.' },
  { env: 'JACKET_MIN_FREE_MB', default: '512', meaning: 'Free space on the data folder\'s disk, in MiB, below which `/readyz` reports `disk` down (before writes start failing with 507).' },
  {
    env: 'JACKET_HOT_FRONT',
    default: 'true',
    meaning: 'Answer plain `GET`s of hot image URLs straight from the socket, before Node\'s HTTP parser (see README "Performance design"); `false` leaves every request to Node\'s HTTP server.',
  },
  { env: 'JACKET_CAA_ID_TYPE', default: 'string', meaning: '`string` or `number`: the JSON type of image ids in Cover Art Archive `index.json`.' },
  { env: 'JACKET_MUSICBRAINZ_URL', default: 'https://musicbrainz.org', meaning: 'Base of the `release` links in Cover Art Archive listings.' },
  { env: 'JACKET_UPSTREAM_OPENLIBRARY', default: '(none: mirror off)', meaning: 'Mirror mode: base URL of an Open Library Covers-compatible service asked on a local miss.' },
  { env: 'JACKET_UPSTREAM_COVERARTARCHIVE', default: '(none: mirror off)', meaning: 'Mirror mode: base URL of a Cover Art Archive-compatible service asked on a local miss.' },
  { env: 'JACKET_UPSTREAM_RATE', default: '1/1s', meaning: 'Requests per interval to each upstream (`N/[k]ms|s|m|h`), shared by all misses; redirect hops count.' },
  {
    env: 'JACKET_STATS_FLUSH_INTERVAL',
    default: '1m',
    meaning: 'How often the request and rendition counts of the statistics page are added to the catalogue database (`30s`, `10m`, or seconds); counts of the last interval are lost if the process is killed.',
  },
  { env: 'JACKET_UPSTREAM_NEGATIVE_TTL', default: '1h', meaning: 'How long "the upstream has no such cover" is remembered (`30s`, `10m`, `1h`, or seconds).' },
  { env: 'JACKET_UPSTREAM_TIMEOUT_MS', default: '10000', meaning: 'Longest a miss waits for the upstream (rate-gate wait plus the request) before answering 503.' },
  {
    env: 'JACKET_MODERATION',
    default: 'false',
    meaning: 'Uploads wait as `pending` (served to nobody) until an administrator approves them (`/api/v1/moderation`, the web UI).',
  },
  { env: 'LOG_LEVEL', default: 'info', meaning: 'pino log level (`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`).' },
  { env: 'JACKET_DEVKEY_DAILY_LIMIT', default: '1000', meaning: 'Renditions a developer key may have made from originals per UTC day, unless the key sets its own limit.' },
  {
    env: 'JACKET_DEVKEY_RATE_LIMIT',
    default: 'off',
    meaning: 'Request rate per developer key on `/devkey/…` unless the key sets its own (`1/1s` is "one cover per second"); over it: 429 with `Retry-After`.',
  },
  { env: 'JACKET_KEY_SIGNUP', default: 'false', meaning: 'Allow self-service developer keys through `POST /api/v1/keys/signup`.' },
  {
    env: 'JACKET_AUTH_FAILURE_LIMIT',
    default: '20/1m',
    meaning: 'Wrong admin tokens or developer keys per client IP (`off` to disable); past it the client gets 429 with `Retry-After` and its credentials are not checked.',
  },
  { env: 'JACKET_KEY_SIGNUP_RATE_LIMIT', default: '10/1h', meaning: 'Self-service sign-ups per client IP (`off` to disable); over it: 429 with `Retry-After`.' },
  {
    env: 'JACKET_OL_RATE_LIMIT',
    default: '100/5m',
    meaning: 'Open Library lookups by identifiers other than `id`/`olid`, per client IP (`COUNT/WINDOW` with s, m, h or d, or `off`). A valid developer key lifts it.',
  },
  { env: 'JACKET_OL_RATE_LIMIT_STATUS', default: '403', meaning: 'Status for the Open Library rate limit: `403` (as the original) or `429`; both carry `Retry-After`.' },
  { env: 'JACKET_CAA_RATE_LIMIT', default: 'off', meaning: 'Cover Art Archive requests per client IP (`COUNT/WINDOW` or `off`); over it: 503 with `Retry-After`.' },
  {
    env: 'JACKET_IIIF_RATE_LIMIT',
    default: '300/1m',
    meaning: 'IIIF image requests that must be rendered (any size not listed in `info.json`, not already in memory), per client IP (`COUNT/WINDOW` or `off`); over it: 429 with `Retry-After`. A valid developer key lifts it.',
  },
  { env: 'JACKET_IIIF_MAX_AREA', default: '16777216', meaning: 'Largest IIIF image made, in pixels (width × height; `maxArea` in `info.json`); larger sizes are refused with 400, `max` stays within it.' },
  { env: 'DATABASE_URL', default: '(none: SQLite in JACKET_DATA_DIR)', meaning: '`postgres://user:password@host:5432/db` puts the catalogue in PostgreSQL (scale-out); migrations run on start.' },
  {
    env: 'JACKET_STORAGE',
    default: '(JACKET_DATA_DIR/blobs)',
    meaning: 'Where image bytes live: a local folder, or `s3://bucket/prefix` for any S3-compatible object store (credentials from the AWS settings below).',
  },
  { env: 'AWS_ACCESS_KEY_ID', default: '(AWS SDK default chain)', meaning: 'S3 access key; when unset the AWS SDK looks for credentials as usual (profile, instance role).' },
  { env: 'AWS_SECRET_ACCESS_KEY', default: '(AWS SDK default chain)', meaning: 'S3 secret key, with `AWS_ACCESS_KEY_ID`.' },
  { env: 'AWS_SESSION_TOKEN', default: '(none)', meaning: 'S3 session token of temporary credentials, with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.' },
  { env: 'AWS_REGION', default: 'us-east-1', meaning: 'S3 region (most S3-compatible servers accept any).' },
  { env: 'AWS_ENDPOINT_URL_S3', default: '(AWS)', meaning: 'Endpoint of an S3-compatible server (MinIO, Ceph, Garage, s3rver), e.g. `http://minio:9000`.' },
  { env: 'JACKET_S3_FORCE_PATH_STYLE', default: 'false', meaning: '`true` addresses buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key` (most self-hosted S3 servers need it).' },
  {
    env: 'REDIS_URL',
    default: '(none: per-instance)',
    meaning: '`redis://host:6379` shares rate limits, quotas and cache-invalidation messages between instances. Losing Redis degrades to per-instance limits with a warning.',
  },
  { env: 'JACKET_REDIS_PREFIX', default: 'jacket:', meaning: 'Prefix of every Redis key and channel Jacket uses, so several installations can share one Redis.' },
  { env: 'JACKET_METRICS_PORT', default: '(main port)', meaning: 'Serve `GET /metrics` on this separate port (same `HOST`) instead of the main one.' },
  { env: 'JACKET_SHUTDOWN_TIMEOUT', default: '15', meaning: 'Seconds a SIGTERM/SIGINT waits for in-flight requests and writes before forcing the exit.' },
  { env: 'JACKET_TLS_CERT', default: '(none)', meaning: 'PEM certificate (chain) file; with `JACKET_TLS_KEY`, Jacket serves HTTPS itself, HTTP/2 where the client offers it.' },
  { env: 'JACKET_TLS_KEY', default: '(none)', meaning: 'PEM private key file for `JACKET_TLS_CERT`.' },
];

/** Where image bytes live: a folder, or an S3 bucket and key prefix. */
export type StorageConfig =
  | { kind: 'fs'; root: string }
  | {
      kind: 's3';
      bucket: string;
      /** Key prefix inside the bucket, '' or ending in '/'. */
      prefix: string;
      region: string;
      endpoint: string | undefined;
      forcePathStyle: boolean;
      /** Explicit credentials; when absent the AWS SDK's default provider chain finds them. */
      credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
    };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  adminToken: string | undefined;
  maxUploadBytes: number;
  maxPixels: number;
  publicUrl: string | undefined;
  trustProxy: boolean;
  sourceUrlHosts: string[];
  sourceUrlAllowPrivate: boolean;
  sourceUrlTimeoutMs: number;
  imageConcurrency: number;
  imageQueue: number;
  renditionCacheBytes: number;
  /** Free bytes on the data folder's disk below which readiness reports the disk. */
  minFreeBytes: number;
  hotFront: boolean;
  caaIdType: 'string' | 'number';
  musicbrainzUrl: string;
  logLevel: string;
  devkeyDailyLimit: number;
  devkeyRateLimit: Rate | undefined;
  keySignup: boolean;
  keySignupRateLimit: Rate | undefined;
  authFailureLimit: Rate | undefined;
  olRateLimit: Rate | undefined;
  olRateLimitStatus: 403 | 429;
  caaRateLimit: Rate | undefined;
  iiifRateLimit: Rate | undefined;
  iiifMaxArea: number;
  upstreamOpenLibrary: string | undefined;
  upstreamCoverArtArchive: string | undefined;
  upstreamRate: Rate;
  upstreamNegativeTtlMs: number;
  /** JACKET_STATS_FLUSH_INTERVAL: how often usage counts go to the database (src/usage.ts). */
  statsFlushMs: number;
  upstreamTimeoutMs: number;
  moderation: boolean;
  /** `postgres://…` selects PostgreSQL; undefined means SQLite inside dataDir. */
  databaseUrl: string | undefined;
  storage: StorageConfig;
  redisUrl: string | undefined;
  redisPrefix: string;
  /** A separate port for `/metrics`; undefined serves it on the main port. */
  metricsPort: number | undefined;
  shutdownTimeoutMs: number;
  tlsCertPath: string | undefined;
  tlsKeyPath: string | undefined;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

const DOCUMENTED_DEFAULTS = new Map(SETTINGS.map((setting) => [setting.env, setting.default]));

/**
 * A setting's value: as set, else its default as SETTINGS documents it (each default is written there once). A
 * default in parentheses describes the absence of a value ("(none)", "(number of cores)"): undefined then. Reading
 * a name SETTINGS does not list is a bug, so it throws.
 */
function str(env: Env, name: string): string | undefined {
  const documented = DOCUMENTED_DEFAULTS.get(name);
  if (documented === undefined) throw new Error(`${name} is read but not documented in SETTINGS`);
  const value = env[name];
  if (value !== undefined && value.trim() !== '') return value.trim();
  return documented.startsWith('(') ? undefined : documented;
}

function int(env: Env, name: string, min = 0): number {
  const raw = str(env, name);
  if (raw === undefined) throw new Error(`${name} has no documented default`);
  const cleaned = raw.replace(/_/g, '');
  if (!/^\d+$/.test(cleaned)) throw new ConfigError(`${name} must be a whole number, not "${raw}"`);
  const value = Number(cleaned);
  if (value < min) throw new ConfigError(`${name} must be at least ${min}, not ${value}`);
  return value;
}

function bool(env: Env, name: string): boolean {
  const raw = str(env, name) ?? 'false';
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, not "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[]): T {
  const raw = str(env, name) ?? '';
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, not "${raw}"`);
  return raw as T;
}

function url(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, not "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL`);
  return raw.replace(/\/+$/, '');
}

function rate(env: Env, name: string): Rate | undefined {
  try {
    return parseRate(str(env, name));
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `10m`, `1h`, `2d`, or plain seconds → milliseconds. */
export function parseDuration(raw: string): number | undefined {
  const match = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/i.exec(raw);
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[(match[2] ?? 's').toLowerCase()]!;
}

function duration(env: Env, name: string): number {
  const raw = str(env, name) ?? '';
  const value = parseDuration(raw);
  if (value === undefined) throw new ConfigError(`${name} must be a duration like 30s, 10m or 1h, not "${raw}"`);
  return value;
}

/** A rate that must be set (no `off`): the mirror's politeness towards its upstream. */
function requiredRate(env: Env, name: string): Rate {
  const value = rate(env, name);
  if (!value) throw new ConfigError(`${name} cannot be off: the upstream must be asked at some rate, e.g. 1/1s`);
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  return {
    port: int(env, 'PORT'),
    host: str(env, 'HOST')!,
    dataDir: path.resolve(str(env, 'JACKET_DATA_DIR')!),
    adminToken: str(env, 'JACKET_ADMIN_TOKEN'),
    maxUploadBytes: int(env, 'JACKET_MAX_UPLOAD_BYTES', 1),
    maxPixels: int(env, 'JACKET_MAX_PIXELS', 1),
    publicUrl: url(env, 'JACKET_PUBLIC_URL'),
    trustProxy: bool(env, 'JACKET_TRUST_PROXY'),
    sourceUrlHosts: (str(env, 'JACKET_SOURCE_URL_HOSTS') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    sourceUrlAllowPrivate: bool(env, 'JACKET_SOURCE_URL_ALLOW_PRIVATE'),
    sourceUrlTimeoutMs: int(env, 'JACKET_SOURCE_URL_TIMEOUT_MS', 1),
    imageConcurrency: str(env, 'JACKET_IMAGE_CONCURRENCY') === undefined ? Math.max(1, os.availableParallelism()) : int(env, 'JACKET_IMAGE_CONCURRENCY', 1),
    imageQueue: int(env, 'JACKET_IMAGE_QUEUE'),
    renditionCacheBytes: int(env, 'JACKET_RENDITION_CACHE_MB') * 1024 * 1024,
    minFreeBytes: int(env, 'JACKET_MIN_FREE_MB') * 1024 * 1024,
    hotFront: bool(env, 'JACKET_HOT_FRONT'),
    caaIdType: oneOf(env, 'JACKET_CAA_ID_TYPE', ['string', 'number'] as const),
    musicbrainzUrl: url(env, 'JACKET_MUSICBRAINZ_URL')!,
    logLevel: str(env, 'LOG_LEVEL')!,
    devkeyDailyLimit: int(env, 'JACKET_DEVKEY_DAILY_LIMIT'),
    devkeyRateLimit: rate(env, 'JACKET_DEVKEY_RATE_LIMIT'),
    keySignup: bool(env, 'JACKET_KEY_SIGNUP'),
    keySignupRateLimit: rate(env, 'JACKET_KEY_SIGNUP_RATE_LIMIT'),
    authFailureLimit: rate(env, 'JACKET_AUTH_FAILURE_LIMIT'),
    olRateLimit: rate(env, 'JACKET_OL_RATE_LIMIT'),
    olRateLimitStatus: Number(oneOf(env, 'JACKET_OL_RATE_LIMIT_STATUS', ['403', '429'] as const)) as 403 | 429,
    caaRateLimit: rate(env, 'JACKET_CAA_RATE_LIMIT'),
    iiifRateLimit: rate(env, 'JACKET_IIIF_RATE_LIMIT'),
    iiifMaxArea: int(env, 'JACKET_IIIF_MAX_AREA', 1),
    upstreamOpenLibrary: url(env, 'JACKET_UPSTREAM_OPENLIBRARY'),
    upstreamCoverArtArchive: url(env, 'JACKET_UPSTREAM_COVERARTARCHIVE'),
    upstreamRate: requiredRate(env, 'JACKET_UPSTREAM_RATE'),
    upstreamNegativeTtlMs: duration(env, 'JACKET_UPSTREAM_NEGATIVE_TTL'),
    statsFlushMs: duration(env, 'JACKET_STATS_FLUSH_INTERVAL'),
    upstreamTimeoutMs: int(env, 'JACKET_UPSTREAM_TIMEOUT_MS', 1),
    moderation: bool(env, 'JACKET_MODERATION'),
    databaseUrl: databaseUrl(env),
    storage: storage(env, path.resolve(str(env, 'JACKET_DATA_DIR')!)),
    redisUrl: redisUrl(env),
    redisPrefix: str(env, 'JACKET_REDIS_PREFIX')!,
    metricsPort: str(env, 'JACKET_METRICS_PORT') === undefined ? undefined : int(env, 'JACKET_METRICS_PORT'),
    shutdownTimeoutMs: int(env, 'JACKET_SHUTDOWN_TIMEOUT', 1) * 1000,
    ...tlsPaths(env),
  };
}

function databaseUrl(env: Env): string | undefined {
  const raw = str(env, 'DATABASE_URL');
  if (raw === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//i.test(raw)) throw new ConfigError('DATABASE_URL must be a postgres:// URL (leave it unset for the embedded SQLite catalogue)');
  return raw;
}

function redisUrl(env: Env): string | undefined {
  const raw = str(env, 'REDIS_URL');
  if (raw === undefined) return undefined;
  if (!/^rediss?:\/\//i.test(raw)) throw new ConfigError(`REDIS_URL must be a redis:// or rediss:// URL, not "${raw}"`);
  return raw;
}

function storage(env: Env, dataDir: string): StorageConfig {
  const raw = str(env, 'JACKET_STORAGE');
  if (raw === undefined) return { kind: 'fs', root: path.join(dataDir, 'blobs') };
  if (!/^s3:\/\//i.test(raw)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw new ConfigError(`JACKET_STORAGE must be a local path or s3://bucket/prefix, not "${raw}"`);
    return { kind: 'fs', root: path.resolve(raw) };
  }
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/i.exec(raw);
  if (!match) throw new ConfigError(`JACKET_STORAGE must look like s3://bucket/prefix, not "${raw}"`);
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  const accessKeyId = str(env, 'AWS_ACCESS_KEY_ID');
  const secretAccessKey = str(env, 'AWS_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  }
  return {
    kind: 's3',
    bucket: match[1]!,
    prefix: prefix ? `${prefix}/` : '',
    region: str(env, 'AWS_REGION')!,
    endpoint: url(env, 'AWS_ENDPOINT_URL_S3'),
    forcePathStyle: bool(env, 'JACKET_S3_FORCE_PATH_STYLE'),
    credentials:
      accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(str(env, 'AWS_SESSION_TOKEN') ? { sessionToken: str(env, 'AWS_SESSION_TOKEN')! } : {}) } : undefined,
  };
}

function tlsPaths(env: Env): { tlsCertPath: string | undefined; tlsKeyPath: string | undefined } {
  const cert = str(env, 'JACKET_TLS_CERT');
  const key = str(env, 'JACKET_TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('JACKET_TLS_CERT and JACKET_TLS_KEY must be set together');
  return { tlsCertPath: cert && path.resolve(cert), tlsKeyPath: key && path.resolve(key) };
}
