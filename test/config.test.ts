import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, SETTINGS } from '../src/config.ts';

test('every documented default is the default: setting a setting to it changes nothing', () => {
  const base = { JACKET_DATA_DIR: '/srv/jacket' };
  const defaults = loadConfig(base);
  const literal = SETTINGS.filter((setting) => !setting.default.startsWith('(') && setting.env !== 'JACKET_DATA_DIR');
  assert.ok(literal.length >= 25, `${literal.length} settings with a literal default`);
  for (const setting of literal) {
    assert.deepEqual(loadConfig({ ...base, [setting.env]: setting.default }), defaults, `${setting.env}=${setting.default}`);
  }
});

test('a setting set to something else than its default changes the configuration', () => {
  const defaults = loadConfig({});
  for (const [env, value] of Object.entries({ PORT: '9090', JACKET_OL_RATE_LIMIT: '5/1m', JACKET_HOT_FRONT: 'false', JACKET_CAA_ID_TYPE: 'number', JACKET_UPSTREAM_NEGATIVE_TTL: '2h' })) {
    assert.notDeepEqual(loadConfig({ [env]: value }), defaults, env);
  }
});
