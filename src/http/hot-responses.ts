import http from 'node:http';
import type { FastifyInstance, FastifyServerFactoryHandler } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { ChangeBus } from '../changes.ts';
import type { Config } from '../config.ts';
import type { Hooks } from '../hooks.ts';
import type { RenditionEngine } from '../renditions/engine.ts';
import { offeredCover, offeredRule, type HotRule } from '../delivery/hot-rule.ts';
import type { LimitRefusal } from '../limits/public.ts';
import { isNotModified, type ConditionalHeaders } from './common.ts';
import { requestIdFor } from './request-id.ts';
import { HotFront, type FrontAnswer, type HotClient } from './hot-front.ts';
import type { Metrics, RequestTally } from '../metrics.ts';
import type { UsageCounter } from '../usage.ts';

/** A whole response, ready to be written again: an image (200) or a redirect (307), raw header list, body. */
interface HotResponse {
  status: 200 | 307;
  headers: string[];
  /** The same validators and caching headers without a body's headers: what a 304 carries. */
  notModifiedHeaders: string[];
  etag: string | undefined;
  lastModified: number | undefined;
  body: Buffer;
  /** Who may be answered from here (decided by the dialect that made the answer: delivery/hot-rule.ts). */
  rule: HotRule;
  /** The Fastify route pattern that made it: the request metrics' label. */
  route: string;
  /** The image's cover (absent for release images and redirects), counted per hit for the statistics. */
  coverId: number | undefined;
  /** The request metrics' tallies for its answer and its 304. */
  tallies: Record<200 | 307 | 304, RequestTally>;
  /** The same answers, prepared for the front (status line and header lines). */
  frontAnswer: FrontAnswer;
  front304: FrontAnswer;
}

const MAX_BODY = 512 * 1024;
/** Headers that belong to one response, not to the resource: Node writes its own framing; the request id is per request. */
const FRAMING_HEADERS = new Set(['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'date', 'x-request-id']);

/** What a hit needs of its request headers: the validators, the offered request id, and what sends it to the routes. */
interface HitHeaders extends ConditionalHeaders {
  'x-request-id'?: string | undefined;
  /** Authorization or Cookie came along. */
  personal?: boolean;
  /** Range or If-Range came along: a byte range is the routes' to answer. */
  ranged?: boolean;
  host?: string;
}

/** The raw header names a hit looks at, by length, lower-cased. */
const HIT_HEADER_NAMES = new Set(['host', 'x-request-id', 'if-none-match', 'if-modified-since', 'authorization', 'cookie', 'range', 'if-range']);

/**
 * The headers a hit needs, read from the raw list: `request.headers` is built lazily from it on first access, an
 * object per request that a hit does not otherwise need. Repeats are treated as Node treats them: If-None-Match and
 * X-Request-Id values joined with ", ", the first If-Modified-Since kept.
 */
function hitHeaders(rawHeaders: string[]): HitHeaders {
  const found: HitHeaders = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length < 4 || name.length > 17 || name.length === 7) continue;
    const key = name.toLowerCase();
    if (!HIT_HEADER_NAMES.has(key)) continue;
    if (key === 'authorization' || key === 'cookie') {
      found.personal = true;
      continue;
    }
    if (key === 'range' || key === 'if-range') {
      found.ranged = true;
      continue;
    }
    const value = rawHeaders[i + 1]!;
    if (key === 'host') {
      found.host = value;
      continue;
    }
    const field = key as 'x-request-id' | 'if-none-match' | 'if-modified-since';
    const before = found[field];
    if (before === undefined) found[field] = value;
    else if (field !== 'if-modified-since') found[field] = `${before}, ${value}`;
  }
  return found;
}

/** What the table reads: the settings, the limit hook a hit counts with, and where it counts. */
export interface HotResponseParts {
  config: Config;
  hooks: Hooks;
  changes: ChangeBus;
  renditions: RenditionEngine;
  metrics: Metrics;
  usage: UsageCounter;
}

/** A refusal written from here: the same status, headers and body the routes write for it, prepared once. */
interface Refusal {
  status: number;
  headers: string[];
  body: Buffer;
  frontAnswer: FrontAnswer;
}

/** Refusals differ only by their Retry-After: a few dozen prepared ones cover a window. */
const MAX_PREPARED_REFUSALS = 64;

/**
 * The hot path for hits. The hot covers of a catalogue are requested by the same few URLs all day; once a dialect
 * has answered one of those URLs with image bytes through `Delivery.answer`, saying who may be answered the same
 * again (delivery/hot-rule.ts), the whole response (headers decided by the route, bytes from the rendition cache) is
 * kept here, keyed by the URL, and the next identical GET is answered straight from the `http.Server` request event,
 * or from the raw-socket front before it: no routing, no promise, no database, no blob store. A matching
 * If-None-Match / If-Modified-Since gets a 304 the same way. The per-address limit of identifier lookups is counted
 * here in memory (folded into Redis when there is one), and a client over it gets its refusal from here too.
 *
 * The Cover Art Archive's redirects to files are kept the same way (a 307 whose Location depends on the URL and Host).
 *
 * Correctness rules: only GET answers of 200 (or such a 307) to a request without credentials or cookies, with no Vary or
 * Set-Cookie, are remembered; any catalogue or key change empties the table (as it does the resolution cache), and a
 * response computed across a change is not stored; a request with credentials, a byte range, or (for a limited
 * lookup) behind a trusted proxy goes to the routes. Requests answered here are not logged by Fastify's per-request
 * logger (they are counted in `stats` and the request metrics). The table holds references to at most a quarter of
 * JACKET_RENDITION_CACHE_MB of bodies (usually the very buffers the rendition cache holds).
 */
export class HotResponses {
  readonly stats = { served: 0, notModified: 0, refused: 0, stored: 0, clears: 0 };
  private readonly services: HotResponseParts;
  private readonly entries: LRUCache<string, HotResponse> | undefined;
  private readonly startedIn = new WeakMap<object, number>();
  private readonly refusals = new Map<string, Refusal>();
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
    if (this.entries && this.services.config.hotFront) this.front = new HotFront(server, (target, conditions, client) => this.frontAnswer(target, conditions, client));
    return server;
  };

  /**
   * What a plain GET of `url` gets from here: the entry, a refusal (the lookup was counted and is over the limit), or
   * undefined when the routes must answer it. Counting happens here, once per request.
   */
  private admit(url: string, client: HotClient): HotResponse | LimitRefusal | undefined {
    const entry = this.entries?.get(url);
    if (!entry) return undefined;
    const { rule } = entry;
    if (rule.host !== undefined && client.host !== rule.host) return undefined;
    if (rule.kind === 'anyone') return entry;
    if (rule.kind === 'until') return Date.now() < rule.until ? entry : undefined;
    const countNow = this.services.hooks.openLibraryLookupNow;
    if (!countNow) return entry;
    // A key lifts the limit and a trusted proxy names the client: the routes decide those.
    if (client.personal || client.address === undefined || this.services.config.trustProxy) return undefined;
    return countNow(client.address) ?? entry;
  }

  private frontAnswer(target: string, conditions: ConditionalHeaders, client: HotClient): FrontAnswer | undefined {
    const admitted = this.admit(target, client);
    if (admitted === undefined) return undefined;
    if (!('body' in admitted)) return this.refusal(admitted, target).frontAnswer;
    return isNotModified(conditions, admitted) ? admitted.front304 : admitted.frontAnswer;
  }

  /** The same answers on Node's own request event: connections the front handed over, or no front at all. */
  private tryServe(request: http.IncomingMessage, response: http.ServerResponse): boolean {
    if (request.method !== 'GET' || !this.entries) return false;
    const headers = hitHeaders(request.rawHeaders);
    if (headers.ranged) return false;
    const url = request.url ?? '';
    const admitted = this.admit(url, { address: request.socket.remoteAddress, personal: headers.personal === true, host: headers.host });
    if (admitted === undefined) return false;
    const started = performance.now();
    const requestId = ['x-request-id', requestIdFor(headers['x-request-id'])];
    if (!('body' in admitted)) {
      const refusal = this.refusal(admitted, url);
      response.writeHead(refusal.status, [...refusal.headers, ...requestId]);
      response.end(refusal.body);
      refusal.frontAnswer.written(started);
      return true;
    }
    if (isNotModified(headers, admitted)) {
      response.writeHead(304, [...admitted.notModifiedHeaders, ...requestId]);
      response.end();
      this.served(admitted, 304, started);
      return true;
    }
    response.writeHead(admitted.status, [...admitted.headers, ...requestId]);
    response.end(admitted.body);
    this.served(admitted, admitted.status, started);
    return true;
  }

  /** A limit's refusal as the routes write it (the JSON error, Retry-After, CORS), prepared once per sentence. */
  private refusal(refused: LimitRefusal, url: string): Refusal {
    const route = this.entries?.peek(url)?.route ?? 'unmatched';
    const key = `${route} ${refused.status} ${refused.message}`;
    let refusal = this.refusals.get(key);
    if (!refusal) {
      if (this.refusals.size >= MAX_PREPARED_REFUSALS) this.refusals.clear();
      const body = Buffer.from(JSON.stringify({ error: refused.code, message: refused.message }));
      const headers: string[] = [];
      for (const [name, value] of Object.entries(refused.headers)) headers.push(name, value);
      headers.push(
        'content-type', 'application/json; charset=utf-8',
        'access-control-allow-origin', '*',
        'access-control-allow-methods', 'GET, HEAD, OPTIONS',
        'content-length', String(body.length),
      );
      const tally = this.services.metrics.requestTally('GET', route, refused.status);
      const frontAnswer = this.frontAnswerFor(refused.status, headers, body, (started) => {
        this.stats.refused++;
        tally.observe((performance.now() - started) / 1000);
      });
      refusal = { status: refused.status, headers, body, frontAnswer };
      this.refusals.set(key, refusal);
    }
    return refusal;
  }

  /** Hits answered here skip Fastify's hooks, so they are counted here: hot-table stats and request metrics. */
  private served(entry: HotResponse, status: 200 | 307 | 304, started: number): void {
    if (status === 304) {
      this.stats.notModified++;
    } else {
      this.stats.served++;
      // Rendition bytes served from memory, as far as the rendition metrics are concerned.
      if (status === 200) this.services.renditions.stats.memoryHits++;
    }
    // Delivery.answer counted the request that made the entry; its hits skip it, so they are counted here.
    if (entry.status === 200) this.services.usage.count(entry.coverId);
    entry.tallies[status].observe((performance.now() - started) / 1000);
  }

  /** An answer for the front: the status line and headers prepared once, the counting done per request. */
  private frontAnswerFor(status: number, headers: string[], body: Buffer | undefined, written: (started: number) => void): FrontAnswer {
    let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    head += 'x-request-id: ';
    return { head: Buffer.from(head, 'latin1'), body, written };
  }

  /**
   * Remember image answers the dialects offered (Delivery.answer). Registered after the root hooks (request id, CORS)
   * and before the route groups, which inherit it; no group adds an onSend hook of its own.
   */
  install(app: FastifyInstance): void {
    if (!this.entries) return;
    const entries = this.entries;
    const metrics = this.services.metrics;
    app.addHook('onRequest', (request, _reply, done) => {
      this.startedIn.set(request.raw, this.generation);
      done();
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      const rule = offeredRule(request.raw);
      const body = Buffer.isBuffer(payload) ? payload : typeof payload === 'string' && reply.statusCode === 307 ? Buffer.from(payload) : undefined;
      // Only responses that are the same for everyone: no credentials or cookies in, no Vary or cookie out.
      const personal = request.headers.authorization !== undefined || request.headers.cookie !== undefined;
      const varies = reply.hasHeader('vary') || reply.hasHeader('set-cookie');
      const contentType = reply.getHeader('content-type');
      if (
        rule &&
        request.method === 'GET' &&
        (reply.statusCode === 200 || reply.statusCode === 307) &&
        body &&
        body.length <= MAX_BODY &&
        !personal &&
        !varies &&
        this.startedIn.get(request.raw) === this.generation &&
        typeof contentType === 'string' &&
        (contentType.startsWith('image/') || reply.statusCode === 307)
      ) {
        const notModifiedHeaders: string[] = [];
        for (const [name, value] of Object.entries(reply.getHeaders())) {
          if (value === undefined || name === 'content-type' || FRAMING_HEADERS.has(name)) continue;
          for (const item of Array.isArray(value) ? value : [value]) notModifiedHeaders.push(name, String(item));
        }
        const etag = reply.getHeader('etag');
        const lastModified = reply.getHeader('last-modified');
        const route = request.routeOptions.url ?? 'unmatched';
        const headers = ['content-type', contentType, ...notModifiedHeaders, 'content-length', String(body.length)];
        const status = reply.statusCode as 200 | 307;
        const entry = {
          status,
          headers,
          notModifiedHeaders,
          etag: typeof etag === 'string' ? etag : undefined,
          lastModified: typeof lastModified === 'string' ? Date.parse(lastModified) : undefined,
          body,
          rule,
          route,
          coverId: offeredCover(request.raw),
          tallies: { 200: metrics.requestTally('GET', route, 200), 307: metrics.requestTally('GET', route, 307), 304: metrics.requestTally('GET', route, 304) },
        } as HotResponse;
        entry.frontAnswer = this.frontAnswerFor(status, headers, body, (started) => this.served(entry, status, started));
        entry.front304 = this.frontAnswerFor(304, notModifiedHeaders, undefined, (started) => this.served(entry, 304, started));
        entries.set(request.raw.url ?? '', entry);
        this.stats.stored++;
      }
      done(null, payload);
    });
  }
}
