import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createTestDatabase, explainMissing, TEST_DATABASE_URL, type TestDatabase } from './helpers/backends.ts';
import { uploadBookCover } from './helpers/library-apis.ts';
import { makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';
import { utcDay } from '../src/usage.ts';

async function stats(jacket: RunningJacket) {
  const response = await jacket.get('/api/v1/stats', { headers: jacket.admin });
  assert.equal(response.status, 200);
  return response.json();
}

/** The same checks on each catalogue database: counted per day and per cover, kept across a restart, added up. */
function usageSuite(label: string, env: () => Promise<Record<string, string>>, cleanup: () => Promise<void> = async () => {}) {
  describe(`usage statistics on ${label}`, () => {
    after(cleanup);

    test('requests (from memory and 304s too) and renditions made are counted per day and per cover, and outlive a restart', async () => {
      const settings = await env();
      let jacket = await startJacket(settings);
      try {
        const popular = await uploadBookCover(jacket, { isbn: '9780385472579' });
        const other = await uploadBookCover(jacket, { isbn: '9780140449136' }, '#7a3b2e');
        assert.equal((await jacket.get('/api/v1/stats')).status, 401, 'administrators only');

        // Five requests for one cover: one makes the medium size, the next are answered from the store or memory, one is a 304.
        const first = await jacket.get(`/b/id/${popular}-M.jpg`);
        assert.equal(first.status, 200);
        for (let i = 0; i < 3; i++) assert.equal((await jacket.get(`/b/isbn/9780385472579-M.jpg`)).status, 200);
        assert.equal((await jacket.get(`/b/id/${popular}-M.jpg`, { headers: { 'if-none-match': first.headers.get('etag')! } })).status, 304);
        assert.equal((await jacket.get(`/b/id/${other}-S.jpg`)).status, 200);
        assert.equal((await jacket.get('/b/id/999999-S.jpg?default=false')).status, 404, 'no cover: no image answered');

        let report = await stats(jacket);
        assert.equal(report.days.length, 30);
        const today = utcDay(Date.now());
        assert.equal(report.days.at(-1).day, today);
        assert.deepEqual(report.days.at(-1), { day: today, requests: 6, renditions: 2 });
        assert.ok(report.days.slice(0, -1).every((day: { requests: number }) => day.requests === 0));
        assert.deepEqual(report.topCovers, [
          { id: popular, requests: 5 },
          { id: other, requests: 1 },
        ]);
        assert.deepEqual(report.covers, [{ category: 'b', status: 'approved', deleted: false, count: 2 }]);

        // Counted since the report's flush, written when the server stops, read again by the next start.
        assert.equal((await jacket.get(`/b/id/${other}-S.jpg`)).status, 200);
        await jacket.close();
        jacket = await startJacket(settings);
        report = await stats(jacket);
        assert.deepEqual(report.days.at(-1), { day: today, requests: 7, renditions: 2 });
        assert.deepEqual(report.topCovers, [
          { id: popular, requests: 5 },
          { id: other, requests: 2 },
        ]);
      } finally {
        await jacket.close();
      }
    });
  });
}

let dataDir: string | undefined;
usageSuite('SQLite', async () => ({ JACKET_DATA_DIR: (dataDir ??= await makeTempDir()) }));

if (TEST_DATABASE_URL) {
  let database: TestDatabase | undefined;
  usageSuite(
    'PostgreSQL',
    async () => ({ DATABASE_URL: (database ??= await createTestDatabase()).url }),
    async () => database?.drop(),
  );
} else {
  explainMissing('PostgreSQL', 'TEST_DATABASE_URL');
}
