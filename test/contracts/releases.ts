import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { JacketError } from '../../src/errors.ts';
import { caaImageIdAt, formatReleaseDate, ReleaseCatalogue, type NewReleaseImage, type ReleaseImage } from '../../src/catalogue/releases.ts';
import type { CatalogueDb } from '../../src/catalogue/db.ts';
import { useCatalogueDb, type CatalogueFixture } from './fixture.ts';

const FRONT = 1;
const BACK = 2;
const RAW = 14;

let serial = 0;
function newImage(overrides: Partial<NewReleaseImage> = {}): NewReleaseImage {
  serial++;
  const sha256 = serial.toString(16).padStart(64, 'c');
  return {
    blobKey: `originals/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`,
    sha256,
    mime: 'image/jpeg',
    width: 1200,
    height: 1200,
    byteSize: 54321,
    types: [FRONT],
    ...overrides,
  };
}

/** A refusal with this HTTP status and machine code. */
function refusal(status: number, code: string) {
  return (error: unknown) => error instanceof JacketError && error.status === status && error.code === code;
}

/** What the Cover Art Archive side of the catalogue must do on every database engine. */
async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

export function releaseCatalogueContract(name: string, open: () => Promise<CatalogueFixture>): void {
  describe(`ReleaseCatalogue contract: ${name}`, () => {
    let db: CatalogueDb;
    let releases: ReleaseCatalogue;
    // A clock the tests move by hand: image ids are derived from it.
    let clock = Date.UTC(2024, 0, 15, 12, 0, 0);
    useCatalogueDb(open, (opened) => {
      db = opened;
      releases = new ReleaseCatalogue(db, () => clock);
    });

    const ids = (images: Array<{ id: number }>) => images.map((image) => image.id);
    const positions = (images: Array<{ position: number }>) => images.map((image) => image.position);

    test('putRelease keeps the date at its precision; created tells new from existing; omitted fields are kept', async () => {
      const mbid = randomUUID();
      const group = randomUUID();
      const first = await releases.putRelease(mbid, { releaseGroup: group, date: { year: 1997 } });
      assert.equal(first.created, true);
      assert.equal(first.release.mbid, mbid);
      assert.equal(first.release.releaseGroup, group);
      assert.equal(formatReleaseDate(first.release.date), '1997');
      assert.equal(first.release.date?.month, undefined);
      assert.equal(first.release.date?.day, undefined);

      const month = await releases.putRelease(mbid, { date: { year: 1997, month: 6 } });
      assert.equal(month.created, false);
      assert.equal(formatReleaseDate(month.release.date), '1997-06');
      assert.equal(month.release.releaseGroup, group, 'a date-only update keeps the group');

      const day = await releases.putRelease(mbid, { date: { year: 1997, month: 6, day: 16 } });
      assert.deepEqual(day.release.date, { year: 1997, month: 6, day: 16 });
      assert.equal(typeof day.release.date!.year, 'number');
      assert.equal(formatReleaseDate((await releases.getRelease(mbid))!.date), '1997-06-16');

      const groupOnly = await releases.putRelease(mbid, { releaseGroup: null });
      assert.equal(groupOnly.release.releaseGroup, null);
      assert.equal(formatReleaseDate(groupOnly.release.date), '1997-06-16', 'a group-only update keeps the date');
      const undated = await releases.putRelease(mbid, { date: null });
      assert.equal(undated.release.date, undefined);
      assert.equal(await releases.getRelease(randomUUID()), undefined);
    });

    test('addImage: the id comes from the clock by the CAA formula; same-instant ids count up; numbers stay numbers', async () => {
      const mbid = randomUUID();
      clock = Date.UTC(2024, 2, 1, 8, 30, 15, 250);
      const expected = Math.floor((clock / 1000 - 1327528905) * 100);
      assert.equal(caaImageIdAt(clock), expected);
      const first = await releases.addImage(mbid, newImage({ comment: 'front', types: [FRONT, RAW] }));
      assert.equal(first.id, expected);
      assert.ok(first.id > 2 ** 32, 'ids need 64-bit columns');
      const second = await releases.addImage(mbid, newImage({ types: [BACK] }));
      assert.equal(second.id, expected + 1, 'the same centisecond gives the next free id');

      const stored = await releases.getImage(first.id);
      assert.deepEqual(stored, first);
      assert.equal(typeof stored!.id, 'number');
      assert.equal(typeof stored!.edit, 'number');
      assert.equal(typeof stored!.byteSize, 'number');
      assert.equal(typeof stored!.createdAt, 'number');
      assert.equal(stored!.createdAt, clock);
      assert.deepEqual(stored!.types, [FRONT, RAW]);
      assert.equal(stored!.comment, 'front');
      assert.equal(stored!.approved, true);
      assert.equal(stored!.status, 'approved');
      assert.equal(stored!.release, mbid);
      // The release is created on the first image.
      assert.equal((await releases.getRelease(mbid))?.mbid, mbid);
      assert.equal(await releases.getImage(123), undefined);

      clock += 10; // one centisecond later
      const later = await releases.addImage(mbid, newImage());
      assert.equal(later.id, expected + 2, 'never below an id handed out before');
      clock += 60_000;
      assert.equal((await releases.addImage(mbid, newImage())).id, caaImageIdAt(clock));
    });

    test('addImage: an explicit id (and edit) is kept; a taken id is a 409; a fresh instance skips taken ids', async () => {
      const mbid = randomUUID();
      const explicit = await releases.addImage(mbid, newImage({ id: 9_000_000_001, edit: 4242, createdAt: 1_600_000_000_000 }));
      assert.equal(explicit.id, 9_000_000_001);
      assert.equal(explicit.edit, 4242);
      assert.equal((await releases.getImage(9_000_000_001))?.createdAt, 1_600_000_000_000);
      await assert.rejects(releases.addImage(randomUUID(), newImage({ id: 9_000_000_001 })), refusal(409, 'image_exists'));

      // Another instance with the same clock (scale-out) does not know our last id: it finds the taken ones itself.
      clock = Date.UTC(2024, 5, 1);
      const here = await releases.addImage(mbid, newImage());
      const elsewhere = new ReleaseCatalogue(db, () => clock);
      const there = await elsewhere.addImage(mbid, newImage());
      assert.equal(there.id, here.id + 1);
    });

    test('positions: appended by default; inserting at a position shifts the later ones; out-of-range positions clamp', async () => {
      const mbid = randomUUID();
      const a = await releases.addImage(mbid, newImage());
      const b = await releases.addImage(mbid, newImage());
      const c = await releases.addImage(mbid, newImage());
      assert.deepEqual(positions([a, b, c]), [1, 2, 3]);
      const first = await releases.addImage(mbid, newImage({ position: 1 }));
      assert.equal(first.position, 1);
      let listed = await releases.imagesOf(mbid);
      assert.deepEqual(ids(listed), [first.id, a.id, b.id, c.id]);
      assert.deepEqual(positions(listed), [1, 2, 3, 4]);
      const middle = await releases.addImage(mbid, newImage({ position: 3 }));
      const last = await releases.addImage(mbid, newImage({ position: 99 }));
      const clamped = await releases.addImage(mbid, newImage({ position: 0 }));
      listed = await releases.imagesOf(mbid);
      assert.deepEqual(ids(listed), [clamped.id, first.id, a.id, middle.id, b.id, c.id, last.id]);
      assert.deepEqual(positions(listed), [1, 2, 3, 4, 5, 6, 7]);
      assert.equal(last.position, 6, 'past the end appends (before the clamped one went first)');
    });

    test('concurrent adds to one release get distinct ids, distinct edits and positions 1..n', async () => {
      const mbid = randomUUID();
      clock = Date.UTC(2024, 6, 1);
      const added = await Promise.all(Array.from({ length: 8 }, () => releases.addImage(mbid, newImage())));
      assert.equal(new Set(ids(added)).size, 8);
      assert.equal(new Set(added.map((image) => image.edit)).size, 8);
      const listed = await releases.imagesOf(mbid);
      assert.equal(listed.length, 8);
      assert.deepEqual(positions(listed), [1, 2, 3, 4, 5, 6, 7, 8]);
    });

    test('concurrent moves, deletes and rejections on one release leave positions 1..n with nothing lost', async () => {
      const mbid = randomUUID();
      const images: ReleaseImage[] = [];
      for (let i = 0; i < 12; i++) images.push(await releases.addImage(mbid, newImage()));
      await Promise.all([
        releases.updateImage(images[11]!.id, { position: 1 }),
        releases.updateImage(images[10]!.id, { position: 1 }),
        releases.deleteImage(images[0]!.id),
        releases.deleteImage(images[5]!.id),
        releases.setImageStatus(images[3]!.id, 'rejected'),
        releases.updateImage(images[1]!.id, { position: 12 }),
        releases.deleteImage(images[7]!.id),
      ]);
      const listed = await releases.imagesOf(mbid);
      assert.deepEqual(positions(listed), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(new Set(ids(listed)), new Set([1, 2, 4, 6, 8, 9, 10, 11].map((i) => images[i]!.id)));
      assert.equal(listed.at(-1)!.id, images[1]!.id, 'moved past the end is last');
      const added = await releases.addImage(mbid, newImage());
      assert.equal(added.position, 9);
    });

    test('updateImage changes types, comment and approved; moving renumbers; unknown ids are a 404', async () => {
      const mbid = randomUUID();
      const [a, b, c, d] = [
        await releases.addImage(mbid, newImage()),
        await releases.addImage(mbid, newImage()),
        await releases.addImage(mbid, newImage()),
        await releases.addImage(mbid, newImage()),
      ];
      const changed = await releases.updateImage(b!.id, { types: [BACK, 3], comment: 'back and booklet', approved: false });
      assert.deepEqual(changed.types, [BACK, 3]);
      assert.equal(changed.comment, 'back and booklet');
      assert.equal(changed.approved, false);
      assert.equal(changed.position, 2);
      assert.equal(changed.edit, b!.edit, 'the image keeps the edit that added it');

      const moved = await releases.updateImage(d!.id, { position: 1 });
      assert.equal(moved.position, 1);
      let listed = await releases.imagesOf(mbid);
      assert.deepEqual(ids(listed), [d!.id, a!.id, b!.id, c!.id]);
      assert.deepEqual(positions(listed), [1, 2, 3, 4]);
      await releases.updateImage(d!.id, { position: 3 });
      await releases.updateImage(a!.id, { position: 50 });
      listed = await releases.imagesOf(mbid);
      assert.deepEqual(ids(listed), [b!.id, d!.id, c!.id, a!.id]);
      assert.deepEqual(positions(listed), [1, 2, 3, 4]);
      await assert.rejects(releases.updateImage(77, { comment: 'x' }), refusal(404, 'not_found'));
    });

    test('deleteImage renumbers the rest; the deleted image is gone and its state is "deleted"', async () => {
      const mbid = randomUUID();
      const images: ReleaseImage[] = [];
      for (let i = 0; i < 4; i++) images.push(await releases.addImage(mbid, newImage()));
      const removed = await releases.deleteImage(images[1]!.id);
      assert.equal(removed.id, images[1]!.id);
      const listed = await releases.imagesOf(mbid);
      assert.deepEqual(ids(listed), [images[0]!.id, images[2]!.id, images[3]!.id]);
      assert.deepEqual(positions(listed), [1, 2, 3]);
      assert.equal(await releases.getImage(images[1]!.id), undefined);
      assert.equal(await releases.imageState(images[1]!.id), 'deleted');
      assert.equal(await releases.imageState(images[0]!.id), 'approved');
      assert.equal(await releases.imageState(31337), undefined);
      await assert.rejects(releases.deleteImage(images[1]!.id), refusal(404, 'not_found'));
      // The last image leaves the release without images, which no longer counts as a release with images.
      for (const image of listed) await releases.deleteImage(image.id);
      assert.deepEqual(await releases.imagesOf(mbid), []);
      assert.equal((await all(releases.releasesWithImages())).includes(mbid), false);
    });

    test('releases with images: every one once, in MBID order, across pages; counted alike', async () => {
      const made = [randomUUID(), randomUUID(), randomUUID()];
      for (const mbid of made) await releases.addImage(mbid, newImage());
      const whole = await all(releases.releasesWithImages());
      assert.deepEqual(await all(releases.releasesWithImages(1)), whole, 'pages of one give the same list');
      assert.deepEqual(whole, [...whole].sort());
      assert.equal(new Set(whole).size, whole.length);
      for (const mbid of made) assert.ok(whole.includes(mbid));
      assert.equal(await releases.countReleasesWithImages(), whole.length);
    });

    test('moderation: pending is listed but not approved; reject takes it out of the order; re-approve puts it last', async () => {
      const mbid = randomUUID();
      clock = Date.UTC(2024, 8, 1);
      const a = await releases.addImage(mbid, newImage());
      const pending = await releases.addImage(mbid, newImage({ status: 'pending', createdAt: 5 }));
      const c = await releases.addImage(mbid, newImage());
      assert.equal(pending.status, 'pending');
      assert.equal(pending.approved, false);
      assert.equal(await releases.imageState(pending.id), 'pending');
      const queue = await releases.pendingImages(100, 0);
      assert.equal(queue[0]?.id, pending.id, 'oldest pending first');
      assert.deepEqual(ids(await releases.imagesOf(mbid)), [a.id, pending.id, c.id]);

      const approved = await releases.setImageStatus(pending.id, 'approved');
      assert.equal(approved.status, 'approved');
      assert.equal(approved.approved, true);
      assert.equal(approved.position, 2);
      assert.equal((await releases.pendingImages(100, 0)).some((image) => image.id === pending.id), false);

      const rejected = await releases.setImageStatus(a.id, 'rejected');
      assert.equal(rejected.status, 'rejected');
      assert.equal(rejected.approved, false);
      let listed = await releases.imagesOf(mbid);
      assert.deepEqual(ids(listed), [pending.id, c.id]);
      assert.deepEqual(positions(listed), [1, 2]);
      assert.equal(await releases.imageState(a.id), 'rejected');
      assert.deepEqual(ids(await releases.imagesOf(mbid, releases.db, true)), [pending.id, c.id, a.id]);
      await assert.rejects(releases.updateImage(a.id, { comment: 'nope' }), refusal(409, 'image_rejected'));

      const back = await releases.setImageStatus(a.id, 'approved');
      assert.equal(back.position, 3);
      listed = await releases.imagesOf(mbid);
      assert.deepEqual(ids(listed), [pending.id, c.id, a.id]);
      assert.deepEqual(positions(listed), [1, 2, 3]);
      await assert.rejects(releases.setImageStatus(404404, 'approved'), refusal(404, 'not_found'));
    });

    test('edits are numbered one after another; an explicit edit moves the sequence forward, never back', async () => {
      const mbid = randomUUID();
      const a = await releases.addImage(mbid, newImage());
      const b = await releases.addImage(mbid, newImage());
      assert.equal(b.edit, a.edit + 1);
      await releases.updateImage(a.id, { comment: 'one edit' });
      await releases.putRelease(mbid, { date: { year: 2003 } });
      const c = await releases.addImage(mbid, newImage());
      assert.equal(c.edit, b.edit + 3, 'the update and the release change took one edit each');
      const jumped = await releases.addImage(mbid, newImage({ edit: c.edit + 1000 }));
      assert.equal(jumped.edit, c.edit + 1000);
      const next = await releases.addImage(mbid, newImage());
      assert.equal(next.edit, c.edit + 1001);
      const old = await releases.addImage(mbid, newImage({ edit: a.edit }));
      assert.equal(old.edit, a.edit, 'an imported edit id that exists already is shared');
      assert.equal((await releases.addImage(mbid, newImage())).edit, c.edit + 1002);
    });

    test('releaseGroupArt: the explicit choice wins; then fronts not Raw/Unedited; then the earliest date; undated last', async () => {
      const group = randomUUID();
      assert.equal(await releases.releaseGroupArt(group), undefined);
      assert.equal(await releases.releaseGroupExists(group), false);
      const release = async (date: { year: number; month?: number; day?: number } | null, types = [FRONT]) => {
        const mbid = randomUUID();
        await releases.putRelease(mbid, { releaseGroup: group, date });
        const image = await releases.addImage(mbid, newImage({ types }));
        return { mbid, image };
      };
      const undated = await release(null);
      const y2001 = await release({ year: 2001, month: 1, day: 1 });
      const y2000 = await release({ year: 2000 });
      const m2000_06 = await release({ year: 2000, month: 6 });
      const m2000_05 = await release({ year: 2000, month: 5 });
      const d2000_05_03 = await release({ year: 2000, month: 5, day: 3 });
      const raw = await release({ year: 1990 }, [FRONT, RAW]);
      const backOnly = await release({ year: 1980 }, [BACK]);
      const pendingFront = await release({ year: 1970 }, [BACK]);
      await releases.addImage(pendingFront.mbid, newImage({ types: [FRONT], status: 'pending' }));
      assert.equal(await releases.releaseGroupExists(group), true);

      const art = await releases.releaseGroupArt(group);
      assert.equal(art?.release.mbid, d2000_05_03.mbid, 'earliest to the day; Raw/Unedited, back-only and pending fronts lose');
      assert.deepEqual(ids(art!.images), [d2000_05_03.image.id]);

      // The explicit choice beats every rule, even a Raw/Unedited front.
      await releases.chooseReleaseGroupCover(group, raw.mbid);
      assert.equal((await releases.releaseGroupArt(group))?.release.mbid, raw.mbid);
      await releases.chooseReleaseGroupCover(group, null);
      assert.equal((await releases.releaseGroupArt(group))?.release.mbid, d2000_05_03.mbid);

      // Take the winners' fronts away one by one: month before year-only, year before later years, undated last.
      const order = [d2000_05_03, m2000_05, m2000_06, y2000, y2001, undated, raw];
      for (const [index, entry] of order.entries()) {
        assert.equal((await releases.releaseGroupArt(group))?.release.mbid, entry.mbid, `rank ${index + 1}`);
        await releases.deleteImage(entry.image.id);
      }
      assert.equal(await releases.releaseGroupArt(group), undefined, 'no release with a served front left');
      assert.ok(backOnly.mbid);
    });

    test('chooseReleaseGroupCover refuses releases outside the group and unknown releases', async () => {
      const group = randomUUID();
      const inside = randomUUID();
      const outside = randomUUID();
      await releases.putRelease(inside, { releaseGroup: group });
      await releases.putRelease(outside, { releaseGroup: randomUUID() });
      await assert.rejects(releases.chooseReleaseGroupCover(group, outside), refusal(409, 'release_not_in_group'));
      await assert.rejects(releases.chooseReleaseGroupCover(group, randomUUID()), refusal(404, 'not_found'));
      await releases.chooseReleaseGroupCover(group, inside);
      await releases.chooseReleaseGroupCover(group, inside); // choosing again is an update, not a duplicate
    });

    test('mergeRelease: images move to the end with their ids; the old MBID answers for the target, through chains', async () => {
      const group = randomUUID();
      const [from, into, final] = [randomUUID(), randomUUID(), randomUUID()];
      await releases.putRelease(from, { releaseGroup: group, date: { year: 1999 } });
      await releases.putRelease(into, { releaseGroup: group, date: { year: 2005 } });
      await releases.putRelease(final, { releaseGroup: group, date: { year: 2010 } });
      const target1 = await releases.addImage(into, newImage());
      const moving1 = await releases.addImage(from, newImage());
      const moving2 = await releases.addImage(from, newImage({ types: [BACK] }));
      const rejected = await releases.addImage(from, newImage());
      await releases.setImageStatus(rejected.id, 'rejected');
      await releases.chooseReleaseGroupCover(group, from);

      const result = await releases.mergeRelease(from, into);
      assert.deepEqual(result, { moved: 3, into });
      const listed = await releases.imagesOf(into);
      assert.deepEqual(ids(listed), [target1.id, moving1.id, moving2.id]);
      assert.deepEqual(positions(listed), [1, 2, 3]);
      assert.equal((await releases.getImage(rejected.id))?.release, into, 'rejected images move too');
      assert.equal((await releases.getImage(moving1.id))?.edit, moving1.edit);
      assert.equal(await releases.getRelease(from), undefined);
      assert.equal(await releases.resolveMbid(from, 'release'), into);
      assert.equal(await releases.resolveMbid(into, 'release'), into);
      assert.deepEqual(await releases.imagesOf(from), []);
      // The group's choice follows the merge.
      assert.equal((await releases.releaseGroupArt(group))?.release.mbid, into);

      await assert.rejects(releases.addImage(from, newImage()), refusal(409, 'release_merged'));
      await assert.rejects(releases.putRelease(from, { date: null }), refusal(409, 'release_merged'));
      await assert.rejects(releases.mergeRelease(from, into), refusal(409, 'release_merged'));
      await assert.rejects(releases.mergeRelease(into, from), refusal(400, 'merge_into_self'));
      await assert.rejects(releases.mergeRelease(into, randomUUID()), refusal(404, 'not_found'));

      // Merging the target on: both old MBIDs answer for the final release; choosing through an old MBID resolves.
      await releases.mergeRelease(into, final);
      assert.equal(await releases.resolveMbid(from, 'release'), final);
      assert.equal(await releases.resolveMbid(into, 'release'), final);
      assert.deepEqual(ids(await releases.imagesOf(final)), [target1.id, moving1.id, moving2.id]);
      await releases.chooseReleaseGroupCover(group, from);
      assert.equal((await releases.releaseGroupArt(group))?.release.mbid, final);
    });

    test('adds racing a merge either land before it (and move) or are refused; the merged release never comes back', async () => {
      const [from, into] = [randomUUID(), randomUUID()];
      await releases.addImage(from, newImage());
      await releases.addImage(into, newImage());
      const outcomes = await Promise.allSettled([
        releases.addImage(from, newImage()),
        releases.mergeRelease(from, into),
        releases.addImage(from, newImage()),
        releases.addImage(from, newImage()),
      ]);
      assert.equal(outcomes[1]!.status, 'fulfilled');
      const added = outcomes.filter((outcome, index) => index !== 1 && outcome.status === 'fulfilled').length;
      for (const outcome of outcomes) if (outcome.status === 'rejected') assert.ok(refusal(409, 'release_merged')(outcome.reason), String(outcome.reason));
      assert.equal(await releases.getRelease(from), undefined);
      assert.deepEqual(await releases.imagesOf(from), []);
      const listed = await releases.imagesOf(into);
      assert.equal(listed.length, 2 + added);
      assert.deepEqual(positions(listed), listed.map((_, index) => index + 1));
    });

    test('every change calls onChange', async () => {
      let changes = 0;
      releases.onChange = () => changes++;
      try {
        const mbid = randomUUID();
        await releases.putRelease(mbid, { date: { year: 2020 } });
        const image = await releases.addImage(mbid, newImage());
        await releases.updateImage(image.id, { comment: 'c' });
        await releases.setImageStatus(image.id, 'rejected');
        await releases.deleteImage(image.id);
        assert.equal(changes, 5);
      } finally {
        releases.onChange = undefined;
      }
    });

    test('onImageGone names each image that stops being served: rejected or removed, not approved or edited', async () => {
      const gone: string[] = [];
      releases.onImageGone = (sha256) => gone.push(sha256);
      try {
        const mbid = randomUUID();
        await releases.putRelease(mbid, {});
        const rejected = await releases.addImage(mbid, newImage());
        const removed = await releases.addImage(mbid, newImage());
        await releases.updateImage(removed.id, { comment: 'c' });
        await releases.setImageStatus(removed.id, 'approved');
        assert.deepEqual(gone, []);
        await releases.setImageStatus(rejected.id, 'rejected');
        await releases.deleteImage(removed.id);
        assert.deepEqual(gone, [rejected.sha256, removed.sha256]);
      } finally {
        releases.onImageGone = undefined;
      }
    });
  });
}
