import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Services } from '../services.ts';
import { ConfigError, type Config } from '../config.ts';
import { requestIdFor } from './request-id.ts';

/** How long one readiness check may take before its component counts as down. */
const READINESS_TIMEOUT_MS = 2_000;

/**
 * Server options that belong to operations: request ids (the client's `X-Request-Id` when sane, else a UUID) and
 * TLS. With a certificate Jacket serves HTTPS itself, HTTP/2 to clients that offer it (ALPN) and HTTP/1.1 to the rest.
 */
export function operationsServerOptions(config: Config): FastifyServerOptions {
  const options: Record<string, unknown> = {
    requestIdHeader: false,
    genReqId: (request: http.IncomingMessage) => requestIdFor(request.headers['x-request-id']),
  };
  if (config.tlsCertPath && config.tlsKeyPath) {
    options.http2 = true;
    options.https = { allowHTTP1: true, cert: readPem(config.tlsCertPath, 'JACKET_TLS_CERT'), key: readPem(config.tlsKeyPath, 'JACKET_TLS_KEY') };
  }
  return options as FastifyServerOptions;
}

function readPem(file: string, setting: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${setting} cannot be read (${file}): ${(error as Error).message}`);
  }
}

async function withTimeout(check: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`)), READINESS_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Each component readiness depends on, and how to check it is reachable. */
function readinessChecks(services: Services): Record<string, () => Promise<unknown>> {
  const checks: Record<string, () => Promise<unknown>> = {
    database: () => sql`select 1 as one`.execute(services.db),
    blobs: () => services.blobs.ping(),
    limits: () => services.limits.ping(),
    // Low space is reported before it runs out, so a balancer moves traffic away before writes answer 507.
    disk: async () => {
      const { bavail, bsize } = await fs.promises.statfs(services.config.dataDir);
      if (bavail * bsize < services.config.minFreeBytes) throw new Error(`less than JACKET_MIN_FREE_MB free on ${services.config.dataDir}`);
    },
  };
  // The limit store's own ping never fails on a Redis outage (serving goes on with per-instance limits); readiness
  // still reports it, so an operator sees the degraded instance.
  const redis = services.limits as Partial<RedisReachability>;
  if (services.config.redisUrl && typeof redis.redisReachable === 'function') checks.redis = () => redis.redisReachable!();
  return checks;
}

interface RedisReachability {
  redisReachable(): Promise<void>;
}

/**
 * Health, readiness, metrics and request ids. Installed from one line in buildApp, before the dialects, so the
 * metrics hook sees every route.
 */
export function installOperations(app: FastifyInstance, services: Services): void {
  const { config, metrics } = services;
  metrics.watchRenditions(services.renditions);

  // Callback-form hooks: no promise per request (see buildApp).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: one series per route, however many covers are asked for.
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    const checks: Record<string, string> = {};
    const failing: string[] = [];
    await Promise.all(
      Object.entries(readinessChecks(services)).map(async ([component, check]) => {
        try {
          await withTimeout(check);
          checks[component] = 'ok';
        } catch (error) {
          // The reason (paths, hosts) goes to the log, not to whoever can reach this public URL.
          request.log.warn({ component, err: error }, `readiness: ${component} is down`);
          checks[component] = 'down';
          failing.push(component);
        }
      }),
    );
    reply.header('cache-control', 'no-store');
    if (failing.length > 0) {
      failing.sort();
      return reply.code(503).send({ status: 'unavailable', failing, message: `Not ready: ${failing.join(', ')} unreachable.`, checks });
    }
    return reply.send({ status: 'ready', checks });
  });

  if (config.metricsPort === undefined) {
    app.get('/metrics', async (_request, reply) =>
      reply.header('content-type', metrics.contentType()).header('cache-control', 'no-store').send(await metrics.render()),
    );
    return;
  }

  // A separate listener keeps metrics off the public port (firewalled, or bound where only Prometheus reaches it).
  const metricsServer = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here.\n');
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType(), 'cache-control': 'no-store' }).end(text),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => {
      metricsServer.once('error', reject);
      metricsServer.listen(config.metricsPort, config.host, () => {
        metricsServer.off('error', reject);
        resolve();
      });
    });
    const address = metricsServer.address() as AddressInfo;
    app.log.info({ port: address.port }, `metrics served at http://${config.host}:${address.port}/metrics`);
  });
  app.addHook('onClose', async () => {
    if (!metricsServer.listening) return;
    const closed = new Promise<void>((resolve) => metricsServer.close(() => resolve()));
    metricsServer.closeAllConnections();
    await closed;
  });
}
