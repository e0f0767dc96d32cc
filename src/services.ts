import pino from 'pino';
import { Auth } from './auth.ts';
import { LocalChangeBus, type ChangeBus } from './changes.ts';
import { openCatalogue, type CatalogueDb } from './catalogue/db.ts';
import { CoverCatalogue } from './catalogue/covers.ts';
import { KeyService } from './catalogue/keys.ts';
import { ReleaseCatalogue } from './catalogue/releases.ts';
import type { Config } from './config.ts';
import { Delivery } from './delivery/answer.ts';
import { UsageCounter } from './usage.ts';
import { Resolver } from './delivery/resolve.ts';
import type { Hooks } from './hooks.ts';
import type { HotResponses } from './http/hot-responses.ts';
import { Ingest } from './ingest.ts';
import { intakePolicy, type IntakePolicy } from './intake.ts';
import type { LimitStore } from './limits/limit-store.ts';
import { MemoryLimitStore } from './limits/memory.ts';
import { AuthFailures } from './limits/auth-failures.ts';
import { liveLimitStore, publicLimitHooks } from './limits/public.ts';
import { Metrics } from './metrics.ts';
import { CoverArtArchiveMirror } from './mirror/coverartarchive.ts';
import { OpenLibraryMirror } from './mirror/openlibrary.ts';
import { Upstream } from './mirror/upstream.ts';
import type { RedisLog } from './redis/connect.ts';
import { RenditionEngine } from './renditions/engine.ts';
import type { RedisRenditionCoordinator } from './renditions/redis-coordinator.ts';
import type { BlobStore } from './storage/blobstore.ts';
import { MeasuredBlobStore } from './storage/measured.ts';
import { openBlobStore } from './storage/open.ts';

/** Everything the HTTP layer and the commands use, built once from the configuration. No globals elsewhere. */
export interface Services {
  config: Config;
  db: CatalogueDb;
  catalogue: CoverCatalogue;
  /** Cover Art Archive releases, release groups, merges and release images. */
  releases: ReleaseCatalogue;
  blobs: BlobStore;
  renditions: RenditionEngine;
  /** Image delivery for every dialect: identifier → image (delivery.resolve), then the answer (src/delivery/). */
  delivery: Delivery;
  auth: Auth;
  ingest: Ingest;
  /** The limits every image entering is held to, whichever way it comes (src/intake.ts). */
  intake: IntakePolicy;
  hooks: Hooks;
  limits: LimitStore;
  changes: ChangeBus;
  /** Developer keys (issue 4). */
  keys: KeyService;
  /** Requests and renditions per day, kept in the catalogue for the statistics page (src/usage.ts). */
  usage: UsageCounter;
  /** Prometheus metrics of this instance (its own registry): upstream latency, limit refusals … (src/metrics.ts). */
  metrics: Metrics;
  /** Uploads wait as pending until approved (issue 8 sets it from JACKET_MODERATION). */
  moderation: boolean;
  mirror: { openLibrary?: OpenLibraryMirror; coverArtArchive?: CoverArtArchiveMirror };
  /** The hot-hit table in front of Fastify (set by buildApp; see http/hot-responses.ts). */
  hotResponses?: HotResponses;
  /** Set when the admin token was generated on this start; printed once by `serve`. */
  generatedAdminToken?: string;
  close(): Promise<void>;
}

export interface ServicesOptions {
  /** Generate (and hand back, to be printed) an admin token when none is configured or stored: `jacket serve` only. */
  generateAdminToken?: boolean;
}

/**
 * The composition root: every service built once from the configuration and wired to the others (change messages,
 * limits, mirrors). The HTTP layer (app.ts) and the commands take what this returns.
 */
export async function createServices(config: Config, options: ServicesOptions = {}): Promise<Services> {
  const db = await openCatalogue(config);
  const metrics = new Metrics();
  const blobs = new MeasuredBlobStore(await openBlobStore(config.storage), metrics);
  const catalogue = new CoverCatalogue(db);
  const { limits, changes, coordinator } = await sharedState(config);
  const renditions = new RenditionEngine({
    blobs,
    cacheBytes: config.renditionCacheBytes,
    concurrency: config.imageConcurrency,
    queueLimit: config.imageQueue,
    coordinator,
  });
  const auth = new Auth();
  const { generatedToken } = await auth.init(catalogue, config.adminToken, { generate: options.generateAdminToken });
  const intake = intakePolicy(config);
  const ingest = new Ingest(config, intake, blobs, catalogue, metrics);
  const keys = new KeyService(db);
  auth.keyResolver = async (secret) => {
    const key = await keys.findBySecret(secret);
    return key && key.revokedAt === null ? { kind: 'key', id: key.id, permissions: [...key.permissions] } : undefined;
  };
  const hooks: Hooks = {};
  catalogue.onChange = () => changes.publish({ type: 'covers' });
  const releases = new ReleaseCatalogue(db);
  releases.onChange = () => changes.publish({ type: 'releases' });
  keys.onChange = () => changes.publish({ type: 'keys' });
  // Renditions of an image no longer served are dropped from memory everywhere (stored ones wait for fsck).
  catalogue.onImageGone = releases.onImageGone = (sha256) => changes.publish({ type: 'cover-deleted', sha256 });
  changes.subscribe((message) => {
    if (message.type === 'cover-deleted') renditions.forget(message.sha256);
  });
  const usage = new UsageCounter(db, renditions);
  const services: Services = {
    config,
    db,
    catalogue,
    releases,
    blobs,
    renditions,
    delivery: new Delivery({ resolver: new Resolver({ catalogue, releases, changes, mirror: hooks }), renditions, usage }),
    usage,
    auth,
    ingest,
    intake,
    hooks,
    mirror: {},
    limits,
    changes,
    keys,
    moderation: config.moderation,
    metrics,
    generatedAdminToken: generatedToken,
    async close() {
      await changes.close();
      await limits.close();
      await renditions.flush();
      await usage.close().catch(() => undefined);
      await coordinator?.close();
      await blobs.close();
      await db.destroy();
    },
  };
  // Limits count through services.limits at request time, so a store swapped in later (Redis) is the one used.
  auth.failures = new AuthFailures(config.authFailureLimit, liveLimitStore(() => services.limits));
  Object.assign(hooks, publicLimitHooks({ olRate: config.olRateLimit, olStatus: config.olRateLimitStatus, caaRate: config.caaRateLimit, iiifRate: config.iiifRateLimit, store: liveLimitStore(() => services.limits), auth, keys }));
  setUpMirrors(services);
  return services;
}

/**
 * Counters and change messages: in this process (embedded default), or shared by every instance through Redis
 * (REDIS_URL). A Redis that is down at start does not stop the start: both degrade to this instance and recover.
 */
async function sharedState(config: Config): Promise<{ limits: LimitStore; changes: ChangeBus; coordinator?: RedisRenditionCoordinator }> {
  if (!config.redisUrl) return { limits: new MemoryLimitStore(), changes: new LocalChangeBus() };
  const logger = pino({ level: config.logLevel, name: 'redis' });
  const log: RedisLog = { warn: (message) => logger.warn(message), info: (message) => logger.info(message) };
  const { RedisLimitStore } = await import('./limits/redis.ts');
  const { RedisChangeBus } = await import('./changes-redis.ts');
  const limits = new RedisLimitStore({ url: config.redisUrl, prefix: config.redisPrefix, log });
  const changes = new RedisChangeBus({ url: config.redisUrl, prefix: config.redisPrefix, log });
  const { RedisRenditionCoordinator } = await import('./renditions/redis-coordinator.ts');
  const coordinator = new RedisRenditionCoordinator({ url: config.redisUrl, prefix: config.redisPrefix });
  await Promise.all([limits.connected(2000), changes.connected(2000), coordinator.connected(2000)]);
  return { limits, changes, coordinator };
}

/** Mirror mode is on for each dialect whose upstream is configured; each upstream has its own politeness gate. */
function setUpMirrors(services: Services): void {
  const { config } = services;
  const upstreamAt = (base: string) =>
    new Upstream({
      base,
      rate: config.upstreamRate,
      timeoutMs: config.upstreamTimeoutMs,
      maxBytes: services.intake.maxImageBytes,
      allowPrivateRedirects: config.sourceUrlAllowPrivate,
    });
  if (config.upstreamOpenLibrary) {
    const mirror = new OpenLibraryMirror(services, upstreamAt(config.upstreamOpenLibrary), config.upstreamNegativeTtlMs);
    services.mirror.openLibrary = mirror;
    services.hooks.openLibraryMiss = (category, key, value) => mirror.fill(category, key, value);
  }
  if (config.upstreamCoverArtArchive) {
    const mirror = new CoverArtArchiveMirror(services, upstreamAt(config.upstreamCoverArtArchive), config.upstreamNegativeTtlMs);
    services.mirror.coverArtArchive = mirror;
    services.hooks.coverArtArchiveMiss = (entity, mbid) => mirror.fill(entity, mbid);
  }
}
