import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { makeTempDir } from './server.ts';

/**
 * The external services of the scale-out matrix. PostgreSQL and Redis come from the machine (TEST_DATABASE_URL,
 * TEST_REDIS_URL, exported by .ci/run); S3 is s3rver, a real S3 server started here on a free port.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL?.trim() || undefined;

/** Why a variant is not registered, printed once per test file (a developer's plain `npm test`). */
export function explainMissing(what: string, variable: string): void {
  process.stdout.write(`# ${what} variants not registered: ${variable} is not set (.ci/run sets it)\n`);
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty PostgreSQL database on the TEST_DATABASE_URL server; drop() removes it (connections included). */
export async function createTestDatabase(serverUrl = TEST_DATABASE_URL): Promise<TestDatabase> {
  if (!serverUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = uniqueName('jacket_test');
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A Redis key prefix no other test uses; cleanup() deletes every key under it. */
export async function redisPrefix(url = TEST_REDIS_URL): Promise<{ prefix: string; cleanup(): Promise<void> }> {
  if (!url) throw new Error('TEST_REDIS_URL is not set');
  const prefix = `${uniqueName('jacket-test')}:`;
  return {
    prefix,
    async cleanup() {
      const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
      try {
        await client.connect();
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          if (keys.length) await client.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    },
  };
}

export interface TestS3 {
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The environment a Jacket process needs to use this bucket (under `prefix`). */
  env(prefix: string): Record<string, string>;
  close(): Promise<void>;
}

/** s3rver on a free loopback port (in a child process), storing in a temp folder, with one empty bucket. */
export async function startS3(): Promise<TestS3> {
  const directory = await makeTempDir('jacket-s3-');
  const bucket = 'jacket-test';
  const child = spawn(process.execPath, ['--openssl-legacy-provider', new URL('./s3rver-main.ts', import.meta.url).pathname, directory, bucket], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    endpoint,
    bucket,
    region: 'us-east-1',
    credentials,
    env: (prefix) => ({
      JACKET_STORAGE: `s3://${bucket}/${prefix}`,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: endpoint,
      JACKET_S3_FORCE_PATH_STYLE: 'true',
    }),
    async close() {
      child.kill('SIGTERM');
      await exited;
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
