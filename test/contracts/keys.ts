import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashSecret, KeyService } from '../../src/catalogue/keys.ts';
import type { CatalogueDb } from '../../src/catalogue/db.ts';
import { useCatalogueDb, type CatalogueFixture } from './fixture.ts';

/** What developer keys must do on every database engine. */
export function keyServiceContract(name: string, open: () => Promise<CatalogueFixture>): void {
  describe(`KeyService contract: ${name}`, () => {
    let db: CatalogueDb;
    let keys: KeyService;
    useCatalogueDb(open, (opened) => {
      db = opened;
      keys = new KeyService(db);
    });

    test('create returns the secret once; the key is found by its secret and by its id, with every field as given', async () => {
      const { secret, key } = await keys.create(
        { name: 'Label shop', contact: 'ops@example.org', dailyLimit: 5000, rateLimit: '2/1s', permissions: ['upload'] },
        1_700_000_000_456,
      );
      assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
      assert.match(key.id, /^k_[0-9a-f]{16}$/);
      assert.deepEqual(key, {
        id: key.id,
        name: 'Label shop',
        contact: 'ops@example.org',
        dailyLimit: 5000,
        rateLimit: '2/1s',
        permissions: ['upload'],
        createdAt: 1_700_000_000_456,
        revokedAt: null,
      });
      assert.deepEqual(await keys.findBySecret(secret), key);
      assert.deepEqual(await keys.findById(key.id), key);
      assert.deepEqual(await keys.find(key.id), key);
      assert.deepEqual(await keys.find(secret), key);
      assert.equal(JSON.stringify(await keys.list()).includes(secret), false, 'listings never carry the secret');
    });

    test('only the hash of the secret is stored: the hash itself opens nothing', async () => {
      const { secret, key } = await keys.create({ name: 'hash check' });
      // The one look at the table: the secret must not be anywhere in the key's stored row.
      const rows = await db.selectFrom('developer_keys').selectAll().where('id', '=', key.id).execute();
      assert.equal(rows.length, 1);
      assert.equal(JSON.stringify(rows[0]).includes(secret), false);
      assert.equal(Object.values(rows[0]!).includes(hashSecret(secret)), true);
      assert.equal(await keys.findBySecret(hashSecret(secret)), undefined);
      assert.equal(await keys.findBySecret(secret.slice(0, -1)), undefined);
      assert.equal(await keys.findBySecret(''), undefined);
      assert.equal(await keys.findBySecret('x'.repeat(201)), undefined);
      assert.equal(await keys.findById('k_0000000000000000'), undefined);
      assert.equal(await keys.findById('not an id'), undefined);
    });

    test('limits: null means the server default; zero, large numbers, rate texts and no permissions round-trip', async () => {
      const defaults = await keys.create({ name: 'defaults' });
      assert.equal(defaults.key.dailyLimit, null);
      assert.equal(defaults.key.rateLimit, null);
      assert.equal(defaults.key.contact, null);
      assert.deepEqual(defaults.key.permissions, []);
      assert.deepEqual(await keys.findBySecret(defaults.secret), defaults.key);

      const blocked = await keys.create({ name: 'blocked', dailyLimit: 0, rateLimit: 'off' });
      const found = await keys.findBySecret(blocked.secret);
      assert.equal(found?.dailyLimit, 0);
      assert.equal(found?.rateLimit, 'off');

      const huge = await keys.create({ name: 'huge', dailyLimit: 2 ** 40 });
      const hugeFound = await keys.findById(huge.key.id);
      assert.equal(hugeFound?.dailyLimit, 2 ** 40);
      assert.equal(typeof hugeFound?.dailyLimit, 'number');
    });

    test('list: oldest first (ties by id), revoked keys included', async () => {
      const before = (await keys.list()).length;
      const made = [];
      for (const [index, createdAt] of [3_000, 1_000, 2_000, 2_000].entries()) made.push((await keys.create({ name: `list ${index}` }, createdAt)).key);
      const listed = (await keys.list()).filter((key) => key.name.startsWith('list '));
      const tied = [made[2]!, made[3]!].sort((a, b) => (a.id < b.id ? -1 : 1));
      assert.deepEqual(listed.map((key) => key.id), [made[1]!.id, tied[0]!.id, tied[1]!.id, made[0]!.id]);
      await keys.revoke(made[0]!.id);
      assert.equal((await keys.list()).length, before + 4);
    });

    test('revoke by id or by secret; revoking again keeps the first time; an unknown key is undefined', async () => {
      const byId = await keys.create({ name: 'revoke me', permissions: ['upload'] });
      const revoked = await keys.revoke(byId.key.id, 1_800_000_000_000);
      assert.equal(revoked?.revokedAt, 1_800_000_000_000);
      assert.equal(typeof revoked?.revokedAt, 'number');
      const again = await keys.revoke(byId.secret, 1_900_000_000_000);
      assert.equal(again?.revokedAt, 1_800_000_000_000);
      // A revoked key is still found (the caller tells revoked from unknown), with its other fields intact.
      const found = await keys.findBySecret(byId.secret);
      assert.deepEqual(found, { ...byId.key, revokedAt: 1_800_000_000_000 });

      const bySecret = await keys.create({ name: 'revoke by secret' });
      assert.equal((await keys.revoke(bySecret.secret, 5))?.revokedAt, 5);
      assert.equal((await keys.findById(bySecret.key.id))?.revokedAt, 5);
      assert.equal(await keys.revoke('k_ffffffffffffffff'), undefined);
      assert.equal(await keys.revoke('no such secret'), undefined);
    });
  });
}
