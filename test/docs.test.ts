import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { SETTINGS } from '../src/config.ts';

test('the README documents every setting', () => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const missing = SETTINGS.filter((setting) => !readme.includes(`\`${setting.env}\``)).map((setting) => setting.env);
  assert.deepEqual(missing, []);
});

test('every environment variable the configuration reads is a documented setting', async () => {
  const { loadConfig } = await import('../src/config.ts');
  const read = new Set<string>();
  // S3 storage with explicit credentials, so the credential settings are read too.
  const values: Record<string, string> = { JACKET_STORAGE: 's3://bucket/prefix', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session' };
  const env = new Proxy(values, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  const config = loadConfig(env);
  assert.equal(config.storage.kind === 's3' && config.storage.credentials?.sessionToken, 'session');
  const documented = new Set(SETTINGS.map((setting) => setting.env));
  assert.deepEqual([...read].filter((name) => !documented.has(name)).sort(), []);
});
