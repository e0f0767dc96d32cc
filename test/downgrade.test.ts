// An older Jacket started on a catalogue a newer one migrated: it changes nothing and refuses with a sentence.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { createServices } from '../src/services.ts';
import { makeTempDir } from './helpers/server.ts';

test('a catalogue with a migration this version does not know: exit 2 with a sentence, the schema left alone', async () => {
  const dataDir = await makeTempDir();
  try {
    const services = await createServices(loadConfig({ JACKET_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
    // What a newer Jacket leaves behind: one more migration recorded.
    await services.db.insertInto('kysely_migration' as never).values({ name: '999_from_a_newer_jacket', timestamp: new Date().toISOString() } as never).execute();
    await services.close();
    const migrations = () => {
      const db = new Database(path.join(dataDir, 'catalogue.sqlite'), { readonly: true });
      try {
        return db.prepare('select name from kysely_migration order by name').all();
      } finally {
        db.close();
      }
    };
    const before = migrations();
    const result = spawnSync(path.join(import.meta.dirname, '..', 'node_modules', '.bin', 'node'), [path.join(import.meta.dirname, '..', 'src', 'main.ts'), 'serve'], {
      env: { ...process.env, JACKET_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', JACKET_ADMIN_TOKEN: 't' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /upgraded by a newer Jacket \(its migration 999_from_a_newer_jacket is unknown to this version\)/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'a sentence, not a stack trace');
    assert.deepEqual(migrations(), before);
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});
