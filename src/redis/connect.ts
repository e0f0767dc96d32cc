import { Redis, type RedisOptions } from 'ioredis';

/** What the Redis-backed parts say about their connection: a warning when they degrade, a note when they recover. */
export interface RedisLog {
  warn(message: string): void;
  info(message: string): void;
}

export const silentLog: RedisLog = { warn() {}, info() {} };

/**
 * A Redis connection for the request path: commands never wait in an offline queue (they fail at once and the
 * caller falls back to per-instance behaviour), and the client keeps reconnecting in the background.
 */
export function connectRedis(url: string, overrides: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 1000,
    connectTimeout: 2000,
    // Keep trying forever, never faster than every 100 ms nor slower than every 2 s.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    ...overrides,
  });
  // Errors are reported through the degraded/recovered transitions; an 'error' event without a listener would crash.
  client.on('error', () => {});
  return client;
}

/** Close a connection whatever its state (quit needs a live connection; disconnect does not). */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through
    }
  }
  client.disconnect();
}

/** Resolves when the client is ready, or after `timeoutMs` (false) so a start never hangs on Redis. */
export function whenReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('ready', onReady);
  });
}
