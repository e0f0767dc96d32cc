import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, ConfigError } from '../src/config.ts';
import { MemoryLimitStore } from '../src/limits/memory.ts';
import { DailyQuota, formatRate, nextUtcMidnight, parseRate, RateLimiter, secondsUntil, utcDay, windowOf } from '../src/limits/rate.ts';

describe('rate settings', () => {
  test('COUNT/WINDOW forms parse to a limit and a window', () => {
    assert.deepEqual(parseRate('100/5m'), { limit: 100, windowMs: 300_000 });
    assert.deepEqual(parseRate('1/1s'), { limit: 1, windowMs: 1000 });
    assert.deepEqual(parseRate('10/s'), { limit: 10, windowMs: 1000 });
    assert.deepEqual(parseRate(' 500 / 1h '), { limit: 500, windowMs: 3_600_000 });
    assert.deepEqual(parseRate('1000/1d'), { limit: 1000, windowMs: 86_400_000 });
    assert.deepEqual(parseRate('5/250ms'), { limit: 5, windowMs: 250 });
  });

  test('off, none and empty mean no limit', () => {
    for (const value of ['off', 'OFF', 'none', '', undefined, '0']) assert.equal(parseRate(value), undefined, String(value));
  });

  test('anything else is refused with a sentence, and a bad setting stops the start', () => {
    for (const value of ['100', '100/5', '100/5y', 'abc', '-1/1s', '0/1s', '1/0s']) assert.throws(() => parseRate(value), RangeError, value);
    assert.throws(() => loadConfig({ JACKET_OL_RATE_LIMIT: '100 per 5 minutes' }), ConfigError);
    assert.throws(() => loadConfig({ JACKET_OL_RATE_LIMIT_STATUS: '418' }), ConfigError);
  });

  test('defaults: OL 100/5m answered 403, CAA and per-key rates off, 1000 covers a day, sign-up off', () => {
    const config = loadConfig({});
    assert.deepEqual(config.olRateLimit, { limit: 100, windowMs: 300_000 });
    assert.equal(config.olRateLimitStatus, 403);
    assert.equal(config.caaRateLimit, undefined);
    assert.equal(config.devkeyRateLimit, undefined);
    assert.equal(config.devkeyDailyLimit, 1000);
    assert.equal(config.keySignup, false);
    assert.equal(loadConfig({ JACKET_OL_RATE_LIMIT_STATUS: '429' }).olRateLimitStatus, 429);
  });

  test('canonical text round-trips', () => {
    assert.equal(formatRate(parseRate('100/5m')), '100/5m');
    assert.equal(formatRate(parseRate('60/60s')), '60/1m');
    assert.equal(formatRate(parseRate('5/250ms')), '5/250ms');
    assert.equal(formatRate(undefined), 'off');
  });
});

describe('windows and resets', () => {
  test('fixed windows are aligned to multiples of their length', () => {
    assert.deepEqual(windowOf(1_000_123, 1000), { start: 1_000_000, end: 1_001_000 });
    assert.deepEqual(windowOf(299_999, 300_000), { start: 0, end: 300_000 });
  });

  test('Retry-After is whole seconds, never 0', () => {
    assert.equal(secondsUntil(10_000, 8_500), 2);
    assert.equal(secondsUntil(10_000, 10_000), 1);
    assert.equal(secondsUntil(10_000, 12_000), 1);
  });

  test('daily quotas reset at UTC midnight', () => {
    const now = Date.parse('2026-03-04T22:30:00.000Z');
    assert.equal(new Date(nextUtcMidnight(now)).toISOString(), '2026-03-05T00:00:00.000Z');
    assert.equal(new Date(nextUtcMidnight(Date.parse('2026-12-31T23:59:59.999Z'))).toISOString(), '2027-01-01T00:00:00.000Z');
    assert.equal(utcDay(now), '2026-03-04');
    assert.equal(secondsUntil(nextUtcMidnight(now), now), 5400);
  });
});

describe('limiters over a LimitStore', () => {
  test('a rate limiter allows COUNT per window per subject, then says how long to wait', async () => {
    const limiter = new RateLimiter('t', { limit: 2, windowMs: 60_000 }, new MemoryLimitStore());
    const now = Date.now();
    const t0 = Math.floor(now / 60_000) * 60_000 + 15_000;
    assert.equal((await limiter.hit('a', t0)).allowed, true);
    assert.equal((await limiter.hit('a', t0)).allowed, true);
    const third = await limiter.hit('a', t0);
    assert.equal(third.allowed, false);
    assert.equal(third.retryAfter, 45);
    assert.equal((await limiter.hit('b', t0)).allowed, true, 'another subject has its own count');
    // Sliding: 15 s into the next window, three quarters of the last window's 3 hits still count.
    assert.equal((await limiter.hit('a', t0 + 60_000)).allowed, false, 'the last minute still counts');
    assert.equal((await limiter.hit('a', t0 + 120_000)).allowed, true, 'a full window later it has faded');
  });

  test('a burst at a window edge cannot pass twice the limit', async () => {
    const limiter = new RateLimiter('edge', { limit: 10, windowMs: 60_000 }, new MemoryLimitStore());
    const edge = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
    let allowed = 0;
    for (let i = 0; i < 15; i++) if ((await limiter.hit('ip', edge - 1000)).allowed) allowed++;
    for (let i = 0; i < 15; i++) if ((await limiter.hit('ip', edge + 1000)).allowed) allowed++;
    assert.equal(allowed, 10, '10 per minute, even across the edge');
  });

  test('the daily quota reserves, refuses past the limit, and gives back slots', async () => {
    const quota = new DailyQuota(new MemoryLimitStore());
    const now = Date.now();
    const first = await quota.reserve('k', 2, now);
    const second = await quota.reserve('k', 2, now);
    assert.ok(first && second);
    assert.equal(await quota.reserve('k', 2, now), undefined);
    assert.deepEqual(await quota.usage('k', 2, now), { counted: 2, limit: 2, remaining: 0, resetAt: nextUtcMidnight(now) });
    await quota.release(second);
    assert.equal((await quota.usage('k', 2, now)).counted, 1);
    assert.ok(await quota.reserve('k', 2, now));
    assert.equal((await quota.usage('other', 2, now)).counted, 0);
  });
});
