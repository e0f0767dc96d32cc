import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import { Auth } from './auth.ts';
import { LocalChangeBus, type ChangeBus } from './changes.ts';
import type { LimitStore } from './limits/limit-store.ts';
import { MemoryLimitStore } from './limits/memory.ts';
import { CoverCatalogue } from './catalogue/covers.ts';
import { migrateToLatest, openDatabase, type CatalogueDb } from './catalogue/db.ts';
import type { Config } from './config.ts';
import { errorBody } from './http/common.ts';
import { coverImageRoutes } from './http/cover-images.ts';
import { homeRoutes } from './http/home.ts';
import { HotResponses } from './http/hot-responses.ts';
import { openLibraryRoutes } from './http/openlibrary.ts';
import { Ingest } from './ingest.ts';
import { RenditionEngine } from './renditions/engine.ts';
import type { BlobStore } from './storage/blobstore.ts';
import { FsBlobStore } from './storage/fs.ts';

/** Hooks that later layers (limits, metrics) attach to without the dialects knowing them. */
export interface Hooks {
  /** Runs before an Open Library lookup by an identifier other than `id`/`olid` (rate limits). May throw. */
  openLibraryLookup?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Runs before every Cover Art Archive API route (`/release…`, `/release-group…`): its rate limit. May throw. */
  coverArtArchiveRequest?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

/** Everything the HTTP layer and the commands use, built once from the configuration. No globals elsewhere. */
export interface Services {
  config: Config;
  db: CatalogueDb;
  catalogue: CoverCatalogue;
  blobs: BlobStore;
  renditions: RenditionEngine;
  auth: Auth;
  ingest: Ingest;
  hooks: Hooks;
  limits: LimitStore;
  changes: ChangeBus;
  /** Uploads wait as pending until approved (issue 8 sets it from JACKET_MODERATION). */
  moderation: boolean;
  /** The hot-hit table in front of Fastify (set by buildApp; see http/hot-responses.ts). */
  hotResponses?: HotResponses;
  /** Set when the admin token was generated on this start; printed once by `serve`. */
  generatedAdminToken?: string;
  close(): Promise<void>;
}

export async function createServices(config: Config): Promise<Services> {
  const db = await openDatabase({ sqlitePath: path.join(config.dataDir, 'catalogue.sqlite') });
  await migrateToLatest(db);
  const blobs = new FsBlobStore(path.join(config.dataDir, 'blobs'));
  const catalogue = new CoverCatalogue(db);
  const renditions = new RenditionEngine({
    blobs,
    cacheBytes: config.renditionCacheBytes,
    concurrency: config.imageConcurrency,
    queueLimit: config.imageQueue,
  });
  const auth = new Auth();
  const { generatedToken } = await auth.init(catalogue, config.adminToken);
  const ingest = new Ingest(config, blobs, catalogue);
  const limits: LimitStore = new MemoryLimitStore();
  const changes: ChangeBus = new LocalChangeBus();
  catalogue.onChange = () => changes.publish({ type: 'covers' });
  changes.subscribe((message) => {
    if (message.type === 'cover-deleted') renditions.forget(message.sha256);
  });
  return {
    config,
    db,
    catalogue,
    blobs,
    renditions,
    auth,
    ingest,
    hooks: {},
    limits,
    changes,
    moderation: false,
    generatedAdminToken: generatedToken,
    async close() {
      await changes.close();
      await limits.close();
      await renditions.flush();
      await blobs.close();
      await db.destroy();
    },
  };
}

export interface BuildOptions {
  logger?: boolean | object;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<{ app: FastifyInstance; services: Services }> {
  const services = await createServices(config);
  const hot = new HotResponses(services);
  services.hotResponses = hot;
  const app = Fastify({
    // Hits on hot image URLs are answered before Fastify routes them (see http/hot-responses.ts).
    serverFactory: hot.serverFactory,
    logger: options.logger ?? { level: config.logLevel },
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    // Cover URLs carry identifiers with dots and hyphens; keep paths exactly as sent.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 500 },
  });

  app.addHook('onRequest', async (request, reply) => {
    const length = Number(request.headers['content-length'] ?? 0);
    // Refuse an oversized body from its declared length before reading any of it.
    if (length > config.maxUploadBytes + 1024 * 1024) {
      reply.header('connection', 'close');
      const rendered = errorBody({ statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: `The body is ${length} bytes; the limit is ${config.maxUploadBytes}.` });
      return reply.code(413).send(rendered.body);
    }
  });
  // CORS on every response, errors included. The Open Library original also sends a misspelt
  // Access-Control-Allow-Method; the correct header is the one browsers read.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('access-control-allow-origin', '*');
    return payload;
  });
  app.setErrorHandler((error, request, reply) => {
    const rendered = errorBody(error);
    if (rendered.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(rendered.status).headers(rendered.headers).send(rendered.body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `Nothing is served at ${request.method} ${request.url.split('?')[0]}.` }),
  );
  app.options('*', async (_request, reply) =>
    reply
      .code(200)
      .header('allow', 'GET, HEAD, POST, OPTIONS')
      .header('access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS')
      .header('access-control-allow-headers', 'Authorization, Content-Type, If-None-Match, If-Modified-Since')
      .header('access-control-max-age', '86400')
      .send(),
  );

  await app.register(formbody, { bodyLimit: 1024 * 1024 });
  await app.register(multipart);
  await homeRoutes(app, services);
  await openLibraryRoutes(app, services);
  await coverImageRoutes(app, services);

  app.addHook('onClose', async () => services.close());
  hot.install(app);
  return { app, services };
}
