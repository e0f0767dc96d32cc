import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { Services } from '../../src/services.ts';
import { loadConfig } from '../../src/config.ts';

export const ADMIN_TOKEN = 'test-admin-token';

export interface RunningJacket {
  url: string;
  app: FastifyInstance;
  services: Services;
  dataDir: string;
  /** fetch against the server, never following redirects. */
  get(pathname: string, init?: RequestInit): Promise<Response>;
  /** Authorization header for the administrator. */
  admin: { authorization: string };
  close(): Promise<void>;
}

export async function makeTempDir(prefix = 'jacket-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A real Jacket listening on a real loopback socket, with its own data directory. */
export async function startJacket(env: Record<string, string> = {}): Promise<RunningJacket> {
  const dataDir = env.JACKET_DATA_DIR ?? (await makeTempDir());
  const config = loadConfig({ JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', ...env, JACKET_DATA_DIR: dataDir });
  const { app, services } = await buildApp(config, { logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    app,
    services,
    dataDir,
    get: (pathname, init) => fetch(url + pathname, { redirect: 'manual', ...init }),
    admin: { authorization: `Bearer ${ADMIN_TOKEN}` },
    async close() {
      await app.close();
      if (!env.JACKET_DATA_DIR) await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every file under a directory (relative paths), for "nothing was written" assertions. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(current: string, rel: string) {
    let entries;
    try {
      entries = await fs.readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path.join(current, entry.name), childRel);
      else out.push(childRel);
    }
  }
  await walk(dir, '');
  return out.sort();
}
