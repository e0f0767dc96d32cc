import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoverCatalogue, type NewCover } from '../../src/catalogue/covers.ts';
import type { OlidKind } from '../../src/identifiers/index.ts';
import { useCatalogueDb, type CatalogueFixture } from './fixture.ts';

let serial = 0;
function newCover(overrides: Partial<NewCover> = {}): NewCover {
  serial++;
  const sha256 = serial.toString(16).padStart(64, 'e');
  return {
    category: 'b',
    blobKey: `originals/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`,
    sha256,
    mime: 'image/jpeg',
    width: 500,
    height: 750,
    byteSize: 2222,
    ...overrides,
  };
}

/** The bulk paths of the cover catalogue (imports, editions dumps, identifier mappings) on every database engine. */
export function bulkCatalogueContract(name: string, open: () => Promise<CatalogueFixture>): void {
  describe(`Bulk catalogue contract: ${name}`, () => {
    let catalogue: CoverCatalogue;
    useCatalogueDb(open, (db) => (catalogue = new CoverCatalogue(db)));

    test('addCovers keeps given ids, numbers the rest after the highest, creates entities and attaches identifiers', async () => {
      let changes = 0;
      catalogue.onChange = () => changes++;
      try {
        await catalogue.addCovers([
          newCover({ id: 1000, olid: 'OL1000M', olidKind: 'edition', identifiers: [{ scheme: 'isbn', value: '9780140328721' }], createdAt: 77 }),
          newCover({ id: 1002, category: 'a', olid: 'OL1002A', olidKind: 'author' }),
          newCover({ identifiers: [{ scheme: 'oclc', value: '4242' }] }),
        ]);
        await catalogue.addCovers([]);
      } finally {
        catalogue.onChange = undefined;
      }
      assert.equal(changes, 1, 'one change per non-empty batch');
      const kept = await catalogue.getCover(1000);
      assert.equal(kept?.olid, 'OL1000M');
      assert.equal(kept?.createdAt, 77);
      assert.equal(kept?.modifiedAt, 77);
      assert.equal(kept?.status, 'approved');
      assert.equal((await catalogue.coverForOlid('OL1000M'))?.id, 1000);
      assert.equal((await catalogue.coverForOlid('OL1002A'))?.category, 'a');
      assert.equal((await catalogue.coverForIdentifier('isbn', '9780140328721'))?.id, 1000);
      assert.equal((await catalogue.coverForIdentifier('oclc', '4242'))?.id, 1003, 'an id-less cover follows the highest given one');
      assert.equal((await catalogue.addCover(newCover())).id, 1004, 'single adds continue the sequence');
    });

    test('addCovers with a taken id stores the rest and reports the taken id, leaving its cover untouched', async () => {
      const first = newCover({ id: 2000 });
      await catalogue.addCovers([first]);
      const taken = newCover({ id: 2000, olid: 'OL2000M', olidKind: 'edition' });
      const result = await catalogue.addCovers([newCover({ id: 2001, olid: 'OL2001M', olidKind: 'edition' }), taken]);
      assert.deepEqual(result.conflicts, [2000]);
      assert.equal((await catalogue.getCover(2001))?.olid, 'OL2001M');
      assert.equal((await catalogue.getCover(2000))?.sha256, first.sha256, 'the cover that held the id is unchanged');
      assert.equal(await catalogue.coverForOlid('OL2000M'), undefined, 'nothing of the conflicting cover was written');
    });

    test('a large batch (more rows than one statement takes) is stored whole, and coverSummaries reads it back in chunks', async () => {
      const base = 10_000;
      const batch = Array.from({ length: 650 }, (_, i) => newCover({ id: base + i, olid: i % 2 === 0 ? `OL${base + i}M` : undefined, olidKind: i % 2 === 0 ? 'edition' : undefined }));
      await catalogue.addCovers(batch);
      await catalogue.deleteCover(base + 1);
      const wanted = [...batch.map((cover) => cover.id!), 99_999_999];
      const summaries = await catalogue.coverSummaries(wanted);
      assert.equal(summaries.size, 650, 'every stored cover, deleted ones included; missing ids absent');
      assert.deepEqual(summaries.get(base), { sha256: batch[0]!.sha256, olid: `OL${base}M` });
      assert.deepEqual(summaries.get(base + 1), { sha256: batch[1]!.sha256, olid: null });
      assert.deepEqual(summaries.get(base + 649), { sha256: batch[649]!.sha256, olid: null });
      assert.equal(typeof [...summaries.keys()][0], 'number');
      assert.equal(summaries.has(99_999_999), false);
      assert.equal((await catalogue.coverSummaries([])).size, 0);
    });

    test('linkCovers links unlinked covers, keeps existing links, and remembers links for covers not imported yet', async () => {
      await catalogue.addCovers([newCover({ id: 3000 }), newCover({ id: 3001, olid: 'OL3001M', olidKind: 'edition' })]);
      const result = await catalogue.linkCovers(catalogue.db, [
        { coverId: 3000, olid: 'OL3000W', kind: 'work' },
        { coverId: 3001, olid: 'OL9999M', kind: 'edition' },
        { coverId: 3002, olid: 'OL3002A', kind: 'author' },
        { coverId: 3002, olid: 'OL3002M', kind: 'edition' },
        { coverId: 3003, olid: 'OL3003M', kind: 'edition' },
      ]);
      assert.deepEqual(result, { linked: 1, remembered: 2 });
      const linked = await catalogue.getCover(3000);
      assert.equal(linked?.olid, 'OL3000W');
      assert.equal(linked?.category, 'w', 'the link sets the category of the entity kind');
      assert.equal((await catalogue.coverForOlid('OL3000W'))?.id, 3000);
      assert.equal((await catalogue.getCover(3001))?.olid, 'OL3001M', 'an existing link is kept');
      assert.equal(await catalogue.coverForOlid('OL9999M'), undefined);

      // A remembered link is not remembered twice, and the first one given wins.
      assert.deepEqual(await catalogue.linkCovers(catalogue.db, [{ coverId: 3002, olid: 'OL3002W', kind: 'work' }]), { linked: 0, remembered: 0 });
      assert.deepEqual(await catalogue.linkCovers(catalogue.db, []), { linked: 0, remembered: 0 });

      // The import of those covers applies the remembered links (unless the cover names its own entity).
      await catalogue.addCovers([newCover({ id: 3002 }), newCover({ id: 3003, olid: 'OL3003X', olidKind: 'edition' })]);
      const applied = await catalogue.getCover(3002);
      assert.equal(applied?.olid, 'OL3002A');
      assert.equal(applied?.category, 'a');
      assert.equal((await catalogue.coverForOlid('OL3002A'))?.id, 3002);
      assert.equal((await catalogue.getCover(3003))?.olid, 'OL3003X');
      // Applied links are used up: a later link call for the imported cover links nothing and remembers nothing.
      assert.deepEqual(await catalogue.linkCovers(catalogue.db, [{ coverId: 3002, olid: 'OL3002M', kind: 'edition' }]), { linked: 0, remembered: 0 });
    });

    test('linkCovers over more links than one statement takes: every cover linked or remembered once, the first link per cover counting', async () => {
      const base = 20_000;
      // 700 covers stored (every third already linked), 600 not imported yet; each cover named twice, the second
      // link pointing elsewhere.
      const stored = Array.from({ length: 700 }, (_, i) => newCover({ id: base + i, ...(i % 3 === 0 ? { olid: `OL${base + i}M`, olidKind: 'edition' as const } : {}) }));
      await catalogue.addCovers(stored);
      const links = Array.from({ length: 1300 }, (_, i) => ({ coverId: base + i, olid: i % 2 ? `OL${base + i}W` : `OL${base + i}A`, kind: (i % 2 ? 'work' : 'author') as OlidKind }));
      const result = await catalogue.linkCovers(catalogue.db, [...links, ...links.map((link) => ({ ...link, olid: 'OL1M', kind: 'edition' as const }))]);
      const unlinked = stored.filter((_, i) => i % 3 !== 0).length;
      assert.deepEqual(result, { linked: unlinked, remembered: 600 });
      const odd = await catalogue.getCover(base + 1);
      assert.equal(odd?.olid, `OL${base + 1}W`);
      assert.equal(odd?.category, 'w');
      const even = await catalogue.getCover(base + 698);
      assert.equal(even?.olid, `OL${base + 698}A`);
      assert.equal(even?.category, 'a');
      assert.equal((await catalogue.getCover(base + 3))?.olid, `OL${base + 3}M`, 'an existing link is kept');
      assert.equal((await catalogue.coverForOlid(`OL${base + 697}W`))?.id, base + 697, 'the entity exists and finds its cover');
      assert.equal(await catalogue.coverForOlid('OL1M'), undefined, 'second links count for nothing');
      const entities = await catalogue.db.selectFrom('entities').select('olid').where('olid', 'in', [`OL${base + 3}W`, `OL${base + 699}A`, `OL${base + 1299}W`, 'OL1M']).execute();
      assert.deepEqual(entities, [], 'no entity for a cover already linked, a cover not here yet, or a second link');
      // The remembered links are applied when those covers come, the first given for each.
      await catalogue.addCovers(Array.from({ length: 600 }, (_, i) => newCover({ id: base + 700 + i })));
      assert.equal((await catalogue.getCover(base + 1299))?.olid, `OL${base + 1299}W`);
      assert.equal((await catalogue.getCover(base + 700))?.olid, `OL${base + 700}A`);
      assert.deepEqual(await catalogue.linkCovers(catalogue.db, links), { linked: 0, remembered: 0 }, 'all linked now: nothing to do');
    });

    test('a remembered link waits for the Open Library cover of that id: a cover that draws the same id fresh does not take it', async () => {
      const probe = await catalogue.addCover(newCover());
      const next = probe.id + 1;
      assert.deepEqual(await catalogue.linkCovers(catalogue.db, [{ coverId: next, olid: `OL${next}M`, kind: 'edition' }]), { linked: 0, remembered: 1 });
      await catalogue.addCovers([newCover()]);
      const fresh = await catalogue.getCover(next);
      assert.ok(fresh, 'the id-less cover drew the next id');
      assert.equal(fresh.olid, null);
      const pending = await catalogue.db.selectFrom('pending_cover_links').select('olid').where('cover_id', '=', next).execute();
      assert.deepEqual(pending, [{ olid: `OL${next}M` }], 'the link is still remembered');
    });

    test('addCovers with identifiers on many covers attaches each to its own cover or edition', async () => {
      const base = 30_000;
      const batch = Array.from({ length: 600 }, (_, i) =>
        newCover({ id: base + i, ...(i % 2 ? { olid: `OL${base + i}M`, olidKind: 'edition' as const } : {}), identifiers: [{ scheme: 'oclc', value: String(base + i) }, { scheme: 'oclc', value: String(base + i) }] }),
      );
      await catalogue.addCovers(batch);
      const rows = await catalogue.db.selectFrom('identifiers').select(['value', 'olid', 'cover_id']).where('scheme', '=', 'oclc').where('value', 'like', '3____').execute();
      assert.equal(rows.length, 600, 'one row per cover: the repeated identifier stored once');
      for (const row of rows) {
        const i = Number(row.value) - base;
        if (i % 2) assert.deepEqual([row.olid, Number(row.cover_id)], [`OL${base + i}M`, 0], `identifier ${row.value} on its edition`);
        else assert.deepEqual([row.olid, Number(row.cover_id)], ['', base + i], `identifier ${row.value} on its cover`);
      }
      for (const i of [0, 1, 598, 599]) assert.equal((await catalogue.coverForIdentifier('oclc', String(base + i)))?.id, base + i);
    });

    test('linkCovers and insertCovers run inside a caller transaction and roll back with it', async () => {
      await assert.rejects(
        catalogue.db.transaction().execute(async (trx) => {
          await catalogue.insertCovers(trx, [newCover({ id: 4000 })]);
          await catalogue.linkCovers(trx, [{ coverId: 4000, olid: 'OL4000M', kind: 'edition' }, { coverId: 4001, olid: 'OL4001M', kind: 'edition' }]);
          throw new Error('abandon the import');
        }),
        /abandon the import/,
      );
      assert.equal(await catalogue.getCover(4000), undefined);
      // Nothing was remembered for 4001 either: linking it now remembers it afresh.
      assert.deepEqual(await catalogue.linkCovers(catalogue.db, [{ coverId: 4001, olid: 'OL4001M', kind: 'edition' }]), { linked: 0, remembered: 1 });
    });
  });
}
