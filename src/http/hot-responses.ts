import http from 'node:http';
import type { FastifyInstance, FastifyServerFactoryHandler } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { ChangeBus } from '../changes.ts';
import type { Config } from '../config.ts';
import type { Hooks } from '../hooks.ts';
import type { RenditionEngine } from '../renditions/engine.ts';
import { isNotModified, type ConditionalHeaders } from './common.ts';
import { requestIdFor } from './request-id.ts';
import { HotFront, type FrontAnswer } from './hot-front.ts';
import type { Metrics, RequestTally } from '../metrics.ts';

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
  /** The request metrics' tallies for its 200 and 304 answers (labelled with the Fastify route pattern that made it). */
  tallies: Record<200 | 304, RequestTally>;
  /** The same answers, prepared for the front (status line and header lines). */
  front200: FrontAnswer;
  front304: FrontAnswer;
}

/** Open Library image URLs without a query string: the only responses this layer remembers. */
const IMAGE_PATH = /^\/[baw]\/([a-z]+)\/[^/?#]+\.(?:jpg|jpeg|webp|avif)$/i;
const MAX_BODY = 512 * 1024;
/** Headers that belong to one response, not to the resource: Node writes its own framing; the request id is per request. */
const FRAMING_HEADERS = new Set(['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'date', 'x-request-id']);

/** What a hit needs of its request headers: the validators and the offered request id. */
interface HitHeaders extends ConditionalHeaders {
  'x-request-id'?: string | undefined;
}

/**
 * The headers a hit needs, read from the raw list: `request.headers` is built lazily from it on first access, an
 * object per request that a hit does not otherwise need. Repeats are treated as Node treats them: If-None-Match and
 * X-Request-Id values joined with ", ", the first If-Modified-Since kept.
 */
function hitHeaders(rawHeaders: string[]): HitHeaders {
  const found: HitHeaders = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 12 && name.length !== 13 && name.length !== 17) continue;
    const key = name.toLowerCase();
    if (key !== 'x-request-id' && key !== 'if-none-match' && key !== 'if-modified-since') continue;
    const value = rawHeaders[i + 1]!;
    const before = found[key];
    if (before === undefined) found[key] = value;
    else if (key !== 'if-modified-since') found[key] = `${before}, ${value}`;
  }
  return found;
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
/** What the table reads: the settings, the hooks that make a hit unservable here, and where it counts. */
export interface HotResponseParts {
  config: Config;
  hooks: Hooks;
  changes: ChangeBus;
  renditions: RenditionEngine;
  metrics: Metrics;
}

export class HotResponses {
  readonly stats = { served: 0, notModified: 0, stored: 0, clears: 0 };
  private readonly services: HotResponseParts;
  private readonly entries: LRUCache<string, HotResponse> | undefined;
  private readonly startedIn = new WeakMap<object, number>();
  private generation = 0;
  /** The raw-socket front, when it is on (JACKET_HOT_FRONT): see hot-front.ts. */
  front: HotFront | undefined;

  constructor(services: HotResponseParts) {
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
  readonly serverFactory = (handler: FastifyServerFactoryHandler): http.Server => {
    // optimizeEmptyRequests: a request without Content-Length or Transfer-Encoding has no body by definition, so
    // Node hands it over with its body stream already ended instead of emitting stream events for nothing.
    const server = http.createServer({ optimizeEmptyRequests: true } as http.ServerOptions, (request, response) => {
      if (!this.tryServe(request, response)) handler(request, response);
    });
    if (this.entries && this.services.config.hotFront) this.front = new HotFront(server, (target, conditions) => this.frontAnswer(target, conditions));
    return server;
  };

  /** The entry that answers a plain GET of `url`, or undefined when Fastify must see the request. */
  private entryFor(url: string): HotResponse | undefined {
    const entry = this.entries?.get(url);
    if (!entry || (entry.identifierLookup && this.services.hooks.openLibraryLookup)) return undefined;
    return entry;
  }

  private frontAnswer(target: string, conditions: ConditionalHeaders): FrontAnswer | undefined {
    const entry = this.entryFor(target);
    if (!entry) return undefined;
    return isNotModified(conditions, entry) ? entry.front304 : entry.front200;
  }

  /** The same answers on Node's own request event: connections the front handed over, or no front at all. */
  private tryServe(request: http.IncomingMessage, response: http.ServerResponse): boolean {
    if (request.method !== 'GET') return false;
    const entry = this.entryFor(request.url ?? '');
    if (!entry) return false;
    const started = performance.now();
    const headers = hitHeaders(request.rawHeaders);
    if (isNotModified(headers, entry)) {
      response.writeHead(304, [...entry.notModifiedHeaders, 'x-request-id', requestIdFor(headers['x-request-id'])]);
      response.end();
      this.served(entry, 304, started);
      return true;
    }
    response.writeHead(200, [...entry.headers, 'x-request-id', requestIdFor(headers['x-request-id'])]);
    response.end(entry.body);
    this.served(entry, 200, started);
    return true;
  }

  /** Hits answered here skip Fastify's hooks, so they are counted here: hot-table stats and request metrics. */
  private served(entry: HotResponse, status: 200 | 304, started: number): void {
    if (status === 304) {
      this.stats.notModified++;
    } else {
      this.stats.served++;
      // Rendition bytes served from memory, as far as the rendition metrics are concerned.
      this.services.renditions.stats.memoryHits++;
    }
    entry.tallies[status].observe((performance.now() - started) / 1000);
  }

  /** An answer for the front: the status line and headers prepared once, the counting done per request. */
  private frontAnswerFor(entry: HotResponse, status: 200 | 304, headers: string[], body: Buffer | undefined): FrontAnswer {
    let head = status === 200 ? 'HTTP/1.1 200 OK\r\n' : 'HTTP/1.1 304 Not Modified\r\n';
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    head += 'x-request-id: ';
    return { head: Buffer.from(head, 'latin1'), body, written: (started) => this.served(entry, status, started) };
  }

  /** Remember image responses as Fastify sends them. Registered last, so every other onSend hook has run. */
  install(app: FastifyInstance): void {
    if (!this.entries) return;
    const entries = this.entries;
    const metrics = this.services.metrics;
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
      const kind = match?.[1]!.toLowerCase();
      const identifierLookup = kind !== 'id' && kind !== 'olid';
      // An identifier's answer is never served from here while a lookup hook is installed (entryFor): not kept either.
      const servable = !(identifierLookup && this.services.hooks.openLibraryLookup);
      if (match && body && body.length <= MAX_BODY && servable && !personal && !varies && this.startedIn.get(request.raw) === this.generation) {
        const contentType = reply.getHeader('content-type');
        if (typeof contentType === 'string' && contentType.startsWith('image/') && contentType !== 'image/gif') {
          const notModifiedHeaders: string[] = [];
          for (const [name, value] of Object.entries(reply.getHeaders())) {
            if (value === undefined || name === 'content-type' || FRAMING_HEADERS.has(name)) continue;
            for (const item of Array.isArray(value) ? value : [value]) notModifiedHeaders.push(name, String(item));
          }
          const etag = reply.getHeader('etag');
          const lastModified = reply.getHeader('last-modified');
          const route = request.routeOptions.url ?? 'unmatched';
          const entry = {
            headers: ['content-type', contentType, ...notModifiedHeaders, 'content-length', String(body.length)],
            notModifiedHeaders,
            etag: typeof etag === 'string' ? etag : undefined,
            lastModified: typeof lastModified === 'string' ? Date.parse(lastModified) : undefined,
            body,
            identifierLookup,
            tallies: { 200: metrics.requestTally('GET', route, 200), 304: metrics.requestTally('GET', route, 304) },
          } as HotResponse;
          entry.front200 = this.frontAnswerFor(entry, 200, entry.headers, body);
          entry.front304 = this.frontAnswerFor(entry, 304, notModifiedHeaders, undefined);
          entries.set(url, entry);
          this.stats.stored++;
        }
      }
      done(null, payload);
    });
  }
}
