import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { closeRedis, connectRedis, whenReady } from '../redis/connect.ts';
import type { RenditionCoordinator } from './engine.ts';

/**
 * Rendition single-flight across instances: a short Redis lease (SET NX PX) per rendition key. Whoever holds it
 * makes the rendition; the others wait for it in the shared blob store. Without Redis every instance makes its own,
 * which is only wasted work: renditions are deterministic and stored atomically.
 */
export class RedisRenditionCoordinator implements RenditionCoordinator {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly leaseMs: number;
  /** Leases carry this instance's id, so a release never removes a lease another instance took after ours expired. */
  private readonly owner = randomUUID();

  constructor(options: { url: string; prefix: string; leaseMs?: number }) {
    this.client = connectRedis(options.url);
    this.prefix = `${options.prefix}render:`;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.client.defineCommand('jacketRelease', {
      numberOfKeys: 1,
      lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
    });
  }

  /** Wait (at most `timeoutMs`) for the connection; until then every instance makes its own renditions. */
  connected(timeoutMs: number): Promise<boolean> {
    return whenReady(this.client, timeoutMs);
  }

  async claim(key: string): Promise<boolean> {
    if (this.client.status !== 'ready') return true;
    try {
      return (await this.client.set(this.prefix + key, this.owner, 'PX', this.leaseMs, 'NX')) === 'OK';
    } catch {
      return true;
    }
  }

  async release(key: string): Promise<void> {
    if (this.client.status !== 'ready') return;
    await (this.client as unknown as { jacketRelease(key: string, owner: string): Promise<number> }).jacketRelease(this.prefix + key, this.owner).catch(() => {});
  }

  async close(): Promise<void> {
    await closeRedis(this.client);
  }
}
