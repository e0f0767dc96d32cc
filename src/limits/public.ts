import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Auth } from '../auth.ts';
import { bearerToken } from '../auth.ts';
import type { KeyService } from '../catalogue/keys.ts';
import { JacketError } from '../errors.ts';
import { countersNowFor } from './fold.ts';
import type { CountersNow, LimitStore } from './limit-store.ts';
import { RateLimiter, type Rate, type RateDecision } from './rate.ts';

export type RequestHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * The client's address: the socket peer, or the X-Forwarded-For client when JACKET_TRUST_PROXY=true (Fastify's
 * trustProxy decides which; this never reads the header itself, so an untrusted client cannot pick its own bucket).
 */
export function clientIp(request: FastifyRequest): string {
  return request.ip || request.socket.remoteAddress || 'unknown';
}

/** The developer key a request carries: `?key=` or `Authorization: Bearer`. */
export function presentedCredential(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = typeof query?.key === 'string' && query.key !== '' ? query.key : undefined;
  return fromQuery ?? bearerToken(request);
}

/** True when the request carries a key that is valid now (a live developer key, or the admin token). */
export async function holdsValidKey(request: FastifyRequest, auth: Auth, keys: KeyService): Promise<boolean> {
  const credential = presentedCredential(request);
  if (!credential) return false;
  if (auth.isAdminToken(credential)) return true;
  const key = await keys.findBySecret(credential);
  return key !== undefined && key.revokedAt === null;
}

/** A limit's refusal as plain data (the hot path writes it without making an Error and its stack). */
export interface LimitRefusal {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
}

/** What a limit answers with: a status, a machine code, a sentence and Retry-After. */
export function rateLimitRefusal(status: number, decision: RateDecision, what: string): LimitRefusal {
  return {
    status,
    code: 'rate_limited',
    message: `Too many ${what} from this address: the limit is ${decision.limit} per window; try again in ${decision.retryAfter} s, or use a developer key.`,
    headers: { 'retry-after': String(decision.retryAfter) },
  };
}

/** The same refusal as the error the routes throw. */
export function rateLimitedError(status: number, decision: RateDecision, what: string): JacketError {
  const refusal = rateLimitRefusal(status, decision, what);
  return new JacketError(refusal.status, refusal.code, refusal.message, refusal.headers);
}

export interface IpLimitOptions {
  /** Counter namespace in the LimitStore. */
  name: string;
  rate: Rate | undefined;
  status: number;
  /** Plural noun for the message ("Open Library lookups"). */
  what: string;
  store: LimitStore;
  auth: Auth;
  keys: KeyService;
}

/** A per-client-IP limit that a valid developer key lifts: the request hook, and the same count made at once. */
export interface IpLimit {
  hook: RequestHook;
  /** Count one request of a client without credentials, in memory (the hot path): the refusal, or undefined. */
  countNow: (address: string) => LimitRefusal | undefined;
}

/** A per-client-IP limit; undefined when the limit is off. */
export function ipLimit(options: IpLimitOptions): IpLimit | undefined {
  if (!options.rate) return undefined;
  const limiter = new RateLimiter(options.name, options.rate, options.store);
  const counters = liveCountersNow(options.store);
  const refuseNow = (decision: RateDecision) => (decision.allowed ? undefined : rateLimitRefusal(options.status, decision, options.what));
  return {
    hook: async (request) => {
      if (await holdsValidKey(request, options.auth, options.keys)) return;
      const decision = await limiter.hit(clientIp(request));
      if (!decision.allowed) throw rateLimitedError(options.status, decision, options.what);
    },
    countNow: (address) => refuseNow(limiter.hitNow(address, counters())),
  };
}

export interface PublicHooksOptions {
  olRate: Rate | undefined;
  olStatus: number;
  caaRate: Rate | undefined;
  iiifRate: Rate | undefined;
  store: LimitStore;
  auth: Auth;
  keys: KeyService;
}

export interface PublicLimitHooks {
  openLibraryLookup?: RequestHook;
  /** The Open Library lookup limit counted at once, for a hit answered from memory. */
  openLibraryLookupNow?: IpLimit['countNow'];
  coverArtArchiveRequest?: RequestHook;
  /** IIIF requests that must be rendered (not a listed size, not in memory). */
  iiifRender?: RequestHook;
}

/** The hooks the public dialects call: Open Library identifier lookups, Cover Art Archive requests, IIIF renders. */
export function publicLimitHooks(options: PublicHooksOptions): PublicLimitHooks {
  const { store, auth, keys } = options;
  const hooks: PublicLimitHooks = {};
  const openLibrary = ipLimit({ name: 'ol', rate: options.olRate, status: options.olStatus, what: 'Open Library identifier lookups', store, auth, keys });
  if (openLibrary) {
    hooks.openLibraryLookup = openLibrary.hook;
    hooks.openLibraryLookupNow = openLibrary.countNow;
  }
  const coverArtArchive = ipLimit({ name: 'caa', rate: options.caaRate, status: 503, what: 'Cover Art Archive requests', store, auth, keys });
  if (coverArtArchive) hooks.coverArtArchiveRequest = coverArtArchive.hook;
  const iiif = ipLimit({ name: 'iiif', rate: options.iiifRate, status: 429, what: 'IIIF images to render', store, auth, keys });
  if (iiif) hooks.iiifRender = iiif.hook;
  return hooks;
}

/** The counters in memory for whichever store a live store forwards to at the moment (see liveLimitStore). */
function liveCountersNow(store: LimitStore): () => CountersNow {
  const current = (store as Partial<LiveLimitStore>).current ?? (() => store);
  return () => countersNowFor(current());
}

interface LiveLimitStore extends LimitStore {
  current: () => LimitStore;
}

/** A LimitStore that forwards to whichever store `current()` returns at call time. */
export function liveLimitStore(current: () => LimitStore): LimitStore {
  const live: LiveLimitStore = {
    current,
    increment: (key, amount, expiresAt) => current().increment(key, amount, expiresAt),
    peek: (key) => current().peek(key),
    ping: () => current().ping(),
    close: () => current().close(),
  };
  return live;
}
