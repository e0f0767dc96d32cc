import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.ts';
import type { DeveloperKey } from '../catalogue/keys.ts';
import { JacketError } from '../errors.ts';
import { normaliseIsbn } from '../identifiers/index.ts';
import { fitLongestSide, KEYED_SIZES } from '../images/sizes.ts';
import { KEY_RECHECK_MS } from '../delivery/hot-rule.ts';
import { liveLimitStore } from '../limits/public.ts';
import { DailyQuota, nextUtcMidnight, parseRate, RateLimiter, secondsUntil, type Rate } from '../limits/rate.ts';
import { BLANK_GIF, queryParam, SHORT_CACHE } from './common.ts';

export const KEYED_SIZE_NAMES = ['small', 'medium', 'large', 'original'] as const;
export type KeyedSize = (typeof KEYED_SIZE_NAMES)[number];

export function parseKeyedSize(raw: string): KeyedSize | undefined {
  const lower = raw.toLowerCase();
  return (KEYED_SIZE_NAMES as readonly string[]).includes(lower) ? (lower as KeyedSize) : undefined;
}

/** This dialect answers refusals as one line of text: the callers are `<img>` tags and scripts, not JSON clients. */
function sendText(reply: FastifyReply, status: number, line: string, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(status).headers(headers).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(`${line}\n`);
}

/**
 * LibraryThing-style keyed covers: `/devkey/{KEY}/{small|medium|large|original}/isbn/{ISBN}` and the key's usage.
 * The daily quota counts renditions made from the original now, nothing else: serving one already made is free.
 */
export async function devkeyRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { keys, delivery, config, auth } = services;
  const store = liveLimitStore(() => services.limits);
  const quota = new DailyQuota(store);
  const rateLimiters = new Map<string, RateLimiter>();

  function dailyLimitOf(key: DeveloperKey): number {
    return key.dailyLimit ?? config.devkeyDailyLimit;
  }

  function rateOf(key: DeveloperKey): Rate | undefined {
    if (key.rateLimit === null) return config.devkeyRateLimit;
    try {
      return parseRate(key.rateLimit);
    } catch {
      return config.devkeyRateLimit;
    }
  }

  function limiterFor(rate: Rate): RateLimiter {
    const name = `devkey:${rate.limit}:${rate.windowMs}`;
    let limiter = rateLimiters.get(name);
    if (!limiter) rateLimiters.set(name, (limiter = new RateLimiter(name, rate, store)));
    return limiter;
  }

  /**
   * The live key for a secret, or undefined after answering 403 with the reason; a wrong key counts against the
   * client's wrong credentials, and past their limit the key is not even looked up (429).
   */
  async function liveKey(request: FastifyRequest, secret: string, reply: FastifyReply): Promise<DeveloperKey | undefined> {
    try {
      await auth.failures?.refuseIfOver(request);
    } catch (error) {
      if (!(error instanceof JacketError)) throw error;
      sendText(reply, error.status, error.message, error.headers);
      return undefined;
    }
    const key = await keys.findBySecret(secret);
    if (!key || key.revokedAt !== null) {
      await auth.failures?.failed(request);
      sendText(reply, 403, !key ? 'Unknown developer key: ask the operator of this server for one.' : `This developer key was revoked on ${new Date(key.revokedAt!).toISOString()}.`);
      return undefined;
    }
    return key;
  }

  function sendMissing(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const fallback = queryParam(request, 'default');
    if (fallback !== undefined && fallback.toLowerCase() === 'false') return sendText(reply, 404, 'No cover for this ISBN.');
    return reply.code(200).type('image/gif').header('cache-control', SHORT_CACHE).send(BLANK_GIF);
  }

  function sendOverQuota(reply: FastifyReply, key: DeveloperKey, limit: number): FastifyReply {
    const now = Date.now();
    const resetAt = nextUtcMidnight(now);
    return sendText(reply, 429, `Daily limit reached: ${limit} covers made today for key ${key.id}; it resets at ${new Date(resetAt).toISOString()}.`, {
      'retry-after': String(secondsUntil(resetAt, now)),
    });
  }

  app.get<{ Params: { key: string; size: string; isbn: string } }>('/devkey/:key/:size/isbn/:isbn', async (request, reply) => {
    const key = await liveKey(request, request.params.key, reply);
    if (!key) return reply;
    const rate = rateOf(key);
    if (rate) {
      const decision = await limiterFor(rate).hit(key.id);
      if (!decision.allowed) {
        return sendText(reply, 429, `Too many requests for key ${key.id}: at most ${decision.limit} per ${rate.windowMs / 1000} s.`, {
          'retry-after': String(decision.retryAfter),
        });
      }
    }
    const size = parseKeyedSize(request.params.size);
    if (!size) return sendText(reply, 404, `Unknown size "${request.params.size.slice(0, 20)}": use small, medium, large or original.`);
    const cover = normaliseIsbn(request.params.isbn) ? await delivery.resolve.cover('b', 'isbn', request.params.isbn) : undefined;
    if (!cover) return sendMissing(request, reply);
    const limit = dailyLimitOf(key);
    return delivery.answer(request, reply, {
      image: cover,
      format: size === 'original' ? 'original' : 'jpeg',
      target: size === 'original' ? undefined : fitLongestSide(cover.width, cover.height, KEYED_SIZES[size]),
      etag: () => `"${cover.id}-${size}"`,
      lastModified: cover.createdAt,
      cacheControl: SHORT_CACHE,
      // A hit already made is free, so memory may answer it while the key is known good; a per-key rate counts each.
      hot: rate ? undefined : { kind: 'until', until: Date.now() + KEY_RECHECK_MS },
      coverId: cover.id,
      quota: {
        reserve: () => quota.reserve(key.id, limit),
        release: (reservation) => quota.release(reservation),
        record: () => quota.record(key.id),
        refuse: (refused) => sendOverQuota(refused, key, limit),
      },
    });
  });

  app.get<{ Params: { key: string } }>('/devkey/:key/usage', async (request, reply) => {
    const key = await liveKey(request, request.params.key, reply);
    if (!key) return reply;
    const usage = await quota.usage(key.id, dailyLimitOf(key));
    return reply.header('cache-control', 'no-store').send({
      key: key.id,
      counted: usage.counted,
      limit: usage.limit,
      remaining: usage.remaining,
      resetAt: new Date(usage.resetAt).toISOString(),
    });
  });
}

/**
 * A URL with developer-key secrets masked (path `/devkey/{KEY}/…`, `?key=`, `/api/v1/keys/{secret}`), for logs. Any
 * run of slashes counts as one and `devkey` in any case: the log line is written for every request, routed or not, so
 * `//devkey/KEY/…` must not leak the key either.
 */
export function maskKeys(url: string): string {
  return url
    .replace(/^(\/+devkey\/+)[^/?#]+/i, '$1***')
    .replace(/^(\/+api\/+v1\/+keys\/+)(?!k_[0-9a-f]{16}(?:[?#]|$)|signup(?:[?#]|$))[^/?#]+/i, '$1***')
    .replace(/([?&]key=)[^&#]*/g, '$1***');
}

/** Fastify logger options whose request serializer masks developer keys: request logs never hold a usable secret. */
export function withKeyMasking(logger: boolean | object): boolean | object {
  if (logger === false) return false;
  const base = logger === true ? {} : (logger as { serializers?: Record<string, unknown> });
  return {
    ...base,
    serializers: {
      req: (request: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: request.method,
        url: maskKeys(request.url),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
      ...base.serializers,
    },
  };
}
