import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

test('JACKET_STORAGE: a folder by default inside the data dir, any local path, or s3://bucket/prefix with the AWS settings', () => {
  assert.deepEqual(loadConfig({ JACKET_DATA_DIR: '/srv/jacket' }).storage, { kind: 'fs', root: '/srv/jacket/blobs' });
  assert.deepEqual(loadConfig({ JACKET_STORAGE: 'images' }).storage, { kind: 'fs', root: path.resolve('images') });
  assert.deepEqual(
    loadConfig({
      JACKET_STORAGE: 's3://covers/jacket/prod/',
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      AWS_REGION: 'eu-west-3',
      AWS_ENDPOINT_URL_S3: 'http://minio:9000/',
      JACKET_S3_FORCE_PATH_STYLE: 'true',
    }).storage,
    {
      kind: 's3',
      bucket: 'covers',
      prefix: 'jacket/prod/',
      region: 'eu-west-3',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
    },
  );
  const bare = loadConfig({ JACKET_STORAGE: 's3://covers' }).storage;
  assert.equal(bare.kind === 's3' && bare.prefix, '');
  assert.equal(bare.kind === 's3' && bare.credentials, undefined, 'no keys: the AWS SDK default chain finds them');
  assert.equal(bare.kind === 's3' && bare.region, 'us-east-1');
});

test('scale-out settings refuse what they cannot use, with the setting named', () => {
  assert.throws(() => loadConfig({ JACKET_STORAGE: 's3://' }), (error: unknown) => error instanceof ConfigError && /JACKET_STORAGE/.test(error.message));
  assert.throws(() => loadConfig({ JACKET_STORAGE: 'gs://bucket/x' }), /JACKET_STORAGE/);
  assert.throws(() => loadConfig({ JACKET_STORAGE: 's3://bkt/x', AWS_ACCESS_KEY_ID: 'only-one' }), /together/);
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://db/x' }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ REDIS_URL: 'localhost:6379' }), /REDIS_URL/);
  assert.throws(() => loadConfig({ JACKET_STORAGE: 's3://bkt', JACKET_S3_FORCE_PATH_STYLE: 'maybe' }), /JACKET_S3_FORCE_PATH_STYLE/);
});

test('DATABASE_URL and REDIS_URL are taken as given; unset means the embedded default', () => {
  const config = loadConfig({ DATABASE_URL: 'postgres://jacket@db:5432/jacket', REDIS_URL: 'redis://redis:6379/2', JACKET_REDIS_PREFIX: 'covers:' });
  assert.equal(config.databaseUrl, 'postgres://jacket@db:5432/jacket');
  assert.equal(config.redisUrl, 'redis://redis:6379/2');
  assert.equal(config.redisPrefix, 'covers:');
  const embedded = loadConfig({});
  assert.equal(embedded.databaseUrl, undefined);
  assert.equal(embedded.redisUrl, undefined);
  assert.equal(embedded.redisPrefix, 'jacket:');
});
