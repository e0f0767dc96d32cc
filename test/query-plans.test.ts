import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery, sql, type KyselyPlugin } from 'kysely';
import { isPostgres, migrateToLatest, openDatabase, type CatalogueDb } from '../src/catalogue/db.ts';
import { CoverCatalogue } from '../src/catalogue/covers.ts';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './helpers/backends.ts';
import { makeTempDir } from './helpers/server.ts';

/** Covers in the table whose plans are read: enough that PostgreSQL's planner prefers an index where one fits. */
const COVERS = 20_000;

/** Fill the catalogue in a few statements: bulk-imported covers (one shared timestamp), an ISBN each, some pending. */
async function populate(db: CatalogueDb): Promise<void> {
  const numbers = isPostgres(db)
    ? sql`select n from generate_series(1, ${sql.lit(COVERS)}) as n`
    : sql`with recursive s(n) as (select 1 union all select n + 1 from s where n < ${sql.lit(COVERS)}) select n from s`;
  await sql`insert into entities (olid, kind, created_at) select 'OL' || n || 'M', 'edition', 1000 from (${numbers}) as t`.execute(db);
  await sql`insert into covers (id, category, olid, blob_key, sha256, mime, width, height, byte_size, created_at, modified_at, deleted, status)
    select n, 'b', 'OL' || n || 'M', 'k' || n, 'h' || n, 'image/jpeg', 10, 10, 100, 1000, 1000, 0,
      case when n % 1000 = 0 then 'pending' else 'approved' end from (${numbers}) as t`.execute(db);
  await sql`insert into identifiers (scheme, value, olid, cover_id, created_at) select 'isbn', '978' || n, 'OL' || n || 'M', 0, 1000 from (${numbers}) as t`.execute(db);
  await sql`insert into identifiers (scheme, value, olid, cover_id, created_at) select 'oclc', 'o' || n, '', n, 1000 from (${numbers}) as t`.execute(db);
  await sql`analyze`.execute(db);
}

/** Every statement a catalogue call runs, compiled, so the test can ask the database how it would answer each. */
function recording(db: CatalogueDb): { db: CatalogueDb; statements: CompiledQuery[] } {
  const statements: CompiledQuery[] = [];
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      statements.push(db.getExecutor().compileQuery(args.node, args.queryId));
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
  return { db: db.withPlugin(plugin), statements };
}

/**
 * The plan's lines that read a whole table, and with `inIndexOrder` (statements over the whole catalogue: recent covers,
 * queues, exports) any sort: those must read their page in index order. Sorting one entity's few covers is fine.
 */
async function fullReads(db: CatalogueDb, statement: CompiledQuery, inIndexOrder: boolean): Promise<string[]> {
  if (isPostgres(db)) {
    const { rows } = await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${statement.sql}`, [...statement.parameters]));
    return rows.map((row) => row['QUERY PLAN']).filter((line) => /Seq Scan on (covers|identifiers)\b/.test(line) || (inIndexOrder && /^\s*(->\s*)?Sort\b/.test(line)));
  }
  const { rows } = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${statement.sql}`, [...statement.parameters]));
  return rows.map((row) => row.detail).filter((line) => /^SCAN (covers|identifiers)$/.test(line) || (inIndexOrder && /USE TEMP B-TREE FOR ORDER BY/.test(line)));
}

function plansOf(name: string, open: () => Promise<{ db: CatalogueDb; close(): Promise<void> }>) {
  describe(`request-path query plans on ${name} (${COVERS} covers)`, () => {
    let opened: { db: CatalogueDb; close(): Promise<void> };
    before(async () => {
      opened = await open();
      await migrateToLatest(opened.db);
      await populate(opened.db);
    });
    after(async () => opened?.close());

    const calls: Array<[string, (catalogue: CoverCatalogue) => Promise<unknown>, inIndexOrder?: boolean]> = [
      ['identifier lookup through an edition', (c) => c.coverForIdentifier('isbn', '9785000')],
      ['identifier lookup of a cover', (c) => c.coverForIdentifier('oclc', 'o5000')],
      ['an entity\'s cover', (c) => c.coverForOlid('OL5000M')],
      ['recent covers (one shared timestamp)', (c) => c.query({ offset: 0, limit: 20 }), true],
      ['recent covers of a category', (c) => c.query({ category: 'b', offset: 0, limit: 20 }), true],
      ['moderation queue', (c) => c.pendingCovers(20, 0), true],
      ['a cover\'s identifiers', (c) => c.identifiersOf({ id: 5000, olid: 'OL5000M' })],
      ['export page', async (c) => (await c.visibleCoverPages(500).next()).value, true],
    ];
    for (const [what, call, inIndexOrder = false] of calls) {
      test(`${what} reads through an index`, async () => {
        const recorder = recording(opened.db);
        await call(new CoverCatalogue(recorder.db));
        assert.ok(recorder.statements.length > 0);
        for (const statement of recorder.statements) {
          assert.deepEqual(await fullReads(opened.db, statement, inIndexOrder), [], `${what}: ${statement.sql}`);
        }
      });
    }
    test('the lookups still find their covers', async () => {
      const catalogue = new CoverCatalogue(opened.db);
      assert.equal((await catalogue.coverForIdentifier('isbn', '9785001'))?.id, 5001);
      assert.equal((await catalogue.coverForIdentifier('oclc', 'o5002'))?.id, 5002);
      assert.equal(await catalogue.coverForIdentifier('isbn', '9785000'), undefined, 'a pending cover is not served');
      assert.equal((await catalogue.pendingCovers(5, 0))[0]?.id, 1000);
      assert.equal((await catalogue.query({ offset: 0, limit: 1 }))[0]?.id, COVERS - 1);
    });
  });
}

plansOf('SQLite', async () => {
  const db = await openDatabase({ sqlitePath: path.join(await makeTempDir('jacket-plans-'), 'catalogue.sqlite') });
  return { db, close: () => db.destroy() };
});

if (TEST_DATABASE_URL) {
  let database: TestDatabase;
  plansOf('PostgreSQL', async () => {
    database = await createTestDatabase();
    const db = await openDatabase({ databaseUrl: database.url, sqlitePath: '' });
    return {
      db,
      close: async () => {
        await db.destroy();
        await database.drop();
      },
    };
  });
}
