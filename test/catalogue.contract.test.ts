import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
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
} else {
  explainMissing('PostgreSQL', 'TEST_DATABASE_URL');
}
