import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { freePort } from './helpers/ports.ts';
import { makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';

const run = promisify(execFile);

/** Debian's server binaries (initdb, pg_ctl): the newest installed major version. */
async function serverBin(): Promise<string> {
  const versions = (await fs.readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  return path.join('/usr/lib/postgresql', versions[0]!, 'bin');
}

/** PostgreSQL refuses to run as root; as root the cluster is made and run by the postgres user. */
function asServerUser(command: string, args: string[]) {
  return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
}

/** A PostgreSQL cluster of this test's own, in a temporary folder on a free port, that the test stops and starts. */
async function ownPostgres() {
  const bin = await serverBin();
  const dir = await makeTempDir('jacket-pg-');
  if (process.getuid?.() === 0) await run('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  const port = await freePort();
  await asServerUser(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const ctl = (...args: string[]) => asServerUser(path.join(bin, 'pg_ctl'), ['-D', data, '-w', ...args]);
  const start = () => ctl('-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', path.join(dir, 'log'), 'start');
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop: () => ctl('-m', 'fast', 'stop'),
    async remove() {
      await ctl('-m', 'immediate', 'stop').catch(() => {});
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

describe('Jacket through a PostgreSQL outage (its own server, stopped and started under traffic)', () => {
  let postgres: Awaited<ReturnType<typeof ownPostgres>>;
  let jacket: RunningJacket;
  before(async () => {
    postgres = await ownPostgres();
    jacket = await startJacket({ DATABASE_URL: postgres.url });
  });
  after(async () => {
    await jacket?.close();
    await postgres?.remove();
  });

  test('answers 503 + Retry-After while the database is down, never crashes, and recovers by itself', async () => {
    const upload = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL1M', isbn: '9780140328721', data: { bytes: await makeImage(100, 160), type: 'image/jpeg' } }) });
    assert.equal(upload.status, 200, await upload.clone().text());
    let n = 2;
    // Distinct identifiers each time, so every request reaches the database rather than a cache.
    const lookup = () => jacket.get(`/b/olid/OL${n++}M.json`);
    assert.equal((await lookup()).status, 404);
    const byIsbn = (await jacket.get('/b/isbn/9780140328721.json')).status;
    assert.ok(byIsbn < 400, `the uploaded cover is found by its ISBN: ${byIsbn}`);

    const traffic = Array.from({ length: 5 }, () => lookup());
    await postgres.stop();
    for (const response of await Promise.all(traffic)) assert.ok([404, 503].includes(response.status), `during the stop: ${response.status}`);

    const started = Date.now();
    const during = await lookup();
    assert.ok(Date.now() - started < 8000, 'a request waits a bounded time for the database');
    assert.equal(during.status, 503);
    assert.ok(Number(during.headers.get('retry-after')) > 0);
    const body = await during.json();
    assert.equal(body.error, 'database_unavailable');
    assert.match(body.message, /database/);
    const ready = await jacket.get('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual((await ready.json()).failing, ['database']);

    await postgres.start();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 404) {
      status = (await lookup()).status;
      if (status !== 404) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(status, 404, 'lookups answer again once the database is back');
    assert.equal((await jacket.get('/b/isbn/9780140328721.json')).status, byIsbn);
    assert.equal((await jacket.get('/readyz')).status, 200);
  });
});
