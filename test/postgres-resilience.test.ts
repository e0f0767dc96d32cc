import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, explainMissing, TEST_DATABASE_URL, type TestDatabase } from './helpers/backends.ts';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const serverUrl = TEST_DATABASE_URL;
if (serverUrl) {
  describe('Jacket on PostgreSQL when the server drops its connections', () => {
    let database: TestDatabase;
    let jacket: RunningJacket;
    before(async () => {
      database = await createTestDatabase(serverUrl);
      jacket = await startJacket({ DATABASE_URL: database.url });
    });
    after(async () => {
      await jacket?.close();
      await database?.drop();
    });

    test('keeps running and answers from fresh connections (as after a restart or failover)', async () => {
      const upload = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL1M', data: { bytes: await makeImage(100, 160), type: 'image/jpeg' } }) });
      const { id } = await upload.json();
      assert.equal((await jacket.get(`/b/id/${id}.json`)).status, 200);
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        const killed = await admin.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database.name]);
        assert.ok(killed.rowCount! > 0, 'the instance had open connections to drop');
      } finally {
        await admin.end();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await jacket.get(`/b/id/${id}.json`)).status, 200);
      assert.equal((await jacket.get(`/b/olid/OL1M-S.jpg?default=false`)).status, 200);
    });
  });
} else {
  explainMissing('PostgreSQL', 'TEST_DATABASE_URL');
}
