import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LocalChangeBus, type ChangeBus, type ChangeMessage } from '../src/changes.ts';
import { RedisChangeBus } from '../src/changes-redis.ts';
import { explainMissing, redisPrefix, TEST_REDIS_URL } from './helpers/backends.ts';

interface BusFixture {
  bus: ChangeBus;
  /** Another instance's bus on the same channel, where the implementation reaches other instances. */
  peer?: ChangeBus;
  cleanup(): Promise<void>;
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

function changeBusContract(name: string, open: () => Promise<BusFixture>): void {
  describe(`ChangeBus contract: ${name}`, () => {
    let fixture: BusFixture;
    const seen: ChangeMessage[] = [];
    const seenByPeer: ChangeMessage[] = [];
    before(async () => {
      fixture = await open();
      fixture.bus.subscribe((message) => seen.push(message));
      fixture.peer?.subscribe((message) => seenByPeer.push(message));
    });
    after(async () => {
      await fixture?.bus.close();
      await fixture?.peer?.close();
      await fixture?.cleanup();
    });

    test('a published message reaches this instance at once, exactly once', async () => {
      seen.length = 0;
      fixture.bus.publish({ type: 'cover-deleted', sha256: 'ab'.repeat(32) });
      assert.deepEqual(seen, [{ type: 'cover-deleted', sha256: 'ab'.repeat(32) }]);
      // Our own message coming back through the server is not delivered a second time.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(seen.length, 1);
    });

    if (name !== 'local') {
      test('a message published on one instance reaches the others within a second', async () => {
        seenByPeer.length = 0;
        fixture.bus.publish({ type: 'covers' });
        fixture.bus.publish({ type: 'cover-deleted', sha256: 'cd'.repeat(32) });
        await until(() => seenByPeer.length >= 2, 1000);
        assert.deepEqual(seenByPeer, [{ type: 'covers' }, { type: 'cover-deleted', sha256: 'cd'.repeat(32) }]);
      });
    }
  });
}

changeBusContract('local', async () => ({ bus: new LocalChangeBus(), cleanup: async () => {} }));

const redisUrl = TEST_REDIS_URL;
if (redisUrl) {
  changeBusContract('Redis pub/sub', async () => {
    const { prefix, cleanup } = await redisPrefix();
    const bus = new RedisChangeBus({ url: redisUrl, prefix });
    const peer = new RedisChangeBus({ url: redisUrl, prefix });
    const reachable = (await Promise.all([bus.connected(3000), peer.connected(3000)])).every(Boolean);
    if (!reachable) {
      await Promise.all([bus.close(), peer.close()]);
      assert.fail(`Redis at ${redisUrl} is not reachable`);
    }
    return { bus, peer, cleanup };
  });
} else {
  explainMissing('Redis', 'TEST_REDIS_URL');
}
