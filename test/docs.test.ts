import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { SETTINGS } from '../src/config.ts';

test('the README documents every setting', () => {
  const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const missing = SETTINGS.filter((setting) => !readme.includes(`\`${setting.env}\``)).map((setting) => setting.env);
  assert.deepEqual(missing, []);
});
