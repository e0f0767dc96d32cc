import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { freePort } from './ports.ts';
import { makeTempDir } from './server.ts';

/** A service of the test's own, on a fixed port, that the test stops and starts again (outage tests). */
export interface OwnService {
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  remove(): Promise<void>;
}

async function listening(port: number, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  return exited;
}

/** redis-server on a free port, without persistence: a stop loses every key, as a Redis restart may. */
export async function ownRedis(): Promise<OwnService & { url: string; pause(): void; resume(): void }> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const service = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await listening(port);
    },
    stop: () => stopChild(child),
    /** A Redis that holds its connections but answers nothing (stuck, or its host gone without a reset). */
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async remove() {
      child?.kill('SIGCONT');
      await stopChild(child);
    },
  };
  await service.start();
  return service;
}

/** s3rver (test/helpers/s3rver-main.ts) on a free port, keeping its objects in one folder across restarts. */
export async function ownS3(): Promise<OwnService & { env(prefix: string): Record<string, string>; pause(): void; resume(): void }> {
  const directory = await makeTempDir('jacket-s3-outage-');
  const bucket = 'jacket-outage';
  const port = await freePort();
  let child: ChildProcess | undefined;
  const service = {
    port,
    async start() {
      child = spawn(process.execPath, ['--openssl-legacy-provider', path.join(import.meta.dirname, 's3rver-main.ts'), directory, bucket, String(port)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        readline.createInterface({ input: child!.stdout! }).once('line', () => resolve());
        child!.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening`)));
      });
    },
    // Killed: a graceful close would wait for Jacket's keep-alive connections to end, which they never do under traffic.
    stop: () => stopChild(child, 'SIGKILL'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async remove() {
      child?.kill('SIGCONT');
      await stopChild(child, 'SIGKILL');
      await fs.rm(directory, { recursive: true, force: true });
    },
    env: (prefix: string) => ({
      JACKET_STORAGE: `s3://${bucket}/${prefix}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      JACKET_S3_FORCE_PATH_STYLE: 'true',
    }),
  };
  await service.start();
  return service;
}

export interface Answer {
  what: string;
  status: number;
  ms: number;
  retryAfter: string | null;
  error?: string;
}

/**
 * Requests sent over and over by a few workers until stopped, each answer recorded: the "traffic" an outage
 * happens under. A request that fails at the socket (the server crashed or hung up) is recorded as status 0.
 */
export function traffic(requests: Array<[string, () => Promise<Response>]>, workers = 4) {
  const answers: Answer[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async (_, worker) => {
    for (let i = worker; running; i++) {
      const [what, send] = requests[i % requests.length]!;
      const started = Date.now();
      try {
        const response = await send();
        const text = await response.text();
        let error: string | undefined;
        try {
          error = (JSON.parse(text) as { error?: string }).error;
        } catch {
          // not JSON (an image)
        }
        answers.push({ what, status: response.status, ms: Date.now() - started, retryAfter: response.headers.get('retry-after'), error });
      } catch (failure) {
        answers.push({ what, status: 0, ms: Date.now() - started, retryAfter: null, error: String((failure as Error).cause ?? failure) });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return {
    answers,
    async stop(): Promise<Answer[]> {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/** Every answer is one the request path allows, a 5xx is a 503 with Retry-After, and none took longer than `boundMs`. */
export function assertWellBehaved(answers: Answer[], allowed: Record<string, number[]>, boundMs: number): void {
  assert.ok(answers.length > 0, 'traffic was sent');
  for (const answer of answers) {
    const ok = allowed[answer.what] ?? [];
    assert.ok(ok.includes(answer.status), `${answer.what}: ${answer.status} ${answer.error ?? ''} (allowed: ${ok.join(', ')})`);
    if (answer.status === 503) assert.ok(Number(answer.retryAfter) > 0, `${answer.what}: a 503 carries Retry-After`);
    assert.ok(answer.ms < boundMs, `${answer.what} took ${answer.ms} ms (bound ${boundMs} ms)`);
  }
}

/** Poll until `check` holds (true) or the deadline passes; how long it took. */
export async function eventually(check: () => Promise<boolean>, deadlineMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    assert.ok(Date.now() - started < deadlineMs, `${what} within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
