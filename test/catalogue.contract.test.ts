import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { CoverCatalogue, type NewCover } from '../src/catalogue/covers.ts';
import { migrateToLatest, openDatabase } from '../src/catalogue/db.ts';
import { migrations } from '../src/catalogue/migrations/index.ts';
import { catalogueContract } from './contracts/catalogue.ts';
import { createTestDatabase, explainMissing, TEST_DATABASE_URL } from './helpers/backends.ts';
import { makeTempDir } from './helpers/server.ts';

catalogueContract('SQLite', async () => {
  const dir = await makeTempDir('jacket-sqlite-');
  const db = await openDatabase({ sqlitePath: path.join(dir, 'catalogue.sqlite') });
  await migrateToLatest(db);
  return { db, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
});

if (TEST_DATABASE_URL) {
  catalogueContract('PostgreSQL', async () => {
    const database = await createTestDatabase();
    const db = await openDatabase({ databaseUrl: database.url, sqlitePath: '/nonexistent/unused.sqlite' });
    await migrateToLatest(db);
    return { db, cleanup: () => database.drop() };
  });

  describe('PostgreSQL migrations', () => {
    test('instances starting at once all migrate successfully, and each migration runs exactly once', async () => {
      const database = await createTestDatabase();
      const dbs = await Promise.all([1, 2, 3].map(() => openDatabase({ databaseUrl: database.url, sqlitePath: '/nonexistent/unused.sqlite' })));
      try {
        await Promise.all(dbs.map((db) => migrateToLatest(db)));
        const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(dbs[0]!);
        assert.deepEqual(
          applied.rows.map((row) => row.name),
          Object.keys(migrations).sort(),
        );
        // Seed rows written by migrations exist once each (a migration run twice would fail or duplicate them).
        const sequences = await dbs[1]!.selectFrom('sequences').selectAll().orderBy('name').execute();
        assert.deepEqual(sequences.filter((row) => row.name === 'cover_id'), [{ name: 'cover_id', value: 0 }]);
        assert.equal(new Set(sequences.map((row) => row.name)).size, sequences.length);
      } finally {
        await Promise.all(dbs.map((db) => db.destroy()));
        await database.drop();
      }
    });
  });

  describe('PostgreSQL bulk imports and live uploads', () => {
    const cover = (sha: string, id?: number): NewCover => ({
      id,
      category: 'b',
      blobKey: `originals/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`,
      sha256: sha,
      mime: 'image/jpeg',
      width: 500,
      height: 750,
      byteSize: 1000,
    });

    test("a batch being committed does not hold up an upload's id: the batch's transaction leaves the id sequence alone", async () => {
      const database = await createTestDatabase();
      const db = await openDatabase({ databaseUrl: database.url, sqlitePath: '/nonexistent/unused.sqlite' });
      try {
        await migrateToLatest(db);
        const catalogue = new CoverCatalogue(db);
        // As the Open Library import does: the sequence moved past the batch first, then the batch in a transaction
        // that stays open while the next batch is read (held open here until the upload has had its chance).
        await catalogue.reserveIdsThrough(5001);
        let entered!: () => void;
        let release!: () => void;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        const held = new Promise<void>((resolve) => (release = resolve));
        const batch = db.transaction().execute(async (trx) => {
          await catalogue.insertCovers(trx, [cover('a'.repeat(64), 5000), cover('b'.repeat(64), 5001)]);
          entered();
          await held;
        });
        await inside;
        const upload = catalogue.addCover(cover('c'.repeat(64)));
        const outcome = await Promise.race([upload.then((added) => added.id), new Promise((resolve) => setTimeout(resolve, 3000, 'still waiting'))]);
        release();
        await batch;
        await upload;
        assert.equal(outcome, 5002, 'the upload got the next id while the batch was still open');
        assert.equal((await catalogue.getCover(5001))?.sha256, 'b'.repeat(64));
      } finally {
        await db.destroy();
        await database.drop();
      }
    });
  });
} else {
  explainMissing('PostgreSQL', 'TEST_DATABASE_URL');
}
