/**
 * `npm run bench`: the rendition engine's targets (issue 5), measured side by side in one run.
 *
 *  1. hits        wrk, 32 connections, on an already-made M rendition: Jacket by id and by ISBN vs nginx serving the
 *                 same bytes from disk. Servers pinned to CPU 0, wrk to CPU 1 (when there are two cores).
 *  2. misses      first requests for L renditions of fresh 1200×1800 JPEGs, two at a time, vs bare sharp doing the
 *                 same resize two at a time in one Node process. Printed beside it, with no target: a bare node:http
 *                 server doing only that resize per request (bench/bare-http.ts), driven by the same client, which
 *                 shows how much of the budget plain HTTP in Node takes before Jacket does anything.
 *  3. bursts      400 concurrent requests for renditions not made yet, while wrk keeps asking for a hit.
 *  4. revalidation  a matching If-None-Match answers 304 (the no-work/no-read proof is test/revalidation.test.ts).
 *
 * Jacket runs as a child process (`node bin/jacket.js serve`) with the default settings but two: LOG_LEVEL=warn (set
 * BENCH_LOG_LEVEL=info to measure with per-request logging), and the Open Library lookup limit left on but raised to
 * JACKET_OL_RATE_LIMIT=999999999/5m, since the load generator is one client address (every hit is still counted);
 * the refusal rounds run a second Jacket whose limit (1/1d) refuses every lookup. nginx runs with access_log off. Rounds: BENCH_ROUNDS (default 9) for hits,
 * BENCH_MISS_ROUNDS (default 15) of BENCH_MISSES_PER_ROUND (default 60) for misses. Each target's verdict is the median
 * of per-round ratios: a round runs Jacket and its baseline back to back, so the machine's drift cancels out.
 *
 * For working on one part: BENCH_ONLY=hits or =misses runs only that part; BENCH_JACKET_FLAGS passes Node flags to the
 * Jacket process alone (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createServices } from '../src/services.ts';
import { loadConfig } from '../src/config.ts';
import { normaliseIdentifier } from '../src/identifiers/index.ts';
import { openLibrarySize } from '../src/images/sizes.ts';
import { LeanClient } from './lean-client.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');
/** Hit rounds: many short ones, each with nginx measured before and after Jacket (see part 1). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const HIT_SECONDS = Number(process.env.BENCH_HIT_SECONDS ?? 2);
const MISSES_PER_ROUND = Number(process.env.BENCH_MISSES_PER_ROUND ?? 60);
/**
 * Miss rounds: a round of misses lasts about half a second and this VM's speed drifts, so many: per-round ratios of
 * the same code spread by ±0.1 here, which leaves the median of 9 uncertain by about ±0.04; 15 bring it to ±0.03
 * for half a minute more.
 */
const MISS_ROUNDS = Number(process.env.BENCH_MISS_ROUNDS ?? 15);
const BURST = 400;
/** Fresh covers asked for before the miss rounds, unmeasured. */
const MISS_WARMUP = 20;
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
/** Node flags for the Jacket process only, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (for working on it). */
const JACKET_FLAGS = (process.env.BENCH_JACKET_FLAGS ?? '').split(' ').filter(Boolean);
/** `hits` or `misses`: run only that part (for working on it). */
const ONLY = process.env.BENCH_ONLY;
const TWO_CORES = os.availableParallelism() >= 2;
const ISBN = '0385472579';
/** On, as by default, but never reached by the one address the load generator has. */
const BENCH_OL_LIMIT = '999999999/5m';
const RELEASE = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
const ADMIN = { authorization: 'Bearer bench-admin-token' };

function have(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}
const HAVE_WRK = have('wrk');
const HAVE_NGINX = have('nginx') || (await fs.access('/usr/sbin/nginx').then(() => true, () => false));
const HAVE_TASKSET = TWO_CORES && have('taskset');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(1));

function log(line: string) {
  process.stdout.write(line + '\n');
}

/** Cover-like 1200×1800 pixels: smooth bands, a title box and texture a few pixels across, different per seed. */
function coverPixels(seed: number, width = 1200, height = 1800): Buffer {
  const pixels = Buffer.allocUnsafe(width * height * 3);
  let random = (seed * 2654435761) >>> 0 || 1;
  const next = () => ((random = (random * 1103515245 + 12345) >>> 0) >>> 24);
  const hue = [(seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256];
  // Texture at the scale of a few pixels survives the downscale, as a photo or an illustration does.
  const texture = Int16Array.from({ length: 4096 }, () => (next() % 128) - 64);
  const rows = Float64Array.from({ length: height }, (_, y) => Math.sin((y + seed * 7) / 90) * 60);
  const columns = Float64Array.from({ length: width }, (_, x) => Math.cos((x - seed * 3) / 140) * 40);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inBox = x > 150 && x < 1050 && y > 300 && y < 700;
      const block = texture[((y >> 3) * 151 + (x >> 3)) & 4095]!;
      for (let c = 0; c < 3; c++) {
        const base = inBox ? 235 - c * 10 : hue[c]! + rows[y]! + columns[x]! + block;
        pixels[i++] = Math.max(0, Math.min(255, base + (next() & 15) - 8));
      }
    }
  }
  return pixels;
}

const basePixels: Buffer[] = [];
/** A distinct JPEG per seed: one of four textured bases with a seed-coloured patch (pixels once, JPEG encode each). */
async function coverImage(seed: number, width = 1200, height = 1800): Promise<Buffer> {
  const base = (basePixels[seed % 4] ??= coverPixels(seed % 4, width, height));
  const pixels = Buffer.from(base);
  const left = 200 + (seed % 7) * 100;
  const top = 400 + (Math.floor(seed / 7) % 20) * 60;
  for (let y = top; y < top + 48; y++) {
    for (let x = left; x < left + 96; x++) {
      const at = (y * width + x) * 3;
      pixels[at] = (seed * 29) & 255;
      pixels[at + 1] = (seed * 71) & 255;
      pixels[at + 2] = (seed * 13) & 255;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 88 }).toBuffer();
}

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(url: string, agent: http.Agent, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(url: string, child: ChildProcess, what: string) {
  const agent = new http.Agent();
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    try {
      await request(url, agent);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${what} did not start`);
}

interface WrkResult {
  rate: number;
  requests: number;
  non2xx: number;
  errors: number;
  p99: string;
  max: string;
}

function wrk(url: string, seconds: number, connections: number, headers: string[] = []): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const command = HAVE_TASKSET ? 'taskset' : 'wrk';
  const fullArgs = HAVE_TASKSET ? ['-c', '1', 'wrk', ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(command, fullArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', () => {
      const number = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
      const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      resolve({
        rate: number(/Requests\/sec:\s+([\d.]+)/),
        requests: number(/(\d+) requests in/),
        non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
        errors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
        p99: /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '?',
        max: /Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? '?',
      });
    });
  });
}

/** autocannon in this process: the fallback load generator when wrk is not installed. */
async function autocannonRun(url: string, seconds: number, connections: number, headers: Record<string, string> = {}): Promise<WrkResult> {
  const { default: autocannon } = await import('autocannon');
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return {
    rate: result.requests.average,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p99: `${result.latency.p99}ms`,
    max: `${result.latency.max}ms`,
  };
}

function load(url: string, seconds: number, connections: number, headers: Record<string, string> = {}): Promise<WrkResult> {
  if (HAVE_WRK) return wrk(url, seconds, connections, Object.entries(headers).map(([k, v]) => `${k}: ${v}`));
  return autocannonRun(url, seconds, connections, headers);
}

function pin(pid: number, cpus: string) {
  if (HAVE_TASKSET) spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

async function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
}

/** User + system CPU time of processes (all their threads), in seconds. */
async function cpuSeconds(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const { user, system } = statTicks(await fs.readFile(`/proc/${pid}/stat`, 'utf8'));
    ticks += user + system;
  }
  return ticks / 100;
}

/** A `/proc/…/stat` line's user and system CPU time, in clock ticks (1/100 s). */
function statTicks(stat: string): { user: number; system: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

/** The whole machine's CPU time from /proc/stat, in seconds: busy (every thread and kernel worker) and stolen by the host. */
async function machineCpu(): Promise<{ busy: number; steal: number }> {
  const line = (await fs.readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number) as number[];
  return { busy: (user! + nice! + system! + irq! + softirq!) / 100, steal: steal! / 100 };
}

/** A process's CPU time by thread kind (main, libuv pool, libvips, V8 helpers), user and system, in milliseconds. */
async function threadCpu(pid: number): Promise<Map<string, { user: number; system: number }>> {
  const byKind = new Map<string, { user: number; system: number }>();
  for (const tid of await fs.readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const stat = await fs.readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const kind = tid === String(pid) ? 'main' : name.startsWith('libuv') ? 'pool' : name.startsWith('libvips') ? 'libvips' : name.startsWith('V8') ? 'V8' : 'other';
    const ticks = statTicks(stat);
    const entry = byKind.get(kind) ?? { user: 0, system: 0 };
    entry.user += ticks.user * 10;
    entry.system += ticks.system * 10;
    byKind.set(kind, entry);
  }
  return byKind;
}

function threadCpuPer(before: Map<string, { user: number; system: number }>, after: Map<string, { user: number; system: number }>, count: number): string {
  const parts: string[] = [];
  for (const kind of ['main', 'pool', 'libvips', 'V8', 'other']) {
    const a = after.get(kind);
    if (!a) continue;
    const b = before.get(kind) ?? { user: 0, system: 0 };
    parts.push(`${kind} ${((a.user - b.user) / count).toFixed(1)}+${((a.system - b.system) / count).toFixed(1)}`);
  }
  return parts.join(', ');
}

function childPids(pid: number): number[] {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean).map(Number);
}

class Stop extends Error {}

const verdicts: Array<{ target: string; measured: string; pass: boolean }> = [];
function verdict(target: string, measured: string, pass: boolean) {
  verdicts.push({ target, measured, pass });
  log(`  → ${pass ? 'PASS' : 'FAIL'}  ${target}: ${measured}`);
}

// ---------------------------------------------------------------------------------------------------------------

const temp = await fs.mkdtemp(path.join(os.tmpdir(), 'jacket-bench-'));
const dataDir = path.join(temp, 'data');
const children: ChildProcess[] = [];
const cleanup = async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await sleep(300);
  await fs.rm(temp, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
// Whatever happens to this process, no server it started outlives it.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(temp, { recursive: true, force: true });
});

try {
  log(`Jacket rendition bench — ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  log(`load generator: ${HAVE_WRK ? 'wrk' : 'autocannon'}; nginx: ${HAVE_NGINX ? 'yes' : 'not installed'}; pinning: ${HAVE_TASKSET ? 'servers CPU 0, wrk CPU 1' : 'none'}; rounds: ${ROUNDS} (hits), ${MISS_ROUNDS} (misses); Jacket LOG_LEVEL=${LOG_LEVEL}`);

  // The corpus, written through the real ingest path before the server starts.
  const missCount = MISS_ROUNDS * MISSES_PER_ROUND;
  log(`corpus: 1 hit cover + ${missCount} fresh 1200×1800 JPEGs (+ ${MISS_WARMUP} to warm the miss path up)…`);
  // Images first, database second: better-sqlite3 statements collected by a GC inside the pixel loop abort Node 24.
  const images: Buffer[] = [];
  for (let i = 0; i <= missCount + MISS_WARMUP; i++) images.push(await coverImage(i));
  const services = await createServices(loadConfig({ JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: 'bench-admin-token', LOG_LEVEL: 'silent' }));
  const isbn = normaliseIdentifier('isbn', ISBN)!;
  const hitCover = await services.ingest.addCover({ category: 'b', olid: 'OL1M', bytes: images[0]!, identifiers: [{ scheme: 'isbn', value: isbn }] });
  const missCovers: Array<{ id: number; file: string }> = [];
  const warmCovers: Array<{ id: number; file: string }> = [];
  for (let i = 1; i <= missCount + MISS_WARMUP; i++) {
    const cover = await services.ingest.addCover({ category: 'b', bytes: images[i]! });
    (i <= MISS_WARMUP ? warmCovers : missCovers).push({ id: cover.id, file: path.join(dataDir, 'blobs', ...cover.blobKey.split('/')) });
  }
  await services.close();

  // Jacket, as a user runs it.
  const jacketPort = await freePort();
  const jacket = spawn(NODE, [...JACKET_FLAGS, path.join(ROOT, 'bin/jacket.js'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(jacketPort), HOST: '127.0.0.1', JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: 'bench-admin-token', LOG_LEVEL, JACKET_OL_RATE_LIMIT: BENCH_OL_LIMIT },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(jacket);
  const jacketUrl = `http://127.0.0.1:${jacketPort}`;
  await waitFor(jacketUrl + '/', jacket, 'Jacket');

  const agent = new http.Agent({ keepAlive: true });
  const hitPath = `/b/id/${hitCover.id}-M.jpg`;
  const isbnPath = `/b/isbn/${ISBN}-M.jpg`;
  const made = await request(jacketUrl + hitPath, agent);
  if (made.status !== 200) throw new Error(`hit rendition answered ${made.status}`);
  const byIsbn = await request(jacketUrl + isbnPath, agent);
  if (!byIsbn.body.equals(made.body)) throw new Error('the ISBN route serves different bytes');
  log(`hit rendition: ${hitPath} (${made.body.length} bytes, ${made.headers['content-type']})`);
  // The other dialects' hits: a keyed <img> and a Cover Art Archive thumbnail, each already made.
  const keyed = await fetch(jacketUrl + '/api/v1/keys', { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
  const keyedPath = `/devkey/${(await keyed.json()).key}/medium/isbn/${ISBN}`;
  const releaseForm = new FormData();
  releaseForm.set('types', 'Front');
  releaseForm.set('file', new Blob([new Uint8Array(images[0]!)], { type: 'image/jpeg' }), 'front.jpg');
  const releaseImage = await (await fetch(`${jacketUrl}/api/v1/releases/${RELEASE}/images`, { method: 'POST', headers: ADMIN, body: releaseForm })).json();
  // The 250 thumbnail: the archive size nearest in bytes to the M rendition the other hits send.
  const caaFilePath = `/download/mbid-${RELEASE}/mbid-${RELEASE}-${releaseImage.id}_thumb250.jpg`;
  for (const [warm, status] of [[keyedPath, 200], [caaFilePath, 200], [`/release/${RELEASE}/front-500`, 307]] as const) {
    const answer = await request(jacketUrl + warm, agent);
    if (answer.status !== status) throw new Error(`${warm} answered ${answer.status}`);
    log(`  ${warm.replace(/devkey\/[^/]+/, 'devkey/KEY')}: ${answer.status}, ${answer.body.length} bytes`);
  }

  // nginx on the same bytes, from disk.
  let nginxUrl: string | undefined;
  let nginxPid: number | undefined;
  if (HAVE_NGINX) {
    const nginxRoot = path.join(temp, 'nginx');
    await fs.mkdir(path.join(nginxRoot, 'www', 'b', 'id'), { recursive: true });
    await fs.writeFile(path.join(nginxRoot, 'www', hitPath), made.body);
    const nginxPort = await freePort();
    const conf = `daemon off;
user root;
worker_processes 1;
pid ${nginxRoot}/nginx.pid;
error_log ${nginxRoot}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${nginxRoot}/body;
  proxy_temp_path ${nginxRoot}/proxy;
  fastcgi_temp_path ${nginxRoot}/fastcgi;
  uwsgi_temp_path ${nginxRoot}/uwsgi;
  scgi_temp_path ${nginxRoot}/scgi;
  types { image/jpeg jpg; }
  server {
    listen 127.0.0.1:${nginxPort};
    root ${nginxRoot}/www;
    location / {
      add_header cache-control "public, max-age=31536000, immutable";
      add_header access-control-allow-origin "*";
    }
  }
}
`;
    await fs.writeFile(path.join(nginxRoot, 'nginx.conf'), conf);
    const nginxBin = have('nginx') ? 'nginx' : '/usr/sbin/nginx';
    const nginx = spawn(HAVE_TASKSET ? 'taskset' : nginxBin, [...(HAVE_TASKSET ? ['-c', '0', nginxBin] : []), '-p', nginxRoot, '-c', path.join(nginxRoot, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(nginx);
    nginxPid = nginx.pid;
    nginxUrl = `http://127.0.0.1:${nginxPort}`;
    await waitFor(nginxUrl + hitPath, nginx, 'nginx');
    const check = await request(nginxUrl + hitPath, agent);
    if (!check.body.equals(made.body)) throw new Error('nginx serves different bytes');
  }

  // (BENCH_ONLY=hits or =misses runs one part, for working on it.)
  hits: {
  // Node's own ceiling, for reference: a bare http server writing the same buffer.
  const bareNodePort = await freePort();
  const hitFile = path.join(temp, 'hit.jpg');
  await fs.writeFile(hitFile, made.body);
  const bareNode = spawn(NODE, [path.join(ROOT, 'bench/bare-node.ts'), String(bareNodePort), hitFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(bareNode);
  const bareNodeUrl = `http://127.0.0.1:${bareNodePort}`;
  await waitFor(bareNodeUrl + hitPath, bareNode, 'bare Node');

  if (ONLY === 'misses') break hits;
  // 1. Hits. Each round runs every server back to back, nginx both before and after Jacket: a round's baseline is
  // the mean of its two nginx runs, taken on either side of Jacket's, so the machine's drift (this VM's speed moves
  // by a third within seconds) cancels to first order. The verdict is the median of the per-round ratios, over many
  // short rounds. Alongside wall-clock rates, the CPU time each server process used gives requests per CPU-second.
  log(`\n1. hits: ${HIT_SECONDS}s × ${ROUNDS} rounds each, 32 connections, one hit URL`);
  const nginxPids = nginxPid ? [nginxPid, ...childPids(nginxPid)] : [];
  pin(jacket.pid!, '0');
  pin(bareNode.pid!, '0');
  await load(jacketUrl + hitPath, 2, 32);
  await load(jacketUrl + isbnPath, 1, 32);
  await load(bareNodeUrl + hitPath, 1, 32);
  if (nginxUrl) await load(nginxUrl + hitPath, 2, 32);
  const servers = [
    ['nginx', nginxUrl ? nginxUrl + hitPath : undefined, nginxPids],
    ['Jacket id', jacketUrl + hitPath, [jacket.pid!]],
    ['Jacket ISBN', jacketUrl + isbnPath, [jacket.pid!]],
    ['nginx', nginxUrl ? nginxUrl + hitPath : undefined, nginxPids],
    ['bare Node', bareNodeUrl + hitPath, [bareNode.pid!]],
    ['Jacket keyed', jacketUrl + keyedPath, [jacket.pid!]],
    ['Jacket CAA file', jacketUrl + caaFilePath, [jacket.pid!]],
    ['Jacket CAA 307', `${jacketUrl}/release/${RELEASE}/front-500`, [jacket.pid!]],
    // A Range header keeps a request off the hot table (ranges are the routes' to answer; this route has none, so the
    // answer is the whole 200): the same hit through Fastify's routing, hooks and logger.
    ['via Fastify', jacketUrl + hitPath, [jacket.pid!]],
  ] as const;
  const rates: Record<string, number[]> = {};
  const perCpuSecond: Record<string, number[]> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    const line: string[] = [];
    const nginxRuns: Array<{ rate: number; perCpu: number }> = [];
    for (const [name, url, pids] of servers) {
      if (!url) continue;
      const cpuBefore = await cpuSeconds(pids);
      const result = await load(url, HIT_SECONDS, 32, name === 'via Fastify' ? { range: 'bytes=0-' } : {});
      const cpu = (await cpuSeconds(pids)) - cpuBefore;
      // (wrk counts statuses from 400 up as errors: a 307 is an answer like a 200.)
      if (result.non2xx || result.errors) throw new Error(`${name} hits: ${result.non2xx} non-2xx, ${result.errors} socket errors`);
      line.push(`${name} ${fmt(result.rate)}/s (${fmt(result.requests / cpu)}/CPU-s)`);
      if (name === 'nginx') {
        nginxRuns.push({ rate: result.rate, perCpu: result.requests / cpu });
        if (nginxRuns.length < 2) continue;
        (rates.nginx ??= []).push((nginxRuns[0]!.rate + nginxRuns[1]!.rate) / 2);
        (perCpuSecond.nginx ??= []).push((nginxRuns[0]!.perCpu + nginxRuns[1]!.perCpu) / 2);
        continue;
      }
      (rates[name] ??= []).push(result.rate);
      (perCpuSecond[name] ??= []).push(result.requests / cpu);
    }
    log(`  round ${round}: ${line.join(', ')}`);
  }
  pin(jacket.pid!, '0-' + (os.availableParallelism() - 1));
  bareNode.kill('SIGTERM');
  for (const name of new Set(servers.map(([name]) => name))) {
    if (rates[name]) log(`  ${name.padEnd(12)} median ${fmt(median(rates[name]))}/s wall clock, ${fmt(median(perCpuSecond[name]!))} requests per CPU-second`);
  }
  if (nginxUrl) {
    const pairedRatio = (name: string, table: Record<string, number[]>) => median(table[name]!.map((rate, i) => rate / table.nginx![i]!));
    const idRatio = pairedRatio('Jacket id', rates);
    const isbnRatio = pairedRatio('Jacket ISBN', rates);
    log(`  ratios to nginx (median of per-round ratios): bare Node ${pairedRatio('bare Node', rates).toFixed(2)}×, Jacket id ${idRatio.toFixed(2)}×, Jacket ISBN ${isbnRatio.toFixed(2)}×`);
    log(`  per CPU-second ratios to nginx: bare Node ${pairedRatio('bare Node', perCpuSecond).toFixed(2)}×, Jacket id ${pairedRatio('Jacket id', perCpuSecond).toFixed(2)}×, Jacket ISBN ${pairedRatio('Jacket ISBN', perCpuSecond).toFixed(2)}×`);
    verdict('hits by id ≥ 1.0× nginx', `${idRatio.toFixed(2)}× (per CPU-second ${pairedRatio('Jacket id', perCpuSecond).toFixed(2)}×)`, idRatio >= 1.0);
    verdict('hits by ISBN ≥ 0.60× nginx', `${isbnRatio.toFixed(2)}× (per CPU-second ${pairedRatio('Jacket ISBN', perCpuSecond).toFixed(2)}×)`, isbnRatio >= 0.6);
  } else {
    verdict('hits vs nginx', 'nginx not installed: no baseline', false);
  }
  // Every dialect's hit against the hit by id, round by round, with the lookup limit on.
  const toId = (name: string) => median(rates[name]!.map((rate, i) => rate / rates['Jacket id']![i]!));
  for (const [name, what] of [['Jacket ISBN', 'hits by ISBN'], ['Jacket keyed', 'keyed URL hits'], ['Jacket CAA file', 'CAA thumbnail file hits'], ['Jacket CAA 307', 'CAA redirects']] as const) {
    verdict(`${what} ≥ 0.9× hits by id (limit on)`, `${toId(name).toFixed(2)}×`, toId(name) >= 0.9);
  }

  // Refusals: a second Jacket on the same data (the first one idle meanwhile) whose lookup limit refuses every
  // lookup after the first (1/1d): its 403s against its own hits by id, round by round.
  log(`\n1b. refusals: ${HIT_SECONDS}s × ${ROUNDS} rounds, 32 connections, a second Jacket with JACKET_OL_RATE_LIMIT=1/1d`);
  const strictPort = await freePort();
  const strict = spawn(NODE, [...JACKET_FLAGS, path.join(ROOT, 'bin/jacket.js'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(strictPort), HOST: '127.0.0.1', JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: 'bench-admin-token', LOG_LEVEL, JACKET_OL_RATE_LIMIT: '1/1d' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(strict);
  const strictUrl = `http://127.0.0.1:${strictPort}`;
  await waitFor(strictUrl + '/', strict, 'Jacket (strict limit)');
  pin(strict.pid!, '0');
  await request(strictUrl + hitPath, agent);
  const first = await request(strictUrl + isbnPath, agent);
  if (first.status !== 200) throw new Error(`the first lookup answered ${first.status}`);
  if ((await request(strictUrl + isbnPath, agent)).status !== 403) throw new Error('the second lookup was not refused');
  await load(strictUrl + isbnPath, 1, 32);
  const refusalRatios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const hit = await load(strictUrl + hitPath, HIT_SECONDS, 32);
    const refused = await load(strictUrl + isbnPath, HIT_SECONDS, 32);
    if (refused.non2xx < refused.requests * 0.99) throw new Error(`refusal rounds: only ${refused.non2xx} of ${refused.requests} refused`);
    refusalRatios.push(refused.rate / hit.rate);
    log(`  round ${round}: hits by id ${fmt(hit.rate)}/s, refusals ${fmt(refused.rate)}/s`);
  }
  strict.kill('SIGTERM');
  verdict('a refusal ≥ 0.9× a hit', `${median(refusalRatios).toFixed(2)}×`, median(refusalRatios) >= 0.9);

  } // hits
  if (ONLY === 'hits') throw new Stop();

  // 2. Misses.
  const target = openLibrarySize(1200, 1800, 'L');
  log(`\n2. misses: ${MISSES_PER_ROUND} fresh originals per round, L = ${target.width}×${target.height}, two at a time`);
  const bare: number[] = [];
  const served: number[] = [];
  // CPU milliseconds per rendition: bare sharp's whole process; Jacket's process; the bench's own HTTP client.
  const bareCpu: number[] = [];
  const jacketCpu: number[] = [];
  const clientCpu: number[] = [];
  // The whole machine's busy CPU per rendition (kernel workers such as the journal's included) and time stolen by the host.
  const bareMachine: number[] = [];
  const jacketMachine: number[] = [];
  const steal: number[] = [];
  // Jacket's CPU per rendition by thread kind, user+system milliseconds.
  const jacketThreads: string[] = [];
  const jacketPids = [jacket.pid!];
  // The diagnostic third party: a bare node:http server doing only bare sharp's resize (bench/bare-http.ts).
  const plainHttp = spawn(NODE, [path.join(ROOT, 'bench/bare-http.ts'), String(target.width), String(target.height)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(plainHttp);
  const plainPort = await new Promise<number>((resolve, reject) => {
    plainHttp.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port));
    plainHttp.once('exit', (code) => reject(new Error(`bench/bare-http.ts exited with code ${code}`)));
  });
  const plainClients = [await LeanClient.open(`http://127.0.0.1:${plainPort}`), await LeanClient.open(`http://127.0.0.1:${plainPort}`)];
  const plain: number[] = [];
  const plainCpu: number[] = [];
  const missClients = [await LeanClient.open(jacketUrl), await LeanClient.open(jacketUrl)];
  /** Ask for every cover of `covers` through `clients`, one request at a time per client; the rate per second. */
  const drive = async (clients: LeanClient[], covers: typeof missCovers, pathOf: (cover: (typeof missCovers)[number]) => string): Promise<number> => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        while (next < covers.length) {
          const response = await client.get(pathOf(covers[next++]!));
          if (response.status !== 200 || response.contentType !== 'image/jpeg' || response.length < 200) {
            throw new Error(`miss answered ${response.status} ${response.contentType} (${response.length} bytes)`);
          }
        }
      }),
    );
    return covers.length / ((performance.now() - started) / 1000);
  };
  const jacketPath = (cover: { id: number }) => `/b/id/${cover.id}-L.jpg`;
  const plainPath = (cover: { file: string }) => `/${encodeURIComponent(cover.file)}`;
  // Warm-up, not measured: the miss path's code compiled, the store's folders made, as on a server that has been
  // running (bare sharp likewise makes one rendition before its clock starts).
  for (const size of ['S', 'M', 'L']) await drive(missClients, warmCovers, (cover) => `/b/id/${cover.id}-${size}.jpg`);
  await drive(plainClients, warmCovers, plainPath);
  for (let round = 0; round < MISS_ROUNDS; round++) {
    const set = missCovers.slice(round * MISSES_PER_ROUND, (round + 1) * MISSES_PER_ROUND);
    const runBare = async (): Promise<{ rate: number; cpu: number; machine: number }> => {
      const machineBefore = await machineCpu();
      const child = spawnSync(NODE, [path.join(ROOT, 'bench/bare-sharp.ts'), '2', String(target.width), String(target.height), ...set.map((c) => c.file)], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      if (child.status !== 0) throw new Error(`bare sharp failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout);
      const machine = await machineCpu();
      steal.push(machine.steal - machineBefore.steal);
      return { rate: result.rate, cpu: result.cpuMs / result.count, machine: ((machine.busy - machineBefore.busy) * 1000) / result.count };
    };
    const runJacket = async () => {
      const machineBefore = await machineCpu();
      const jacketCpuBefore = await cpuSeconds(jacketPids);
      const threadsBefore = await threadCpu(jacket.pid!);
      const clientCpuBefore = process.cpuUsage();
      served.push(await drive(missClients, set, jacketPath));
      const client = process.cpuUsage(clientCpuBefore);
      jacketCpu.push(((await cpuSeconds(jacketPids)) - jacketCpuBefore) * 1000 / set.length);
      jacketThreads.push(threadCpuPer(threadsBefore, await threadCpu(jacket.pid!), set.length));
      clientCpu.push((client.user + client.system) / 1000 / set.length);
      const machine = await machineCpu();
      jacketMachine.push(((machine.busy - machineBefore.busy) * 1000) / set.length);
      steal.push(machine.steal - machineBefore.steal);
    };
    const runPlain = async () => {
      const cpuBefore = await cpuSeconds([plainHttp.pid!]);
      plain.push(await drive(plainClients, set, plainPath));
      plainCpu.push(((await cpuSeconds([plainHttp.pid!])) - cpuBefore) * 1000 / set.length);
    };
    // Bare sharp runs just before and just after Jacket, and the round's baseline is the mean of the two: the
    // machine's drift during the round cancels to first order (this VM's speed moves by a third within seconds).
    // The diagnostic runs last.
    const before = await runBare();
    await runJacket();
    const after = await runBare();
    bare.push((before.rate + after.rate) / 2);
    bareCpu.push((before.cpu + after.cpu) / 2);
    bareMachine.push((before.machine + after.machine) / 2);
    await runPlain();
    log(
      `  round ${round + 1}: bare sharp ${fmt(bare.at(-1)!)}/s (${bareCpu.at(-1)!.toFixed(1)} ms CPU each), ` +
        `Jacket ${fmt(served.at(-1)!)}/s (${jacketCpu.at(-1)!.toFixed(1)} ms CPU each, client ${clientCpu.at(-1)!.toFixed(2)} ms); ` +
        `machine busy per rendition: bare sharp ${bareMachine.at(-1)!.toFixed(1)} ms, Jacket ${jacketMachine.at(-1)!.toFixed(1)} ms; stolen ${(steal.at(-1)! + steal.at(-2)! + steal.at(-3)!).toFixed(2)} s\n` +
        `    Jacket's threads, user+system ms per rendition: ${jacketThreads.at(-1)}\n` +
        `    diagnostic: bare node:http + sharp ${fmt(plain.at(-1)!)}/s (${plainCpu.at(-1)!.toFixed(1)} ms CPU each)`,
    );
  }
  for (const client of [...missClients, ...plainClients]) client.close();
  plainHttp.kill('SIGTERM');
  // As for hits: the verdict is the median of the per-round ratios (each round runs Jacket between two bare runs).
  const missRatio = median(served.map((rate, i) => rate / bare[i]!));
  const ratioOfMedians = median(served) / median(bare);
  log(`  medians: bare sharp ${fmt(median(bare))}/s, Jacket ${fmt(median(served))}/s (ratio of medians ${ratioOfMedians.toFixed(2)}×)`);
  log(`  per-round ratios: ${served.map((rate, i) => (rate / bare[i]!).toFixed(2)).join(', ')}; CPU ms per rendition, medians: bare sharp ${median(bareCpu).toFixed(1)}, Jacket ${median(jacketCpu).toFixed(1)}, client ${median(clientCpu).toFixed(2)}`);
  const plainRatio = median(plain.map((rate, i) => rate / bare[i]!));
  log(
    `  diagnostic (no target): a bare node:http server doing only the resize reaches ${plainRatio.toFixed(2)}× bare sharp (median of per-round ratios; ` +
      `${median(plainCpu).toFixed(1)} ms CPU per rendition): the share of the budget HTTP alone takes; Jacket reaches ${median(served.map((rate, i) => rate / plain[i]!)).toFixed(2)}× of it`,
  );
  verdict('misses ≥ 0.95× bare sharp', `${missRatio.toFixed(2)}× (median of per-round ratios)`, missRatio >= 0.95);
  if (ONLY === 'misses') throw new Stop();

  // 3. Bursts: 400 renditions nobody asked for yet (M and S of the miss corpus), all at once, while hits go on.
  log(`\n3. burst: ${BURST} concurrent requests for renditions not made yet, hits measured meanwhile`);
  const burstPaths = missCovers.flatMap((cover) => [`/b/id/${cover.id}-M.jpg`, `/b/id/${cover.id}-S.jpg`, `/b/id/${cover.id}-M.webp`]).slice(0, BURST);
  const hitsDuring = load(jacketUrl + hitPath, 8, 8);
  await sleep(500);
  let peakSampled = 0;
  const sampler = setInterval(() => {
    void procStatus(jacket.pid!, 'VmRSS').then((rss) => (peakSampled = Math.max(peakSampled, rss)), () => {});
  }, 50);
  const burstAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const outcomes = await Promise.all(
    burstPaths.map((p) =>
      request(jacketUrl + p, burstAgent).then(
        (r) => ({ status: r.status, retryAfter: r.headers['retry-after'], error: undefined as string | undefined }),
        (e: Error) => ({ status: 0, retryAfter: undefined, error: e.message }),
      ),
    ),
  );
  const hits = await hitsDuring;
  clearInterval(sampler);
  const peak = await procStatus(jacket.pid!, 'VmHWM');
  const ok = outcomes.filter((o) => o.status === 200).length;
  const busy = outcomes.filter((o) => o.status === 503 && o.retryAfter).length;
  const other = outcomes.length - ok - busy;
  log(`  ${ok} × 200, ${busy} × 503 with Retry-After, ${other} other (${[...new Set(outcomes.filter((o) => o.status !== 200 && !(o.status === 503 && o.retryAfter)).map((o) => o.error ?? o.status))].join(', ') || 'none'})`);
  log(`  peak RSS of Jacket: ${(peak / 2 ** 20).toFixed(0)} MiB over the whole run (sampled during the burst: ${(peakSampled / 2 ** 20).toFixed(0)} MiB)`);
  log(`  hits during the burst: ${fmt(hits.rate)}/s, ${hits.requests} requests, ${hits.non2xx} non-2xx, ${hits.errors} socket errors, p99 ${hits.p99}, max ${hits.max}`);
  verdict('burst: only 200 or 503 + Retry-After', `${other} other answers`, other === 0);
  verdict('burst: peak RSS ≤ 512 MB', `${(peak / 1e6).toFixed(0)} MB`, peak <= 512e6);
  verdict('burst: hits keep being served', `${hits.requests} hits, ${hits.non2xx + hits.errors} failures`, hits.requests > 0 && hits.non2xx + hits.errors === 0);

  // 4. Revalidation.
  log('\n4. revalidation: If-None-Match on the hit');
  const etag = String(made.headers.etag);
  const conditional = await request(jacketUrl + hitPath, agent, { 'if-none-match': etag });
  const conditionalIsbn = await request(jacketUrl + isbnPath, agent, { 'if-none-match': etag });
  pin(jacket.pid!, '0');
  const revalidations = await load(jacketUrl + hitPath, HIT_SECONDS, 32, { 'If-None-Match': etag });
  pin(jacket.pid!, '0-' + (os.availableParallelism() - 1));
  log(`  304 rate: ${fmt(revalidations.rate)}/s (wrk counts 304 as non-2xx: ${revalidations.non2xx}); no image work and no blob read is asserted in test/revalidation.test.ts`);
  verdict('revalidation answers 304 without a body', `by id ${conditional.status}, by ISBN ${conditionalIsbn.status}`, conditional.status === 304 && conditionalIsbn.status === 304 && conditional.body.length === 0);

  log('\nsummary');
  for (const v of verdicts) log(`  ${v.pass ? 'PASS' : 'FAIL'}  ${v.target}: ${v.measured}`);
  process.exitCode = verdicts.every((v) => v.pass) ? 0 : 1;
} catch (error) {
  if (!(error instanceof Stop)) throw error;
} finally {
  await cleanup();
}
