import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryLimitStore } from '../src/limits/memory.ts';
import { RedisLimitStore } from '../src/limits/redis.ts';
import { limitStoreContract } from './contracts/limitstore.ts';
import { explainMissing, redisPrefix, TEST_REDIS_URL } from './helpers/backends.ts';
import { freePort } from './helpers/ports.ts';

limitStoreContract('memory', async () => ({ store: new MemoryLimitStore(), cleanup: async () => {} }));

const redisUrl = TEST_REDIS_URL;
if (redisUrl) {
  limitStoreContract('Redis', async () => {
    const { prefix, cleanup } = await redisPrefix();
    const store = new RedisLimitStore({ url: redisUrl, prefix });
    const peer = new RedisLimitStore({ url: redisUrl, prefix });
    // TEST_REDIS_URL is set: an unreachable Redis fails here instead of silently counting in memory.
    const reachable = (await Promise.all([store.connected(3000), peer.connected(3000)])).every(Boolean);
    if (!reachable) {
      await Promise.all([store.close(), peer.close()]);
      assert.fail(`Redis at ${redisUrl} is not reachable`);
    }
    return { store, peer, cleanup };
  });

  describe('RedisLimitStore when Redis goes away', () => {
    test('degrades to per-instance counting with a warning, then shares counters again once Redis is back', async (t) => {
      const port = await freePort();
      const startRedis = () => {
        const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
        // TEST_REDIS_URL is set, so this machine runs Redis: its redis-server binary must be there too.
        child.once('error', (error) => assert.fail(`cannot start redis-server for the outage test: ${error.message}`));
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        return { stop: async () => (child.kill('SIGKILL'), await exited) };
      };
      const url = `redis://127.0.0.1:${port}`;
      let redis = startRedis();
      t.after(() => redis.stop());
      const warnings: string[] = [];
      const notes: string[] = [];
      const store = new RedisLimitStore({ url, prefix: 'degrade:', log: { warn: (m) => warnings.push(m), info: (m) => notes.push(m) } });
      t.after(() => store.close());
      assert.equal(await store.connected(5000), true);
      const expiresAt = Date.now() + 60_000;
      assert.equal((await store.increment('k', 1, expiresAt)).count, 1);
      assert.equal(store.shared, true);

      await redis.stop();
      // Requests keep being counted (here, in memory) instead of failing.
      const during = await store.increment('k', 1, expiresAt);
      assert.equal(during.count, 1, 'the per-instance fallback starts its own count');
      assert.equal(store.shared, false);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /per instance/);
      await store.increment('k', 1, expiresAt);
      assert.equal(warnings.length, 1, 'one warning per outage, not one per request');

      redis = startRedis();
      const deadline = Date.now() + 10_000;
      while (!store.shared && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(store.shared, true, 'reconnected to Redis');
      assert.match(notes.join('\n'), /shared across instances again/);
      assert.equal((await store.increment('k', 4, expiresAt)).count, 4);
      const direct = new Redis(url);
      try {
        assert.equal(await direct.hget('degrade:limit:k', 'c'), '4', 'the counter lives in Redis again');
      } finally {
        direct.disconnect();
      }
    });
  });
} else {
  explainMissing('Redis', 'TEST_REDIS_URL');
}

