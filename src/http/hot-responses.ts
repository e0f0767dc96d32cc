import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { FastifyInstance, FastifyRequest, FastifyServerFactoryHandler } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Services } from '../app.ts';
import { isNotModified } from './common.ts';

/** A whole image response, ready to be written again: status 200, raw header list, body. */
interface HotResponse {
  headers: string[];
  /** The same validators and caching headers without a body's headers: what a 304 carries. */
  notModifiedHeaders: string[];
  etag: string | undefined;
  lastModified: number | undefined;
  body: Buffer;
  /** Found through an identifier other than id/olid: rate-limit hooks may apply, so Fastify must see it. */
  identifierLookup: boolean;
  /** The Fastify route pattern that made it, for the request metrics. */
  route: string;
}

/** Open Library image URLs without a query string: the only responses this layer remembers. */
const IMAGE_PATH = /^\/[baw]\/([a-z]+)\/[^/?#]+\.(?:jpg|jpeg|webp|avif)$/i;
const MAX_BODY = 512 * 1024;
/** Headers that belong to one response, not to the resource: Node writes its own framing; the request id is per request. */
const FRAMING_HEADERS = new Set(['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'date', 'x-request-id']);
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function hasValidator(rawHeaders: string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if ((name.length === 13 || name.length === 17) && /^if-(none-match|modified-since)$/i.test(name)) return true;
  }
  return false;
}

/**
 * The hot path for hits. The hot covers of a catalogue are requested by the same few URLs all day; once Fastify has
 * answered one of those URLs with a rendition, the whole response (headers decided by the route, bytes from the
 * rendition cache) is kept here, keyed by the URL, and the next identical GET is answered straight from the
 * `http.Server` request event: no routing, no hooks, no promise, no database, no blob store. A matching
 * If-None-Match / If-Modified-Since gets a 304 the same way.
 *
 * Correctness rules: only GET image URLs without a query string that answered 200 to a request without credentials
 * or cookies, with no Vary or Set-Cookie, are remembered; any catalogue change empties the table (as it does the
 * resolution cache), and a response computed across a change is not stored; identifier lookups go through Fastify
 * whenever a lookup hook (rate limit) is installed. Requests answered here are
 * not logged by Fastify's per-request logger (they are counted in `stats`). The table holds references to at most
 * a quarter of JACKET_RENDITION_CACHE_MB of bodies (usually the very buffers the rendition cache holds).
 */
export class HotResponses {
  readonly stats = { served: 0, notModified: 0, stored: 0, clears: 0 };
  private readonly services: Services;
  private readonly entries: LRUCache<string, HotResponse> | undefined;
  private readonly startedIn = new WeakMap<object, number>();
  private generation = 0;

  constructor(services: Services) {
    this.services = services;
    const maxSize = Math.floor(services.config.renditionCacheBytes / 4);
    this.entries = maxSize > 0 ? new LRUCache({ max: 20_000, maxSize, sizeCalculation: (entry) => entry.body.length + 256 }) : undefined;
    services.changes.subscribe(() => this.clear());
  }

  clear(): void {
    this.generation++;
    this.stats.clears++;
    this.entries?.clear();
  }

  /** For Fastify's `serverFactory`: answer hot URLs here, pass everything else to Fastify. */
  readonly serverFactory = (handler: FastifyServerFactoryHandler): http.Server =>
    // optimizeEmptyRequests: a request without Content-Length or Transfer-Encoding has no body by definition, so
    // Node hands it over with its body stream already ended instead of emitting stream events for nothing.
    http.createServer({ optimizeEmptyRequests: true } as http.ServerOptions, (request, response) => {
      if (!this.tryServe(request, response)) handler(request, response);
    });

  private tryServe(request: http.IncomingMessage, response: http.ServerResponse): boolean {
    if (request.method !== 'GET' || !this.entries) return false;
    const entry = this.entries.get(request.url ?? '');
    if (!entry) return false;
    if (entry.identifierLookup && this.services.hooks.openLibraryLookup) return false;
    const started = process.hrtime.bigint();
    // `request.headers` is built lazily from rawHeaders on first access: look for a validator in the raw list and
    // build the object only for conditional requests.
    if (hasValidator(request.rawHeaders) && isNotModified(request as unknown as FastifyRequest, { etag: entry.etag, lastModified: entry.lastModified })) {
      this.stats.notModified++;
      response.writeHead(304, [...entry.notModifiedHeaders, 'x-request-id', this.requestId(request)]);
      response.end();
      this.count(entry, 304, started);
      return true;
    }
    this.stats.served++;
    // Rendition bytes served from memory, as far as the rendition metrics are concerned.
    this.services.renditions.stats.memoryHits++;
    response.writeHead(200, [...entry.headers, 'x-request-id', this.requestId(request)]);
    response.end(entry.body);
    this.count(entry, 200, started);
    return true;
  }

  /** The client's request id when it is sane, else a new one: the same rule as Fastify's genReqId. */
  private requestId(request: http.IncomingMessage): string {
    const offered = request.headers['x-request-id'];
    return typeof offered === 'string' && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
  }

  /** Hits answered here skip Fastify's hooks, so they are counted in the request metrics here. */
  private count(entry: HotResponse, status: number, started: bigint): void {
    const labels = { method: 'GET', route: entry.route, status_code: String(status) };
    this.services.metrics.httpRequests.inc(labels);
    this.services.metrics.httpRequestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Remember image responses as Fastify sends them. Registered last, so every other onSend hook has run. */
  install(app: FastifyInstance): void {
    if (!this.entries) return;
    const entries = this.entries;
    app.addHook('onRequest', (request, _reply, done) => {
      this.startedIn.set(request.raw, this.generation);
      done();
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      const url = request.raw.url ?? '';
      const body = Buffer.isBuffer(payload) ? payload : undefined;
      const match = request.method === 'GET' && reply.statusCode === 200 && body ? IMAGE_PATH.exec(url) : null;
      // Only responses that are the same for everyone: no credentials or cookies in, no Vary or cookie out.
      const personal = request.headers.authorization !== undefined || request.headers.cookie !== undefined;
      const varies = reply.hasHeader('vary') || reply.hasHeader('set-cookie');
      if (match && body && body.length <= MAX_BODY && !personal && !varies && this.startedIn.get(request.raw) === this.generation) {
        const contentType = reply.getHeader('content-type');
        if (typeof contentType === 'string' && contentType.startsWith('image/') && contentType !== 'image/gif') {
          const notModifiedHeaders: string[] = [];
          for (const [name, value] of Object.entries(reply.getHeaders())) {
            if (value === undefined || name === 'content-type' || FRAMING_HEADERS.has(name)) continue;
            for (const item of Array.isArray(value) ? value : [value]) notModifiedHeaders.push(name, String(item));
          }
          const etag = reply.getHeader('etag');
          const lastModified = reply.getHeader('last-modified');
          entries.set(url, {
            headers: ['content-type', contentType, ...notModifiedHeaders, 'content-length', String(body.length)],
            notModifiedHeaders,
            etag: typeof etag === 'string' ? etag : undefined,
            lastModified: typeof lastModified === 'string' ? Date.parse(lastModified) : undefined,
            body,
            identifierLookup: match[1]!.toLowerCase() !== 'id' && match[1]!.toLowerCase() !== 'olid',
            route: request.routeOptions.url ?? 'unmatched',
          });
          this.stats.stored++;
        }
      }
      done(null, payload);
    });
  }
}
