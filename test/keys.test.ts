import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { createTestDatabase, explainMissing, TEST_DATABASE_URL, type TestDatabase } from './helpers/backends.ts';
import { form, makeImage } from './helpers/images.ts';
import { ADMIN_TOKEN, startJacket, type RunningJacket } from './helpers/server.ts';
import { newSecret } from '../src/catalogue/keys.ts';

const run = promisify(execFile);

test('a secret never begins with "-", so the command line never reads one as an option; it stays 256 bits', () => {
  for (let i = 0; i < 5000; i++) {
    const secret = newSecret();
    assert.match(secret, /^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
  }
});
const root = path.resolve(import.meta.dirname, '..');

/** `jacket …` as a separate process, with the same settings (data directory, and `env`) as the running server. */
async function jacketCliWith(jacket: RunningJacket, env: Record<string, string>, ...args: string[]): Promise<string> {
  const { stdout } = await run(path.join(root, 'node_modules/.bin/node'), [path.join(root, 'src/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, JACKET_DATA_DIR: jacket.dataDir, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', ...env },
  });
  return stdout;
}

function jacketCli(jacket: RunningJacket, ...args: string[]): Promise<string> {
  return jacketCliWith(jacket, {}, ...args);
}

function json(jacket: RunningJacket, method: string, pathname: string, body?: unknown, headers: Record<string, string> = jacket.admin) {
  return jacket.get(pathname, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('developer keys', () => {
  let jacket: RunningJacket;

  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  test('lifecycle over the admin API: create (secret once), list (no secrets), revoke by id or secret', async () => {
    const created = await json(jacket, 'POST', '/api/v1/keys', { name: 'Branch library', dailyLimit: 250, contact: 'it@library.example' });
    assert.equal(created.status, 201);
    const first = await created.json();
    assert.match(first.key, /^[A-Za-z0-9_-]{43}$/);
    assert.match(first.id, /^k_[0-9a-f]{16}$/);
    assert.equal(first.name, 'Branch library');
    assert.equal(first.dailyLimit, 250);
    assert.deepEqual(first.permissions, []);
    assert.equal(first.revoked, false);
    assert.equal(first.usageUrl, `/devkey/${first.key}/usage`);

    const defaulted = await (await json(jacket, 'POST', '/api/v1/keys', { name: 'Defaults', dailyLimit: null })).json();
    assert.equal(defaulted.dailyLimit, 1000);
    assert.equal(defaulted.dailyLimitIsDefault, true);

    const listed = await json(jacket, 'GET', '/api/v1/keys');
    assert.equal(listed.status, 200);
    const text = await listed.text();
    assert.ok(!text.includes(first.key) && !text.includes(defaulted.key), 'no secret in the listing');
    const ids = JSON.parse(text).keys.map((key: { id: string }) => key.id);
    assert.ok(ids.includes(first.id) && ids.includes(defaulted.id));

    assert.equal((await jacket.get(`/devkey/${first.key}/usage`)).status, 200);
    const revoked = await json(jacket, 'DELETE', `/api/v1/keys/${first.id}`);
    assert.equal(revoked.status, 200);
    assert.equal((await revoked.json()).revoked, true);
    assert.equal((await jacket.get(`/devkey/${first.key}/usage`)).status, 403);
    assert.equal((await json(jacket, 'DELETE', `/api/v1/keys/${defaulted.key}`)).status, 200, 'the secret names a key too');
    assert.equal((await jacket.get(`/devkey/${defaulted.key}/usage`)).status, 403);
    assert.equal((await json(jacket, 'DELETE', '/api/v1/keys/k_0000000000000000')).status, 404);
    const after = (await (await json(jacket, 'GET', '/api/v1/keys')).json()).keys.find((key: { id: string }) => key.id === first.id);
    assert.equal(after.revoked, true);
    assert.match(after.revokedAt, /^\d{4}-\d\d-\d\dT/);
  });

  test('only the administrator manages keys; bad input is a 400 that stores nothing', async () => {
    assert.equal((await json(jacket, 'POST', '/api/v1/keys', { name: 'x' }, {})).status, 401);
    assert.equal((await json(jacket, 'GET', '/api/v1/keys', undefined, {})).status, 401);
    const { key } = await (await json(jacket, 'POST', '/api/v1/keys', { name: 'Plain' })).json();
    assert.equal((await json(jacket, 'GET', '/api/v1/keys', undefined, { authorization: `Bearer ${key}` })).status, 403);
    assert.equal((await json(jacket, 'DELETE', `/api/v1/keys/${key}`, undefined, { authorization: `Bearer ${key}` })).status, 403);
    const before = (await (await json(jacket, 'GET', '/api/v1/keys')).json()).keys.length;
    for (const [body, code] of [
      [{}, 'invalid_name'],
      [{ name: '' }, 'invalid_name'],
      [{ name: 'x'.repeat(101) }, 'invalid_name'],
      [{ name: 'ok', dailyLimit: -1 }, 'invalid_daily_limit'],
      [{ name: 'ok', dailyLimit: 1.5 }, 'invalid_daily_limit'],
      [{ name: 'ok', permissions: ['admin'] }, 'invalid_permissions'],
      [{ name: 'ok', rateLimit: 'fast' }, 'invalid_rate_limit'],
      [{ name: 'ok', contact: 'c'.repeat(201) }, 'invalid_contact'],
      [['name'], 'invalid_body'],
    ] as const) {
      const response = await json(jacket, 'POST', '/api/v1/keys', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal((await response.json()).error, code);
    }
    assert.equal((await (await json(jacket, 'GET', '/api/v1/keys')).json()).keys.length, before);
  });

  test('a key with the upload permission authorises writes; others and revoked ones do not', async () => {
    const uploader = await (await json(jacket, 'POST', '/api/v1/keys', { name: 'Uploader', dailyLimit: 10, permissions: ['upload'] })).json();
    const reader = await (await json(jacket, 'POST', '/api/v1/keys', { name: 'Reader', dailyLimit: 10 })).json();
    const image = await makeImage(300, 450);
    const post = (secret: string) =>
      jacket.get('/b/upload2', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form({ isbn: '0306406152', data: { bytes: image, type: 'image/jpeg' } }) });
    const ok = await post(uploader.key);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).ok, 'true');
    assert.equal((await post(reader.key)).status, 403);
    assert.equal((await post('not-a-key')).status, 401);
    await json(jacket, 'DELETE', `/api/v1/keys/${uploader.id}`);
    assert.equal((await post(uploader.key)).status, 401);
    // Upload keys cannot administer.
    const other = await (await json(jacket, 'POST', '/api/v1/keys', { name: 'Uploader 2', permissions: ['upload'] })).json();
    assert.equal((await jacket.get('/b/delete', { method: 'POST', headers: { authorization: `Bearer ${other.key}` }, body: new URLSearchParams({ id: '1' }) })).status, 403);
  });

  test('the same lifecycle from the command line, against the database of the running server', async () => {
    const created = JSON.parse(await jacketCli(jacket, 'keys', 'create', '--name', 'Catalogue robot', '--daily-limit', '42', '--rate-limit', '1/1s', '--permission', 'upload', '--json'));
    assert.match(created.key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(created.dailyLimit, 42);
    assert.equal(created.rateLimit, '1/1s');
    assert.deepEqual(created.permissions, ['upload']);
    const usage = await jacket.get(`/devkey/${created.key}/usage`);
    assert.equal(usage.status, 200, 'the serving process sees the key at once');
    assert.equal((await usage.json()).limit, 42);

    const human = await jacketCli(jacket, 'keys', 'create', '--name', 'Human');
    const secret = /^\s{4}(\S+)$/m.exec(human)?.[1];
    assert.ok(secret && secret.length === 43, human);

    const listing = await jacketCli(jacket, 'keys', 'list');
    assert.match(listing, new RegExp(`${created.id}\\tactive`));
    assert.ok(!listing.includes(created.key) && !listing.includes(secret));
    const apiList = await (await json(jacket, 'GET', '/api/v1/keys')).json();
    assert.ok(apiList.keys.some((key: { id: string }) => key.id === created.id), 'the API lists keys made by the CLI');

    assert.match(await jacketCli(jacket, 'keys', 'revoke', created.id), /^Revoked k_/);
    const afterRevoke = (await (await json(jacket, 'GET', '/api/v1/keys')).json()).keys.find((key: { id: string }) => key.id === created.id);
    assert.equal(afterRevoke.revoked, true);
    assert.equal((await jacket.get(`/devkey/${created.key}/usage`)).status, 403, 'revocation takes effect in the serving process');
    await jacketCli(jacket, 'keys', 'revoke', secret);
    assert.equal((await jacket.get(`/devkey/${secret}/usage`)).status, 403);
    await assert.rejects(jacketCli(jacket, 'keys', 'revoke', 'no-such-key'), (error: { code?: number; stderr?: string }) => error.code === 1 && /no such developer key/.test(error.stderr ?? ''));
  });

  test('secrets are never stored in clear: only their SHA-256 is in the database', async () => {
    const secrets: string[] = [];
    for (let i = 0; i < 3; i++) secrets.push((await (await json(jacket, 'POST', '/api/v1/keys', { name: `Stored ${i}` })).json()).key);
    secrets.push(JSON.parse(await jacketCli(jacket, 'keys', 'create', '--name', 'Stored CLI', '--json')).key);
    const files = (await fs.readdir(jacket.dataDir)).filter((name) => name.startsWith('catalogue.sqlite'));
    assert.ok(files.includes('catalogue.sqlite'));
    const raw = Buffer.concat(await Promise.all(files.map((name) => fs.readFile(path.join(jacket.dataDir, name)))));
    const reader = new SQLite(path.join(jacket.dataDir, 'catalogue.sqlite'), { readonly: true });
    try {
      const rows = reader.prepare('SELECT * FROM developer_keys').all() as Record<string, unknown>[];
      const dump = JSON.stringify(rows);
      for (const secret of secrets) {
        assert.ok(!raw.includes(Buffer.from(secret)), 'the secret is not in the database files');
        assert.ok(!dump.includes(secret), 'the secret is in no column');
        assert.ok(rows.some((row) => row.secret_sha256 === createHash('sha256').update(secret).digest('hex')));
      }
    } finally {
      reader.close();
    }
  });
});

if (TEST_DATABASE_URL) {
  describe('developer keys on PostgreSQL', () => {
    let database: TestDatabase;
    let jacket: RunningJacket;
    before(async () => {
      database = await createTestDatabase();
      jacket = await startJacket({ DATABASE_URL: database.url });
    });
    after(async () => {
      await jacket?.close();
      await database?.drop();
    });

    test('`jacket keys` works on the database DATABASE_URL names, not on a SQLite file of its own', async () => {
      const env = { DATABASE_URL: database.url };
      const created = JSON.parse(await jacketCliWith(jacket, env, 'keys', 'create', '--name', 'On PostgreSQL', '--json'));
      assert.equal((await jacket.get(`/devkey/${created.key}/usage`)).status, 200, 'the server sees the key made by the CLI');
      assert.match(await jacketCliWith(jacket, env, 'keys', 'list'), new RegExp(`${created.id}\\tactive`));
      await assert.rejects(fs.stat(path.join(jacket.dataDir, 'catalogue.sqlite')), { code: 'ENOENT' });
    });
  });
} else {
  explainMissing('PostgreSQL', 'TEST_DATABASE_URL');
}

describe('self-service sign-up', () => {
  test('is off by default: 403 signup_disabled', async () => {
    const jacket = await startJacket();
    try {
      const response = await json(jacket, 'POST', '/api/v1/keys/signup', { name: 'Me', contact: 'me@example.org' }, {});
      assert.equal(response.status, 403);
      assert.equal((await response.json()).error, 'signup_disabled');
    } finally {
      await jacket.close();
    }
  });

  test('when on: 201 with the secret, the default limit and the usage URL; lengths checked; rate-limited per IP', async () => {
    const jacket = await startJacket({ JACKET_KEY_SIGNUP: 'true', JACKET_KEY_SIGNUP_RATE_LIMIT: '2/1d', JACKET_DEVKEY_DAILY_LIMIT: '500' });
    try {
      const response = await json(jacket, 'POST', '/api/v1/keys/signup', { name: 'Parish library', contact: 'librarian@parish.example' }, {});
      assert.equal(response.status, 201);
      const body = await response.json();
      assert.match(body.key, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(body.dailyLimit, 500);
      assert.equal(body.usageUrl, `/devkey/${body.key}/usage`);
      const usage = await jacket.get(body.usageUrl);
      assert.equal(usage.status, 200);
      assert.deepEqual(await usage.json().then((u) => [u.counted, u.limit]), [0, 500]);
      for (const bad of [{ name: '', contact: 'a@b.c' }, { name: 'n'.repeat(101), contact: 'a@b.c' }, { name: 'ok', contact: 'ab' }, { name: 'ok', contact: 'c'.repeat(201) }, { name: 'ok' }]) {
        const refused = await json(jacket, 'POST', '/api/v1/keys/signup', bad, {});
        assert.equal(refused.status, 400, JSON.stringify(bad));
      }
      // Self-service keys cannot upload even if they ask to.
      const second = await (await json(jacket, 'POST', '/api/v1/keys/signup', { name: 'Greedy', contact: 'x@y.z', permissions: ['upload'] }, {})).json();
      const listed = (await (await json(jacket, 'GET', '/api/v1/keys')).json()).keys.find((key: { id: string }) => key.id === second.id);
      assert.deepEqual(listed.permissions, []);
      const limited = await json(jacket, 'POST', '/api/v1/keys/signup', { name: 'Third', contact: 'x@y.z' }, {});
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    } finally {
      await jacket.close();
    }
  });
});
