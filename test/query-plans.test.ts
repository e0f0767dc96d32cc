import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery, sql, type KyselyPlugin } from 'kysely';
import { isPostgres, migrateToLatest, openDatabase, refreshStatistics, type CatalogueDb } from '../src/catalogue/db.ts';
import { CoverCatalogue } from '../src/catalogue/covers.ts';
import { titleOf } from '../src/catalogue/titles.ts';
import { hashSecret, KeyService } from '../src/catalogue/keys.ts';
import { ReleaseCatalogue } from '../src/catalogue/releases.ts';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './helpers/backends.ts';
import { makeTempDir } from './helpers/server.ts';
import { exportIdMap } from '../src/bulk/identifier-dumps.ts';
import type { Services } from '../src/services.ts';

/** Covers in the table whose plans are read: enough that PostgreSQL's planner prefers an index where one fits. */
const COVERS = 20_000;

/** Fill the catalogue in a few statements: bulk-imported covers (one shared timestamp), an ISBN each, some pending. */
async function populate(db: CatalogueDb, statistics: boolean): Promise<void> {
  const numbers = isPostgres(db)
    ? sql`select n from generate_series(1, ${sql.lit(COVERS)}) as n`
    : sql`with recursive s(n) as (select 1 union all select n + 1 from s where n < ${sql.lit(COVERS)}) select n from s`;
  await sql`insert into entities (olid, kind, created_at) select 'OL' || n || 'M', 'edition', 1000 from (${numbers}) as t`.execute(db);
  await sql`insert into covers (id, category, olid, blob_key, sha256, mime, width, height, byte_size, created_at, modified_at, deleted, status)
    select n, 'b', 'OL' || n || 'M', 'k' || n, 'h' || n, 'image/jpeg', 10, 10, 100, 1000, 1000, 0,
      case when n % 1000 = 0 then 'pending' else 'approved' end from (${numbers}) as t`.execute(db);
  await sql`insert into identifiers (scheme, value, olid, cover_id, created_at) select 'isbn', '978' || n, 'OL' || n || 'M', 0, 1000 from (${numbers}) as t`.execute(db);
  await sql`insert into identifiers (scheme, value, olid, cover_id, created_at) select 'oclc', 'o' || n, '', n, 1000 from (${numbers}) as t`.execute(db);
  // A title per edition of a real title's length (PostgreSQL weighs a scan by the table's size), words folded as the
  // application folds them; every title has the word "title".
  await sql`insert into titles (olid, cover_id, title, authors, author_keys, title_words, author_words, created_at)
    select 'OL' || n || 'M', 0, 'Title ' || n || ', being the account of a voyage round the world, with notes and maps',
      'Author ' || (n % 100) || ' translated from the French by Another Writer', '',
      'title ' || n || ' being the account of a voyage round the world with notes and maps',
      'author ' || (n % 100) || ' translated from the french by another writer', 1000 from (${numbers}) as t`.execute(db);
  // Cover Art Archive: a release per cover in 10,000 groups, an image on each (some pending), an edit each, merges.
  await sql`insert into caa_releases (mbid, release_group, date_year, created_at) select 'r' || n, 'g' || (n % 10000), 2000 + n % 20, 1000 from (${numbers}) as t`.execute(db);
  await sql`insert into caa_release_groups (mbid, chosen_release) select 'g' || n, null from (${numbers}) as t where n <= 10000`.execute(db);
  await sql`insert into caa_merges (old_mbid, new_mbid, entity, created_at) select 'm' || n, 'r' || n, 'release', 1000 from (${numbers}) as t`.execute(db);
  await sql`insert into caa_images (id, release, position, types, comment, approved, edit_id, blob_key, sha256, mime, width, height, byte_size, created_at, status)
    select n, 'r' || n, 1, '1', '', 1, n, 'c' || n, 'i' || n, 'image/jpeg', 10, 10, 100, 1000,
      case when n % 1000 = 0 then 'pending' else 'approved' end from (${numbers}) as t`.execute(db);
  await sql`insert into caa_edits (id, action, release, image_id, created_at) select n, 'add-image', 'r' || n, n, 1000 from (${numbers}) as t`.execute(db);
  // Developer keys: a secret's hash is what a key check looks up.
  await sql`insert into developer_keys (id, secret_sha256, name, permissions, created_at) select 'k_' || n, 's' || n, 'key', '', 1000 from (${numbers}) as t`.execute(db);
  await sql`insert into developer_keys (id, secret_sha256, name, permissions, created_at) values ('k_0123456789abcdef', ${hashSecret('the-secret')}, 'key', '', 1000)`.execute(db);
  // What a bulk import leaves behind (on SQLite nothing: its plans must be right without statistics).
  if (statistics) await refreshStatistics(db, ['covers', 'entities', 'identifiers', 'titles', 'pending_cover_links', 'caa_releases', 'caa_release_groups', 'caa_images', 'caa_edits', 'caa_merges', 'developer_keys']);
}

/**
 * Columns of a few distinct values: an index search on them alone reads a large part of the table (every approved
 * cover), which is a scan by another name. Only the queues may search by them, for `pending`, which stays rare.
 */
const FEW_VALUES = ['status', 'deleted', 'category', 'kind', 'approved', 'action', 'entity'];
function searchesOnlyFewValues(columns: string[], statement: CompiledQuery): boolean {
  return columns.length > 0 && columns.every((column) => FEW_VALUES.includes(column)) && !statement.parameters.includes('pending');
}

/** Tables that grow with the catalogue: reading any of them whole is a failure. */
const LARGE_TABLES = ['covers', 'identifiers', 'titles', 'entities', 'caa_releases', 'caa_release_groups', 'caa_merges', 'caa_images', 'caa_edits', 'developer_keys'];

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
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
 * What in a statement's plan reads a large table whole: a sequential scan, or an index walked end to end without a
 * condition, which is fine only with `inIndexOrder` (statements over the whole catalogue: recent covers, queues,
 * exports, which stop after their page) and then no sort: those must read their page in index order. Sorting one
 * entity's or one release's few rows is fine.
 */
async function fullReads(db: CatalogueDb, statement: CompiledQuery, inIndexOrder: boolean): Promise<string[]> {
  const found: string[] = [];
  if (isPostgres(db)) {
    const { rows } = await db.executeQuery<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(CompiledQuery.raw(`EXPLAIN (FORMAT JSON) ${statement.sql}`, [...statement.parameters]));
    const visit = (node: PlanNode) => {
      const table = node['Relation Name'];
      const large = table !== undefined && LARGE_TABLES.includes(table);
      if (large && /^(Seq Scan|Sample Scan|Tid Range Scan)$/.test(node['Node Type'])) found.push(`${node['Node Type']} on ${table}`);
      if (large && /^Index (Only )?Scan$/.test(node['Node Type']) && node['Index Cond'] === undefined && !inIndexOrder) {
        found.push(`${node['Node Type']} of all of ${node['Index Name']} on ${table}`);
      }
      const condition = node['Index Cond'];
      if (large && condition !== undefined) {
        const columns = [...condition.matchAll(/(\w+)\)?(?:::\w+)?\s*(?:=|<>|<=|>=|<|>)/g)].map((match) => match[1]!);
        if (searchesOnlyFewValues(columns, statement)) found.push(`${node['Node Type']} on ${table} by ${condition} alone`);
      }
      if (inIndexOrder && /Sort$/.test(node['Node Type'])) found.push(node['Node Type']);
      for (const child of node.Plans ?? []) visit(child);
    };
    for (const row of rows) for (const plan of row['QUERY PLAN']) visit(plan.Plan);
    return found;
  }
  const { rows } = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${statement.sql}`, [...statement.parameters]));
  for (const { detail } of rows) {
    const scan = /^SCAN (\w+)( USING (COVERING )?INDEX \w+)?$/.exec(detail);
    if (scan && LARGE_TABLES.includes(scan[1]!) && (scan[2] === undefined || !inIndexOrder)) found.push(detail);
    const search = /^SEARCH (\w+) USING (?:COVERING )?INDEX \w+ \((.*)\)$/.exec(detail);
    if (search && LARGE_TABLES.includes(search[1]!)) {
      const columns = search[2]!.split(' AND ').map((term) => /^(\w+)/.exec(term)?.[1] ?? '');
      if (searchesOnlyFewValues(columns, statement)) found.push(detail);
    }
    if (inIndexOrder && /USE TEMP B-TREE FOR (ORDER BY|DISTINCT|GROUP BY)/.test(detail)) found.push(detail);
  }
  return found;
}

function plansOf(name: string, statistics: boolean, open: () => Promise<{ db: CatalogueDb; close(): Promise<void> }>) {
  describe(`request-path query plans on ${name} (${COVERS} covers)`, () => {
    let opened: { db: CatalogueDb; close(): Promise<void> };
    before(async () => {
      opened = await open();
      await migrateToLatest(opened.db);
      await populate(opened.db, statistics);
    });
    after(async () => opened?.close());

    const olids = Array.from({ length: 100 }, (_, i) => `OL${5001 + i * 7}M`);
    const calls: Array<[string, (services: { covers: CoverCatalogue; releases: ReleaseCatalogue; keys: KeyService }) => Promise<unknown>, inIndexOrder?: boolean]> = [
      ['identifier lookup through an edition', ({ covers }) => covers.coverForIdentifier('isbn', '9785000')],
      ['identifier lookup of a cover', ({ covers }) => covers.coverForIdentifier('oclc', 'o5000')],
      ['an entity\'s cover', ({ covers }) => covers.coverForOlid('OL5000M')],
      ['a cover by id', ({ covers }) => covers.visibleCover(5000)],
      ['whether an edition is known', ({ covers }) => covers.knownEdition('isbn', '9785000')],
      ['whether an edition is known by OLID', ({ covers }) => covers.knownEdition('olid', 'OL5000M')],
      ['recent covers (one shared timestamp)', ({ covers }) => covers.query({ offset: 0, limit: 20 }), true],
      ['recent covers of a category', ({ covers }) => covers.query({ category: 'b', offset: 0, limit: 20 }), true],
      ['/b/query with 100 OLIDs', ({ covers }) => covers.query({ olids, offset: 0, limit: 100 })],
      ['/b/query with 100 OLIDs of a category', ({ covers }) => covers.query({ category: 'b', olids, offset: 0, limit: 100 })],
      ['moderation queue', ({ covers }) => covers.pendingCovers(20, 0), true],
      ['moderation queue of release images', ({ releases }) => releases.pendingImages(20, 0), true],
      ['collection listing', ({ covers }) => covers.browseCovers({ offset: 0, limit: 50 }), true],
      ['collection listing of a category', ({ covers }) => covers.browseCovers({ category: 'b', offset: 0, limit: 50 }), true],
      ['collection listing of a status', ({ covers }) => covers.browseCovers({ status: 'pending', offset: 0, limit: 50 }), true],
      ['collection listing of an identifier', ({ covers }) => covers.browseCovers({ identifier: { scheme: 'isbn', value: '9785001' }, offset: 0, limit: 50 })],
      ['collection listing of a cover\'s identifier', ({ covers }) => covers.browseCovers({ identifier: { scheme: 'oclc', value: 'o5001' }, offset: 0, limit: 50 })],
      ['collection listing oldest first', ({ covers }) => covers.browseCovers({ sort: 'oldest', offset: 0, limit: 50 }), true],
      ['collection listing last modified first', ({ covers }) => covers.browseCovers({ sort: 'modified', offset: 0, limit: 50 }), true],
      ['collection listing of covers without identifiers', ({ covers }) => covers.browseCovers({ withoutIdentifiers: true, offset: 0, limit: 50 }), true],
      ['collection listing of an OLID', ({ covers }) => covers.browseCovers({ olid: 'OL5001M', offset: 0, limit: 50 })],
      ['collection search by title words', ({ covers }) => covers.browseCovers({ words: ['title', '5001'], offset: 0, limit: 50 })],
      ['a cover\'s identifiers', ({ covers }) => covers.identifiersOf({ id: 5000, olid: 'OL5000M' })],
      ['a cover\'s title', ({ covers }) => titleOf(covers.db, { id: 5000, olid: 'OL5000M' })],
      ['export page', async ({ covers }) => (await covers.visibleCoverPages(500).next()).value, true],
      ['CAA release listing (merge followed)', async ({ releases }) => releases.imagesOf(await releases.resolveMbid('m5000', 'release'))],
      ['CAA release', ({ releases }) => releases.getRelease('r5000')],
      ['CAA image', ({ releases }) => releases.getImage(5000)],
      ['CAA release group listing', ({ releases }) => releases.releaseGroupArt('g5001')],
      ['CAA release group exists', ({ releases }) => releases.releaseGroupExists('g5000')],
      ['CAA image state', ({ releases }) => releases.imageState(123_456)],
      ['CAA export page', async ({ releases }) => (await releases.releasesWithImages(500).next()).value, true],
      ['key check by secret', ({ keys }) => keys.findBySecret('the-secret')],
      ['key by id', ({ keys }) => keys.findById('k_0123456789abcdef')],
    ];
    for (const [what, call, inIndexOrder = false] of calls) {
      test(`${what} reads through an index`, async () => {
        const recorder = recording(opened.db);
        await call({ covers: new CoverCatalogue(recorder.db), releases: new ReleaseCatalogue(recorder.db), keys: new KeyService(recorder.db) });
        assert.ok(recorder.statements.length > 0);
        for (const statement of recorder.statements) {
          assert.deepEqual(await fullReads(opened.db, statement, inIndexOrder), [], `${what}: ${statement.sql}`);
        }
      });
    }
    test('the id-mapping export reads each page through an index, never the covers per identifier', async () => {
      const recorder = recording(opened.db);
      const services = { db: recorder.db, catalogue: new CoverCatalogue(recorder.db) } as unknown as Services;
      const out = path.join(await makeTempDir('jacket-plans-'), 'idmap.tsv');
      const { rows } = await exportIdMap(services, out);
      // Every visible cover's olid and two identifiers, and the ISBNs of the pending covers' editions.
      assert.equal(rows, (COVERS - COVERS / 1000) * 3 + COVERS / 1000);
      const shapes = new Map(recorder.statements.map((statement) => [statement.sql, statement]));
      // The progress bar's total counts the covers once per export, a pass like the export itself: not per page.
      for (const statement of [...shapes.values()].filter((statement) => !/^select count\(\*\)/.test(statement.sql))) {
        // No large table read whole. (A sort is no failure here: the planner may sort a small table, such as the
        // remembered links in this catalogue, rather than walk its index.)
        const found = (await fullReads(opened.db, statement, true)).filter((what) => !/TEMP B-TREE FOR|Sort$/.test(what));
        assert.deepEqual(found, [], statement.sql);
      }
    });

    test('the lookups still find their covers', async () => {
      const catalogue = new CoverCatalogue(opened.db);
      assert.equal((await catalogue.coverForIdentifier('isbn', '9785001'))?.id, 5001);
      assert.equal((await catalogue.coverForIdentifier('oclc', 'o5002'))?.id, 5002);
      assert.equal(await catalogue.coverForIdentifier('isbn', '9785000'), undefined, 'a pending cover is not served');
      assert.equal((await catalogue.pendingCovers(5, 0))[0]?.id, 1000);
      assert.equal((await catalogue.query({ offset: 0, limit: 1 }))[0]?.id, COVERS - 1);
      assert.equal((await catalogue.query({ olids, offset: 0, limit: 100 })).length, 100);
      assert.equal((await catalogue.browseCovers({ identifier: { scheme: 'isbn', value: '9785001' }, offset: 0, limit: 50 })).covers[0]?.id, 5001);
      assert.deepEqual((await catalogue.browseCovers({ words: ['title', '5001'], offset: 0, limit: 50 })).covers.map((cover) => cover.id), [5001]);
      // A word in every title: PostgreSQL reads the table in order and stops at SEARCH_ROWS matches, the cheapest way.
      assert.equal((await catalogue.browseCovers({ words: ['title'], offset: 0, limit: 50 })).total, 500, 'a common word reaches the first SEARCH_ROWS titles');
      assert.equal((await catalogue.browseCovers({ withoutIdentifiers: true, offset: 0, limit: 50 })).total, 0);
      assert.match((await titleOf(catalogue.db, { id: 5000, olid: 'OL5000M' })).title ?? '', /^Title 5000, being/);
      assert.deepEqual(
        await catalogue.browseCovers({ offset: 0, limit: 50 }).then((page) => [page.total, page.totalExact]),
        [1050, false],
        'a listing counts 1,000 matches past its page, not every cover',
      );
      assert.deepEqual(await catalogue.browseCovers({ status: 'pending', offset: 0, limit: 50 }).then((page) => [page.total, page.totalExact]), [COVERS / 1000, true]);
      const releases = new ReleaseCatalogue(opened.db);
      assert.deepEqual((await releases.imagesOf(await releases.resolveMbid('m5000', 'release'))).map((image) => image.id), [5000]);
      assert.equal((await releases.releaseGroupArt('g5001'))?.release.mbid, 'r15001');
      assert.equal((await releases.pendingImages(5, 0))[0]?.id, 1000);
      assert.equal((await new KeyService(opened.db).findBySecret('the-secret'))?.id, 'k_0123456789abcdef');
    });
  });
}

plansOf('SQLite (no statistics, as SQLite always runs)', false, async () => {
  const db = await openDatabase({ sqlitePath: path.join(await makeTempDir('jacket-plans-'), 'catalogue.sqlite') });
  return { db, close: () => db.destroy() };
});

if (TEST_DATABASE_URL) {
  // PostgreSQL plans by its statistics: a bulk import refreshes them (refreshStatistics), autovacuum keeps them.
  {
    let database: TestDatabase;
    plansOf('PostgreSQL (statistics as a bulk import leaves them)', true, async () => {
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
}

describe('bulk linking on SQLite', () => {
  test('linking covers to their editions reads each chunk through the primary key, not every cover not linked yet', async () => {
    const db = await openDatabase({ sqlitePath: path.join(await makeTempDir('jacket-plans-'), 'catalogue.sqlite') });
    try {
      await migrateToLatest(db);
      const numbers = sql.raw(`with recursive n(n) as (select 1 union all select n + 1 from n where n < 5000) select n from n`);
      await sql`insert into covers (id, category, olid, blob_key, sha256, mime, width, height, byte_size, created_at, modified_at, deleted, status)
        select n, 'b', null, 'k' || n, 'h' || n, 'image/jpeg', 10, 10, 100, 1000, 1000, 0, 'approved' from (${numbers}) as t`.execute(db);
      const recorder = recording(db);
      const links = Array.from({ length: 50 }, (_, i) => ({ coverId: 100 + i, olid: `OL${100 + i}M`, kind: 'edition' as const }));
      const { linked } = await new CoverCatalogue(recorder.db).linkCovers(recorder.db, links);
      assert.equal(linked, 50);
      const updates = recorder.statements.filter((statement) => /^update "covers"/i.test(statement.sql));
      assert.ok(updates.length > 0);
      for (const statement of updates) {
        const { rows } = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${statement.sql}`, [...statement.parameters]));
        // By id (the primary key's index), never through the olid index's entries for "not linked".
        assert.ok(rows.some((row) => /^SEARCH covers USING .*\(id=\?\)$/.test(row.detail)), rows.map((row) => row.detail).join('; '));
      }
    } finally {
      await db.destroy();
    }
  });
});
