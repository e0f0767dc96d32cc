import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoverCatalogue, type NewCover } from '../../src/catalogue/covers.ts';
import { importEditionTitles, titleOf } from '../../src/catalogue/titles.ts';
import { bulkCatalogueContract } from './bulk.ts';
import { useCatalogueDb, type CatalogueFixture } from './fixture.ts';
import { keyServiceContract } from './keys.ts';
import { releaseCatalogueContract } from './releases.ts';

export type { CatalogueFixture };

let serial = 0;
function newCover(overrides: Partial<NewCover> = {}): NewCover {
  serial++;
  const sha256 = serial.toString(16).padStart(64, 'a');
  return {
    category: 'b',
    blobKey: `originals/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`,
    sha256,
    mime: 'image/jpeg',
    width: 600,
    height: 900,
    byteSize: 12345,
    ...overrides,
  };
}

/**
 * What the catalogue must do on every database engine (same Kysely queries, same answers): covers, their bulk paths,
 * releases and their images, developer keys. Each part gets its own empty database.
 */
export function catalogueContract(name: string, open: () => Promise<CatalogueFixture>): void {
  coverCatalogueContract(name, open);
  bulkCatalogueContract(name, open);
  releaseCatalogueContract(name, open);
  keyServiceContract(name, open);
}

function coverCatalogueContract(name: string, open: () => Promise<CatalogueFixture>): void {
  describe(`CoverCatalogue contract: ${name}`, () => {
    let catalogue: CoverCatalogue;
    useCatalogueDb(open, (db) => (catalogue = new CoverCatalogue(db)));

    test('add then get returns every field as stored, with numbers as numbers', async () => {
      const added = await catalogue.addCover(newCover({ olid: 'OL10M', olidKind: 'edition', sourceUrl: 'https://example.org/x.jpg', author: 'someone', createdAt: 1_700_000_000_123 }));
      const got = await catalogue.getCover(added.id);
      assert.deepEqual(got, added);
      assert.equal(typeof got!.id, 'number');
      assert.equal(got!.createdAt, 1_700_000_000_123);
      assert.equal(got!.byteSize, 12345);
      assert.equal(got!.deleted, false);
      assert.equal(got!.status, 'approved');
      assert.equal(await catalogue.getCover(987654321), undefined);
    });

    test('ids follow each other; an explicit id is kept and later ids continue after it', async () => {
      const a = await catalogue.addCover(newCover());
      const b = await catalogue.addCover(newCover());
      assert.equal(b.id, a.id + 1);
      const explicit = await catalogue.addCover(newCover({ id: a.id + 100 }));
      assert.equal(explicit.id, a.id + 100);
      const next = await catalogue.addCover(newCover());
      assert.equal(next.id, a.id + 101);
      // An explicit id below the sequence does not move it back.
      const low = await catalogue.addCover(newCover({ id: a.id + 50 }));
      assert.equal(low.id, a.id + 50);
      assert.equal((await catalogue.addCover(newCover())).id, a.id + 102);
    });

    test('concurrent adds get distinct ids', async () => {
      const covers = await Promise.all(Array.from({ length: 12 }, () => catalogue.addCover(newCover())));
      assert.equal(new Set(covers.map((cover) => cover.id)).size, 12);
    });

    test('lookup by olid gives the most recently modified visible cover; touch brings one back on top', async () => {
      const older = await catalogue.addCover(newCover({ olid: 'OL20M', olidKind: 'edition', createdAt: 1_000 }));
      const newer = await catalogue.addCover(newCover({ olid: 'OL20M', olidKind: 'edition', createdAt: 2_000 }));
      assert.equal((await catalogue.coverForOlid('OL20M'))?.id, newer.id);
      assert.equal(await catalogue.touchCover(older.id), true);
      assert.equal((await catalogue.coverForOlid('OL20M'))?.id, older.id);
      assert.equal(await catalogue.coverForOlid('OL404M'), undefined);
    });

    test('lookup by identifier reaches covers through their edition and directly', async () => {
      const viaEdition = await catalogue.addCover(
        newCover({ olid: 'OL30M', olidKind: 'edition', identifiers: [{ scheme: 'isbn', value: '9780385472579' }], createdAt: 5_000 }),
      );
      const direct = await catalogue.addCover(newCover({ identifiers: [{ scheme: 'oclc', value: '777' }] }));
      assert.equal((await catalogue.coverForIdentifier('isbn', '9780385472579'))?.id, viaEdition.id);
      assert.equal((await catalogue.coverForIdentifier('oclc', '777'))?.id, direct.id);
      assert.equal(await catalogue.coverForIdentifier('isbn', '9999999999999'), undefined);
      // A later cover of the same edition (without identifiers of its own) is found through the edition's ISBN.
      const later = await catalogue.addCover(newCover({ olid: 'OL30M', olidKind: 'edition', createdAt: 9_000_000_000_000 }));
      assert.equal((await catalogue.coverForIdentifier('isbn', '9780385472579'))?.id, later.id);
      assert.deepEqual(await catalogue.identifiersOf(later), [{ scheme: 'isbn', value: '9780385472579' }]);
      assert.deepEqual(await catalogue.identifiersOf(direct), [{ scheme: 'oclc', value: '777' }]);
      // Attaching the same identifier twice is harmless.
      await catalogue.attachIdentifiers(catalogue.db, [{ scheme: 'isbn', value: '9780385472579' }], { olid: 'OL30M' });
      assert.equal((await catalogue.identifiersOf(later)).length, 1);
    });

    test('delete hides a cover from every lookup; a second delete finds nothing', async () => {
      const cover = await catalogue.addCover(newCover({ olid: 'OL40M', olidKind: 'edition', identifiers: [{ scheme: 'lccn', value: '93005405' }] }));
      const deleted = await catalogue.deleteCover(cover.id);
      assert.equal(deleted?.id, cover.id);
      assert.equal((await catalogue.getCover(cover.id))?.deleted, true);
      assert.equal(await catalogue.visibleCover(cover.id), undefined);
      assert.equal(await catalogue.coverForOlid('OL40M'), undefined);
      assert.equal(await catalogue.coverForIdentifier('lccn', '93005405'), undefined);
      assert.equal(await catalogue.deleteCover(cover.id), undefined);
      assert.equal(await catalogue.touchCover(cover.id), false);
    });

    test('moderation status: pending covers are served to nobody until approved', async () => {
      const cover = await catalogue.addCover(newCover({ olid: 'OL50M', olidKind: 'edition', status: 'pending' }));
      assert.equal(await catalogue.visibleCover(cover.id), undefined);
      assert.equal(await catalogue.coverForOlid('OL50M'), undefined);
      const waiting = await catalogue.pendingCovers(200, 0);
      assert.deepEqual(waiting.map((pending) => [pending.id, pending.olid, pending.status]), [[cover.id, 'OL50M', 'pending']]);
      assert.equal(await catalogue.setStatus(cover.id, 'approved'), true);
      assert.equal((await catalogue.visibleCover(cover.id))?.id, cover.id);
      assert.deepEqual(await catalogue.pendingCovers(200, 0), []);
    });

    test('query: newest modification first, by category and olids, with offset and limit', async () => {
      const authors = [];
      for (let i = 0; i < 4; i++) authors.push(await catalogue.addCover(newCover({ category: 'a', olid: `OL${60 + i}A`, olidKind: 'author', createdAt: 10_000 + i })));
      const all = await catalogue.query({ category: 'a', offset: 0, limit: 10 });
      assert.deepEqual(all.map((cover) => cover.id), authors.map((cover) => cover.id).reverse());
      const page = await catalogue.query({ category: 'a', offset: 1, limit: 2 });
      assert.deepEqual(page.map((cover) => cover.id), [authors[2]!.id, authors[1]!.id]);
      const some = await catalogue.query({ category: 'a', olids: ['OL60A', 'OL62A'], offset: 0, limit: 10 });
      assert.deepEqual(some.map((cover) => cover.id), [authors[2]!.id, authors[0]!.id]);
      // Equal modification times fall back to the id, newest first.
      const tied = [await catalogue.addCover(newCover({ category: 'w', createdAt: 42 })), await catalogue.addCover(newCover({ category: 'w', createdAt: 42 }))];
      assert.deepEqual((await catalogue.query({ category: 'w', offset: 0, limit: 10 })).map((cover) => cover.id), [tied[1]!.id, tied[0]!.id]);
    });

    test('titles: kept on the edition (else the cover), searched by folded words, the last as a prefix', async () => {
      const ids = (page: { covers: Array<{ id: number }> }) => page.covers.map((cover) => cover.id);
      const edition = await catalogue.addCover(newCover({ olid: 'OL901M', olidKind: 'edition', title: { title: 'Cien años de soledad', authors: ['Gabriel García Márquez'] } }));
      const loose = await catalogue.addCover(newCover({ title: { title: 'Things Fall Apart', authors: ['Chinua Achebe'] } }));
      const sameEdition = await catalogue.addCover(newCover({ olid: 'OL901M', olidKind: 'edition' }));
      assert.deepEqual(await titleOf(catalogue.db, sameEdition), { title: 'Cien años de soledad', authors: ['Gabriel García Márquez'], authorKeys: [] });
      assert.deepEqual(await titleOf(catalogue.db, { id: 424242, olid: null }), { title: null, authors: [], authorKeys: [] });
      const search = (words: string[]) => catalogue.browseCovers({ words, offset: 0, limit: 10 }).then(ids);
      assert.deepEqual(await search(['garcia', 'marq']), [sameEdition.id, edition.id], 'accents folded, last word a prefix');
      assert.deepEqual(await search(['anos', 'soledad']), [sameEdition.id, edition.id]);
      assert.deepEqual(await search(['achebe']), [loose.id]);
      assert.deepEqual(await search(['apart', 'soledad']), [], 'every word must match');
      assert.deepEqual(await search(['fal']), [loose.id]);

      // A correction replaces what it names and keeps the rest; the old words no longer find it.
      await catalogue.editCover(loose.id, { title: { title: 'Arrow of God' } });
      assert.deepEqual(await titleOf(catalogue.db, loose), { title: 'Arrow of God', authors: ['Chinua Achebe'], authorKeys: [] });
      assert.deepEqual(await search(['things']), []);
      assert.deepEqual(await search(['arrow', 'achebe']), [loose.id]);

      // An editions dump sets titles and author ids and keeps the names a librarian gave.
      await importEditionTitles(catalogue.db, [{ olid: 'OL901M', title: 'One Hundred Years of Solitude', authorKeys: ['OL4586796A'] }, { olid: 'OL902M', title: 'Solitude', authorKeys: [] }], Date.now());
      assert.deepEqual(await titleOf(catalogue.db, edition), { title: 'One Hundred Years of Solitude', authors: ['Gabriel García Márquez'], authorKeys: ['OL4586796A'] });
      assert.deepEqual(await search(['solitude']), [sameEdition.id, edition.id], 'an edition without covers lists nothing');
      assert.deepEqual(await search(['soledad']), []);
      await importEditionTitles(catalogue.db, [{ olid: 'OL901M', title: 'One Hundred Years of Solitude', authorKeys: ['OL4586796A'] }], Date.now());
      assert.deepEqual(await search(['hundred', 'garcia']), [sameEdition.id, edition.id], 'imported again: the same');
    });

    test('a bulk batch keeps its titles; covers are found by their image, the first not deleted', async () => {
      const sha = 'f'.repeat(63) + '1';
      const image = { blobKey: `originals/ff/ff/${sha}`, sha256: sha, mime: 'image/png', width: 4, height: 6, byteSize: 80 };
      await catalogue.addCovers([
        { ...image, category: 'b', identifiers: [{ scheme: 'isbn', value: '9780261102217' }], title: { title: 'The Hobbit', authors: ['J. R. R. Tolkien'] } },
        { ...image, category: 'b', olid: 'OL905M', olidKind: 'edition', title: { title: 'Farmer Giles of Ham' } },
      ]);
      const [first, second] = (await catalogue.browseCovers({ words: ['tolkien'], offset: 0, limit: 10 })).covers.concat((await catalogue.browseCovers({ words: ['farmer', 'giles'], offset: 0, limit: 10 })).covers);
      assert.deepEqual((await titleOf(catalogue.db, first!)).title, 'The Hobbit');
      assert.deepEqual((await titleOf(catalogue.db, second!)).title, 'Farmer Giles of Ham');
      assert.deepEqual(await catalogue.coversByImage([sha, 'e'.repeat(64)]), new Map([[sha, Math.min(first!.id, second!.id)]]));
      await catalogue.deleteCover(Math.min(first!.id, second!.id));
      assert.deepEqual(await catalogue.coversByImage([sha]), new Map([[sha, Math.max(first!.id, second!.id)]]));
    });

    test('the collection without identifiers, and in each order', async () => {
      const bare = await catalogue.addCover(newCover({ createdAt: 1000 }));
      const isbn = await catalogue.addCover(newCover({ createdAt: 2000, identifiers: [{ scheme: 'isbn', value: '9780385472579' }] }));
      const byEdition = await catalogue.addCover(newCover({ createdAt: 3000, olid: 'OL903M', olidKind: 'edition', identifiers: [{ scheme: 'oclc', value: '123' }] }));
      const bareEdition = await catalogue.addCover(newCover({ createdAt: 4000, olid: 'OL904M', olidKind: 'edition' }));
      // The catalogue holds the other tests' covers too: only these four are looked at.
      const mine = new Set([bare.id, isbn.id, byEdition.id, bareEdition.id]);
      const ids = (page: { covers: Array<{ id: number }> }) => page.covers.map((cover) => cover.id).filter((id) => mine.has(id));
      assert.deepEqual(ids(await catalogue.browseCovers({ withoutIdentifiers: true, offset: 0, limit: 100 })), [bareEdition.id, bare.id]);
      assert.deepEqual(ids(await catalogue.browseCovers({ sort: 'oldest', offset: 0, limit: 100 })), [bare.id, isbn.id, byEdition.id, bareEdition.id]);
      await catalogue.touchCover(isbn.id);
      assert.equal(ids(await catalogue.browseCovers({ sort: 'modified', offset: 0, limit: 200 }))[0], isbn.id);
      assert.deepEqual(ids(await catalogue.browseCovers({ olid: 'OL903M', offset: 0, limit: 10 })), [byEdition.id]);
    });

    test('settings: missing, put, overwrite', async () => {
      assert.equal(await catalogue.getSetting('contract_key'), undefined);
      await catalogue.putSetting('contract_key', 'one');
      assert.equal(await catalogue.getSetting('contract_key'), 'one');
      await catalogue.putSetting('contract_key', 'two');
      assert.equal(await catalogue.getSetting('contract_key'), 'two');
    });

    test('every change calls onChange (the hook cache invalidation hangs on)', async () => {
      let changes = 0;
      catalogue.onChange = () => changes++;
      try {
        const cover = await catalogue.addCover(newCover());
        await catalogue.touchCover(cover.id);
        await catalogue.deleteCover(cover.id);
        assert.equal(changes, 3);
      } finally {
        catalogue.onChange = undefined;
      }
    });

    test('visible covers page by page: id order, no repeats, hidden ones left out, counted alike', async () => {
      const hidden = await catalogue.addCover(newCover());
      await catalogue.deleteCover(hidden.id);
      const pending = await catalogue.addCover(newCover({ status: 'pending' }));
      await catalogue.addCover(newCover());
      const walk = async (pageSize: number) => {
        const ids: number[] = [];
        for await (const page of catalogue.visibleCoverPages(pageSize)) {
          assert.ok(page.length > 0 && page.length <= pageSize);
          ids.push(...page.map((cover) => cover.id));
        }
        return ids;
      };
      const byOne = await walk(1);
      assert.deepEqual(byOne, [...byOne].sort((a, b) => a - b));
      assert.equal(new Set(byOne).size, byOne.length);
      assert.ok(!byOne.includes(hidden.id) && !byOne.includes(pending.id));
      assert.deepEqual(await walk(500), byOne);
      assert.equal(await catalogue.countVisibleCovers(), byOne.length);
    });

    test('onImageGone names each image a cover stops serving: deleted, replaced by other bytes, removed for good', async () => {
      const gone: string[] = [];
      catalogue.onImageGone = (sha256) => gone.push(sha256);
      try {
        const deleted = await catalogue.addCover(newCover());
        const replaced = await catalogue.addCover(newCover());
        const removed = await catalogue.addCover(newCover({ olid: 'OL77M', olidKind: 'edition' }));
        await catalogue.touchCover(deleted.id);
        await catalogue.replaceOriginal(replaced.id, replaced);
        assert.deepEqual(gone, [], 'the same bytes again are not gone');
        await catalogue.deleteCover(deleted.id);
        const other = newCover();
        await catalogue.replaceOriginal(replaced.id, other);
        assert.equal((await catalogue.getCover(replaced.id))?.sha256, other.sha256);
        let alongside = 0;
        assert.equal((await catalogue.removeCover(removed.id, async () => alongside++))?.id, removed.id);
        assert.equal(alongside, 1);
        assert.equal(await catalogue.getCover(removed.id), undefined);
        assert.equal(await catalogue.coverForOlid('OL77M'), undefined);
        assert.equal(await catalogue.removeCover(removed.id), undefined);
        assert.deepEqual(gone, [deleted.sha256, replaced.sha256, removed.sha256]);
      } finally {
        catalogue.onImageGone = undefined;
      }
    });
  });
}
