import type { Redis } from 'ioredis';
import { closeRedis, connectRedis, silentLog, whenReady, type RedisLog } from '../redis/connect.ts';
import type { Counter, LimitStore } from './limit-store.ts';
import { MemoryLimitStore } from './memory.ts';

/**
 * One round trip, atomic on the server: add to the count, and give a new counter its expiry. The expiry is kept in
 * the hash too, so the caller learns the exact instant a window ends (no PEXPIRETIME needed: Redis 6 works).
 */
const INCREMENT = `
local count = redis.call('HINCRBY', KEYS[1], 'c', ARGV[1])
if redis.call('HSETNX', KEYS[1], 'e', ARGV[2]) == 1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return {count, redis.call('HGET', KEYS[1], 'e')}
`;

interface IncrementCommand {
  jacketIncrement(key: string, amount: number, expiresAt: number): Promise<[number, string]>;
}

export interface RedisLimitStoreOptions {
  url: string;
  /** Prefix of every key, e.g. `jacket:`; the store adds `limit:`. */
  prefix: string;
  log?: RedisLog;
}

/**
 * Counters shared by every instance through Redis. When Redis cannot be reached the store keeps serving from this
 * instance's memory (limits then count per instance), warns once, and goes back to Redis as soon as it is back.
 */
export class RedisLimitStore implements LimitStore {
  readonly client: Redis;
  private readonly prefix: string;
  private readonly log: RedisLog;
  private readonly fallback = new MemoryLimitStore();
  private degraded = false;
  private everReady = false;
  /** After a timeout or connection error, skip Redis until then, so a sick Redis costs one timeout, not one per request. */
  private skipUntil = 0;

  constructor(options: RedisLimitStoreOptions) {
    this.prefix = `${options.prefix}limit:`;
    this.log = options.log ?? silentLog;
    this.client = connectRedis(options.url);
    this.client.defineCommand('jacketIncrement', { numberOfKeys: 1, lua: INCREMENT });
    this.client.on('ready', () => {
      this.everReady = true;
      this.recovered();
    });
    // Before the first connection, connected() decides (a Redis still starting up is not an outage yet).
    this.client.on('close', () => {
      if (this.everReady) this.degrade('connection closed');
    });
  }

  /** True while counters are shared through Redis; false while this instance counts on its own. */
  get shared(): boolean {
    return !this.degraded && this.client.status === 'ready';
  }

  /** Wait (at most `timeoutMs`) for the first connection; a start does not depend on it. */
  async connected(timeoutMs: number): Promise<boolean> {
    const ready = await whenReady(this.client, timeoutMs);
    if (!ready) this.degrade('not reachable at start');
    return ready;
  }

  private recovered(): void {
    this.skipUntil = 0;
    if (!this.degraded) return;
    this.degraded = false;
    this.log.info('Redis is reachable again: rate limits and quotas are shared across instances again');
  }

  private usable(): boolean {
    return this.client.status === 'ready' && Date.now() >= this.skipUntil;
  }

  private failed(error: unknown): void {
    this.skipUntil = Date.now() + 1000;
    this.degrade((error as Error).message);
  }

  private degrade(reason: string): void {
    if (this.degraded) return;
    this.degraded = true;
    this.log.warn(`Redis unavailable (${reason}): rate limits and quotas now count per instance until it is back`);
  }

  async increment(key: string, amount: number, expiresAt: number): Promise<Counter> {
    if (this.usable()) {
      try {
        const [count, expires] = await (this.client as unknown as IncrementCommand).jacketIncrement(this.prefix + key, amount, Math.round(expiresAt));
        this.recovered();
        return { count: Number(count), expiresAt: Number(expires) };
      } catch (error) {
        if (isServerReply(error)) throw error;
        this.failed(error);
      }
    } else if (this.client.status !== 'ready') {
      this.degrade(`connection ${this.client.status}`);
    }
    return this.fallback.increment(key, amount, expiresAt);
  }

  async peek(key: string): Promise<Counter | undefined> {
    if (this.usable()) {
      try {
        const [count, expires] = await this.client.hmget(this.prefix + key, 'c', 'e');
        this.recovered();
        if (count === null || expires === null) return undefined;
        const counter = { count: Number(count), expiresAt: Number(expires) };
        return counter.expiresAt > Date.now() ? counter : undefined;
      } catch (error) {
        if (isServerReply(error)) throw error;
        this.failed(error);
      }
    }
    return this.fallback.peek(key);
  }

  /** Never fails for Redis alone: a Redis outage degrades limits, it does not take the instance out of service. */
  async ping(): Promise<void> {
    if (this.client.status !== 'ready') return;
    try {
      await this.client.ping();
    } catch (error) {
      this.degrade((error as Error).message);
    }
  }

  /**
   * Whether Redis itself answers a PING, for readiness only (serving never depends on it). Rejects at once while
   * disconnected (no offline queue), and after `timeoutMs` when Redis does not answer.
   */
  async redisReachable(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis did not answer PING within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.degraded = false;
    this.client.removeAllListeners('close');
    await closeRedis(this.client);
    await this.fallback.close();
  }
}

/** An error Redis itself answered (a bug such as a wrong type), as opposed to a lost connection or a timeout. */
function isServerReply(error: unknown): boolean {
  return (error as Error)?.name === 'ReplyError';
}
