import path from 'node:path';
import os from 'node:os';

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
    meaning: 'Allow `source_url` downloads from loopback, private and link-local addresses (only for closed networks and tests).',
  },
  { env: 'JACKET_SOURCE_URL_TIMEOUT_MS', default: '10000', meaning: 'Time limit for a whole `source_url` download, redirects included.' },
  { env: 'JACKET_IMAGE_CONCURRENCY', default: '(number of cores)', meaning: 'Image operations (resize/encode) run at once.' },
  { env: 'JACKET_IMAGE_QUEUE', default: '64', meaning: 'Image operations that may wait for a worker; beyond this, requests get 503 with `Retry-After`.' },
  { env: 'JACKET_RENDITION_CACHE_MB', default: '256', meaning: 'Memory for the in-process cache of hot rendition bytes, in MiB.' },
  { env: 'JACKET_CAA_ID_TYPE', default: 'string', meaning: '`string` or `number`: the JSON type of image ids in Cover Art Archive `index.json`.' },
  { env: 'JACKET_MUSICBRAINZ_URL', default: 'https://musicbrainz.org', meaning: 'Base of the `release` links in Cover Art Archive listings.' },
  { env: 'LOG_LEVEL', default: 'info', meaning: 'pino log level (`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`).' },
  { env: 'JACKET_METRICS_PORT', default: '(main port)', meaning: 'Serve `GET /metrics` on this separate port (same `HOST`) instead of the main one.' },
  { env: 'JACKET_SHUTDOWN_TIMEOUT', default: '15', meaning: 'Seconds a SIGTERM/SIGINT waits for in-flight requests and writes before forcing the exit.' },
  { env: 'JACKET_TLS_CERT', default: '(none)', meaning: 'PEM certificate (chain) file; with `JACKET_TLS_KEY`, Jacket serves HTTPS itself, HTTP/2 where the client offers it.' },
  { env: 'JACKET_TLS_KEY', default: '(none)', meaning: 'PEM private key file for `JACKET_TLS_CERT`.' },
];

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
  caaIdType: 'string' | 'number';
  musicbrainzUrl: string;
  logLevel: string;
  /** A separate port for `/metrics`; undefined serves it on the main port. */
  metricsPort: number | undefined;
  shutdownTimeoutMs: number;
  tlsCertPath: string | undefined;
  tlsKeyPath: string | undefined;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const cleaned = raw.replace(/_/g, '');
  if (!/^\d+$/.test(cleaned)) throw new ConfigError(`${name} must be a whole number, not "${raw}"`);
  const value = Number(cleaned);
  if (value < min) throw new ConfigError(`${name} must be at least ${min}, not ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, not "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
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

export function loadConfig(env: Env = process.env): Config {
  return {
    port: int(env, 'PORT', 8080),
    host: str(env, 'HOST') ?? '127.0.0.1',
    dataDir: path.resolve(str(env, 'JACKET_DATA_DIR') ?? './data'),
    adminToken: str(env, 'JACKET_ADMIN_TOKEN'),
    maxUploadBytes: int(env, 'JACKET_MAX_UPLOAD_BYTES', 20_000_000, 1),
    maxPixels: int(env, 'JACKET_MAX_PIXELS', 50_000_000, 1),
    publicUrl: url(env, 'JACKET_PUBLIC_URL'),
    trustProxy: bool(env, 'JACKET_TRUST_PROXY', false),
    sourceUrlHosts: (str(env, 'JACKET_SOURCE_URL_HOSTS') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    sourceUrlAllowPrivate: bool(env, 'JACKET_SOURCE_URL_ALLOW_PRIVATE', false),
    sourceUrlTimeoutMs: int(env, 'JACKET_SOURCE_URL_TIMEOUT_MS', 10_000, 1),
    imageConcurrency: int(env, 'JACKET_IMAGE_CONCURRENCY', Math.max(1, os.availableParallelism()), 1),
    imageQueue: int(env, 'JACKET_IMAGE_QUEUE', 64, 0),
    renditionCacheBytes: int(env, 'JACKET_RENDITION_CACHE_MB', 256, 0) * 1024 * 1024,
    caaIdType: oneOf(env, 'JACKET_CAA_ID_TYPE', ['string', 'number'] as const, 'string'),
    musicbrainzUrl: url(env, 'JACKET_MUSICBRAINZ_URL') ?? 'https://musicbrainz.org',
    logLevel: str(env, 'LOG_LEVEL') ?? 'info',
    metricsPort: str(env, 'JACKET_METRICS_PORT') === undefined ? undefined : int(env, 'JACKET_METRICS_PORT', 0),
    shutdownTimeoutMs: int(env, 'JACKET_SHUTDOWN_TIMEOUT', 15, 1) * 1000,
    ...tlsPaths(env),
  };
}

function tlsPaths(env: Env): { tlsCertPath: string | undefined; tlsKeyPath: string | undefined } {
  const cert = str(env, 'JACKET_TLS_CERT');
  const key = str(env, 'JACKET_TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('JACKET_TLS_CERT and JACKET_TLS_KEY must be set together');
  return { tlsCertPath: cert && path.resolve(cert), tlsKeyPath: key && path.resolve(key) };
}
