import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { devkeyRoutes, withKeyMasking } from './http/devkey.ts';
import { keysApiRoutes } from './http/keys.ts';
import type { Config } from './config.ts';
import { errorBody, errorHandler, parseUrlencoded } from './http/common.ts';
import { booksApiRoutes } from './http/books-api.ts';
import { coverImageRoutes } from './http/cover-images.ts';
import { readApiRoutes } from './http/read-api.ts';
import { homeRoutes } from './http/home.ts';
import { moderationRoutes } from './http/api-moderation.ts';
import { coverRoutes } from './http/api-covers.ts';
import { statsRoutes } from './http/api-stats.ts';
import { openLibraryRoutes } from './http/openlibrary.ts';
import { mirrorRoutes } from './http/api-mirror.ts';
import { asteriskOptions, coverArtArchiveRoutes } from './http/coverartarchive.ts';
import { releasesApiRoutes } from './http/releases-api.ts';
import { iiifRoutes } from './http/iiif.ts';
import { HotResponses } from './http/hot-responses.ts';
import { createServices, type Services, type ServicesOptions } from './services.ts';
import { installOperations, operationsServerOptions } from './http/operations.ts';

/**
 * The route groups, each registered as a Fastify plugin: its own auth (see `requirePermission`) and error handling
 * stay inside it. Home first: it holds the routes without a dialect.
 */
const ROUTE_GROUPS: Array<(scope: FastifyInstance, services: Services) => Promise<void>> = [
  homeRoutes,
  openLibraryRoutes,
  mirrorRoutes,
  coverArtArchiveRoutes,
  releasesApiRoutes,
  devkeyRoutes,
  keysApiRoutes,
  moderationRoutes,
  coverRoutes,
  statsRoutes,
  coverImageRoutes,
  booksApiRoutes,
  readApiRoutes,
  iiifRoutes,
];

export interface BuildOptions extends ServicesOptions {
  logger?: boolean | object;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<{ app: FastifyInstance; services: Services }> {
  const services = await createServices(config, { generateAdminToken: options.generateAdminToken });
  const hot = new HotResponses(services);
  services.hotResponses = hot;
  services.usage.start(config.statsFlushMs);
  const app = Fastify({
    // Hits on hot image URLs are answered before Fastify routes them (see http/hot-responses.ts). Over TLS Fastify
    // builds its own HTTP/2 server and every request takes the ordinary path.
    ...(config.tlsCertPath ? {} : { serverFactory: hot.serverFactory }),
    logger: withKeyMasking(options.logger ?? { level: config.logLevel }),
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    // Cover URLs carry identifiers with dots and hyphens; keep paths exactly as sent.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 500 },
    // Errors Fastify raises before routing (bad percent-encoding, bad content-type): the same JSON shape as ours.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const rendered = errorBody(error);
      void reply.code(rendered.status).headers(rendered.headers).header('access-control-allow-origin', '*').send(rendered.body);
    },
    ...operationsServerOptions(config),
  });
  installOperations(app, services);

  // Hooks that never wait for anything take Fastify's callback form: no promise and no extra microtask per request.
  app.addHook('onRequest', (request, reply, done) => {
    const length = Number(request.headers['content-length'] ?? 0);
    // Refuse an oversized body from its declared length before reading any of it.
    if (length > services.intake.maxBodyBytes) {
      reply.header('connection', 'close');
      const rendered = errorBody({ statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: `The body is ${length} bytes; the limit is ${services.intake.maxBodyBytes}.` });
      reply.code(413).send(rendered.body);
      return;
    }
    done();
  });
  // CORS on every response, errors included. The Open Library original also sends a misspelt
  // Access-Control-Allow-Method; the correct header is the one browsers read.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('access-control-allow-origin', '*');
    if (!reply.hasHeader('access-control-allow-methods')) reply.header('access-control-allow-methods', 'GET, HEAD, OPTIONS');
    done(null, payload);
  });
  // The native error shape; a route group with its own (the Open Library uploads) sets it in its scope.
  app.setErrorHandler(errorHandler());
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `Nothing is served at ${request.method} ${request.url.split('?')[0]}.` }),
  );
  app.options('*', async (request, reply) =>
    asteriskOptions(request, reply) ??
    reply
      .code(200)
      .header('allow', 'GET, HEAD, POST, OPTIONS')
      .header('access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS')
      .header('access-control-allow-headers', 'Authorization, Content-Type, If-None-Match, If-Modified-Since')
      .header('access-control-max-age', '86400')
      .send(),
  );

  // OpenAPI description of every route declared after this (schemas on the routes); browsable at /docs.
  await app.register(swagger, {
    openapi: {
      info: { title: 'Jacket', description: 'Self-hosted cover-art server: native API and compatible dialects.', version: '0.1.0' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // Kept to what assistive technology reads well: no top bar (an unlabelled "explore" field, an image without text),
  // no deep links (a link inside each operation's expand button), badges at a readable contrast.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { layout: 'BaseLayout', deepLinking: false },
    theme: { css: [{ filename: 'jacket.css', content: fs.readFileSync(path.join(import.meta.dirname, 'http', 'docs.css'), 'utf8') }] },
  });
  // A urlencoded body may carry an image (`data=` on upload2), percent-encoded: the same cap as a multipart upload.
  await app.register(formbody, { bodyLimit: services.intake.maxBodyBytes, parser: parseUrlencoded });
  await app.register(multipart);
  // Before the route groups: each group is a plugin of its own, and a plugin takes the hooks its parent has then.
  hot.install(app);
  for (const group of ROUTE_GROUPS) await app.register(async (scope) => group(scope, services));

  app.addHook('onClose', async () => services.close());
  return { app, services };
}
