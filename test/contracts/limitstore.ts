import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LimitStore } from '../../src/limits/limit-store.ts';

export interface LimitStoreFixture {
  store: LimitStore;
  /** A second store over the same counters (another instance), where the implementation shares them. */
  peer?: LimitStore;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What every LimitStore must do: the semantics rate limits and quotas are built on. */
export function limitStoreContract(name: string, open: () => Promise<LimitStoreFixture>): void {
  describe(`LimitStore contract: ${name}`, () => {
    let fixture: LimitStoreFixture;
    let store: LimitStore;
    const key = (label: string) => `${label}:${randomBytes(4).toString('hex')}`;
    before(async () => {
      fixture = await open();
      store = fixture.store;
      await store.ping();
    });
    after(async () => {
      await fixture?.store.close();
      await fixture?.peer?.close();
      await fixture?.cleanup();
    });

    test('a new counter starts at 0 with the given expiry; later increments add and keep that expiry', async () => {
      const k = key('basic');
      const expiresAt = Date.now() + 60_000;
      assert.deepEqual(await store.increment(k, 1, expiresAt), { count: 1, expiresAt });
      assert.deepEqual(await store.increment(k, 5, expiresAt + 99_999), { count: 6, expiresAt });
      assert.deepEqual(await store.peek(k), { count: 6, expiresAt });
    });

    test('an increment of 0 reads (and creates) a counter without changing it', async () => {
      const k = key('zero');
      const expiresAt = Date.now() + 60_000;
      assert.deepEqual(await store.increment(k, 0, expiresAt), { count: 0, expiresAt });
      await store.increment(k, 2, expiresAt);
      assert.deepEqual(await store.increment(k, 0, expiresAt + 1), { count: 2, expiresAt });
    });

    test('peek of a counter that never existed is undefined', async () => {
      assert.equal(await store.peek(key('never')), undefined);
    });

    test('counters are independent', async () => {
      const a = key('a');
      const b = key('b');
      const expiresAt = Date.now() + 60_000;
      await store.increment(a, 3, expiresAt);
      assert.equal((await store.increment(b, 1, expiresAt)).count, 1);
    });

    test('an expired counter is gone, and the next increment starts a new window', async () => {
      const k = key('expiry');
      const first = Date.now() + 150;
      await store.increment(k, 7, first);
      await sleep(250);
      assert.equal(await store.peek(k), undefined);
      const second = Date.now() + 60_000;
      assert.deepEqual(await store.increment(k, 1, second), { count: 1, expiresAt: second });
    });

    test('concurrent increments are atomic: none is lost, every caller sees a distinct count', async () => {
      const k = key('race');
      const expiresAt = Date.now() + 60_000;
      const stores = fixture.peer ? [store, fixture.peer] : [store];
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => stores[i % stores.length]!.increment(k, 1, expiresAt)));
      assert.deepEqual(
        results.map((result) => result.count).sort((x, y) => x - y),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assert.equal((await store.peek(k))?.count, 200);
    });

    if (name.includes('Redis')) {
      test('two stores on the same Redis count one counter (shared across instances)', async () => {
        assert.ok(fixture.peer, 'the Redis fixture provides a second store');
        const k = key('shared');
        const expiresAt = Date.now() + 60_000;
        await store.increment(k, 2, expiresAt);
        assert.deepEqual(await fixture.peer!.increment(k, 3, expiresAt), { count: 5, expiresAt });
        assert.deepEqual(await store.peek(k), { count: 5, expiresAt });
      });
    }
  });
}
