import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { BlobStore } from '../../src/storage/blobstore.ts';

export interface BlobStoreFixture {
  store: BlobStore;
  cleanup(): Promise<void>;
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
}

/** What every BlobStore must do, whatever keeps the bytes. */
export function blobStoreContract(name: string, open: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;
    before(async () => {
      fixture = await open();
      store = fixture.store;
    });
    after(async () => {
      await fixture?.store.close();
      await fixture?.cleanup();
    });

    test('put then get returns the same bytes; stat gives the size', async () => {
      const bytes = randomBytes(70_000);
      await store.put('originals/ab/cd/abcd1', bytes);
      assert.ok((await store.get('originals/ab/cd/abcd1'))!.equals(bytes));
      assert.equal((await store.stat('originals/ab/cd/abcd1'))?.size, 70_000);
    });

    test('stat says when the blob was last written (epoch ms), which fsck\'s grace period relies on', async () => {
      const before = Date.now();
      await store.put('misc/dated', Buffer.from('dated'));
      const modifiedAt = (await store.stat('misc/dated'))?.modifiedAt;
      assert.equal(typeof modifiedAt, 'number');
      // Object stores keep whole seconds (and their clock is not ours): a generous window, about "now".
      assert.ok(Math.abs(modifiedAt! - before) < 60_000, `modifiedAt ${modifiedAt} is not about now (${before})`);
    });

    test('re-storing a blob (touch where the store has it, put again otherwise) makes it count as just written', async () => {
      const bytes = Buffer.from('re-used bytes');
      await store.put('misc/reused', bytes);
      const first = (await store.stat('misc/reused'))!.modifiedAt!;
      // Object stores keep whole seconds: let one go by, so a refreshed time is visibly later.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      if (store.touch) assert.equal(await store.touch('misc/reused'), true);
      else await store.put('misc/reused', bytes);
      assert.ok((await store.stat('misc/reused'))!.modifiedAt! > first);
      assert.ok((await store.get('misc/reused'))!.equals(bytes));
      if (store.touch) {
        assert.equal(await store.touch('misc/never-written'), false);
        assert.equal(await store.stat('misc/never-written'), undefined, 'touch creates nothing');
      }
    });

    test('a missing blob is undefined for get and stat', async () => {
      assert.equal(await store.get('originals/zz/zz/missing'), undefined);
      assert.equal(await store.stat('originals/zz/zz/missing'), undefined);
    });

    test('an empty blob is stored and read back as empty, not missing', async () => {
      await store.put('misc/empty', Buffer.alloc(0));
      assert.equal((await store.get('misc/empty'))?.length, 0);
      assert.equal((await store.stat('misc/empty'))?.size, 0);
    });

    test('put replaces a blob whole', async () => {
      await store.put('misc/replace', Buffer.from('first version, longer than the second'));
      await store.put('misc/replace', Buffer.from('second'));
      assert.equal((await store.get('misc/replace'))!.toString(), 'second');
      assert.equal((await store.stat('misc/replace'))?.size, 6);
    });

    test('concurrent puts of one key leave one whole version, never a mix', async () => {
      const versions = [0, 1, 2, 3].map((n) => Buffer.alloc(200_000, n + 1));
      await Promise.all(versions.map((bytes) => store.put('misc/race', bytes)));
      const stored = (await store.get('misc/race'))!;
      assert.ok(versions.some((bytes) => bytes.equals(stored)));
    });

    test('delete removes a blob; deleting a missing blob is not an error', async () => {
      await store.put('misc/doomed', Buffer.from('x'));
      await store.delete('misc/doomed');
      assert.equal(await store.get('misc/doomed'), undefined);
      await store.delete('misc/doomed');
      await store.delete('misc/never-was');
    });

    test('list gives every key under a prefix (across pages), and only those', async () => {
      const keys = Array.from({ length: 7 }, (_, i) => `renditions/ef/efgh${i}/10x${i}.jpg`);
      await Promise.all(keys.map((key) => store.put(key, Buffer.from(key))));
      await store.put('renditions/eg/other/1x1.jpg', Buffer.from('other'));
      assert.deepEqual(await collect(store.list('renditions/ef/')), [...keys].sort());
      assert.deepEqual(await collect(store.list('renditions/no-such/')), []);
      const all = await collect(store.list(''));
      for (const key of [...keys, 'renditions/eg/other/1x1.jpg', 'misc/replace']) assert.ok(all.includes(key), key);
    });

    test('unsafe keys are refused before any I/O', async () => {
      for (const key of ['../escape', '/absolute', 'a/../../b', 'a//b', '', 'a/./b']) {
        await assert.rejects(store.put(key, Buffer.from('x')), /unsafe blob key/, key);
        await assert.rejects(store.get(key), /unsafe blob key/, key);
      }
    });

    test('ping succeeds on a reachable store', async () => {
      await store.ping();
    });
  });
}
