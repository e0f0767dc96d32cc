/**
 * How Jacket's figures hold as the catalogue grows. For each catalogue size (default 10,000 and 300,000 covers; give
 * sizes as arguments, e.g. `10000 300000 2000000`) and each database (SQLite, and PostgreSQL when a server URL is
 * given), it builds a catalogue through the bulk paths — tiny distinct JPEG covers in Open Library archives, an id
 * mapping with three identifiers per cover — then starts a fresh `jacket serve` on it (cold caches, default
 * settings) and measures the request paths; fsck (no repair) and the exports (archives of originals, id mapping)
 * are timed on the catalogue after its imports. Every figure is also printed as a ratio to the smallest catalogue of the
 * same run, as "speed relative to 10k" (a rate divided by 10k's rate, or 10k's time divided by this time): 1× is
 * flat, 0.5× is half as fast.
 *
 *   node_modules/.bin/node bench/scale.ts [SIZES…] [--pg postgres://user@host:port/db] [--no-sqlite]
 *                                         [--requests N] [--concurrency C]
 *
 * `--pg` names a server where the script may create (and afterwards drops) one database per round.
 * Not part of `npm test`: a 300,000-cover round takes minutes.
 */
// As `jacket import`/`export` do (bin/jacket.js): a larger libuv pool, set before any module can start it.
process.env.UV_THREADPOOL_SIZE ??= '16';
const fs = (await import('node:fs/promises')).default;
const os = (await import('node:os')).default;
const path = (await import('node:path')).default;
const { execFile, spawn } = await import('node:child_process');
const execFileAsync = (await import('node:util')).promisify(execFile);
const net = (await import('node:net')).default;
type AddressInfo = import('node:net').AddressInfo;
const sharp = (await import('sharp')).default;
const pg = (await import('pg')).default;
const { createServices } = await import('../src/services.ts');
const { archivePath, batchOf, entryName } = await import('../src/bulk/layout.ts');
const { exportOpenLibrary, importOpenLibrary } = await import('../src/bulk/openlibrary.ts');
const { exportIdMap, importIdMap } = await import('../src/bulk/identifier-dumps.ts');
const { fsck } = await import('../src/fsck.ts');
const { CATALOGUE_FILE } = await import('../src/catalogue/db.ts');
const { TarWriter } = await import('../src/bulk/tar.ts');
const { distinctJpeg } = await import('./distinct-jpeg.ts');
const { loadConfig } = await import('../src/config.ts');
const { isbn10To13 } = await import('../src/identifiers/index.ts');

const args = process.argv.slice(2);
function option(name: string): string | undefined {
  const index = args.indexOf(name);
  if (index < 0) return undefined;
  const value = args[index + 1];
  args.splice(index, 2);
  return value;
}
const pgServer = option('--pg');
const requests = Number(option('--requests') ?? 3000);
const concurrency = Number(option('--concurrency') ?? 8);
const noSqlite = args.includes('--no-sqlite');
const sizes = args.filter((arg) => /^\d+$/.test(arg)).map(Number);
if (sizes.length === 0) sizes.push(10_000, 300_000);
sizes.sort((a, b) => a - b);

const REPO = path.resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'jacket-bench-scale-'));
const ADMIN = 'bench-admin';
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
/**
 * Remove a folder with `rm -rf`: Node's recursive `fs.rm` ran out of its 4 GB heap on a 10M-cover store (ten million
 * files), after every figure of the round had been measured.
 */
const removeTree = (dir: string) => execFileAsync('rm', ['-rf', dir]);
const format = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1));

// One tiny cover (8×12, a few hundred bytes), made distinct per id (distinctJpeg).
const base = await sharp({ create: { width: 8, height: 12, channels: 3, background: '#3a6ea5' } }).jpeg({ quality: 80 }).toBuffer();
const coverBytes = (id: number): Buffer => distinctJpeg(base, `jacket scale cover ${id}`);

/** The ISBN-13 of cover `id` (978 + the id as nine digits, valid check digits). */
function isbnOf(id: number): string {
  const isbn10 = String(id).padStart(9, '0');
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (10 - i) * Number(isbn10[i]);
  const check = (11 - (sum % 11)) % 11;
  return isbn10To13(isbn10 + (check === 10 ? 'X' : String(check)))!;
}

/** Archives and id mapping of `count` covers, made once per size and shared by the databases. */
async function sourceOf(count: number): Promise<{ archives: string; idmap: string }> {
  const dir = path.join(root, `source-${count}`);
  const archives = path.join(dir, 'archives');
  const idmap = path.join(dir, 'idmap.tsv');
  const started = performance.now();
  let writer: Awaited<ReturnType<typeof TarWriter.create>> | undefined;
  let batch = -1;
  for (let id = 1; id <= count; id++) {
    if (batchOf(id) !== batch) {
      await writer?.finish();
      batch = batchOf(id);
      writer = await TarWriter.create(path.join(archives, archivePath(id, '')));
    }
    await writer!.add(entryName(id, ''), coverBytes(id), 1_700_000_000);
  }
  await writer?.finish();
  const handle = await fs.open(idmap, 'w');
  let chunk = 'ID-Name\tID-Value\tOL-KEY\tCover-ID\n';
  for (let id = 1; id <= count; id++) {
    const key = `/books/OL${id}M`;
    chunk += `isbn_13\t${isbnOf(id)}\t${key}\t${id}\noclc\t${100_000 + id}\t${key}\t${id}\ngoodreads\t${id}\t${key}\t${id}\n`;
    if (chunk.length > 1 << 20) {
      await handle.write(chunk);
      chunk = '';
    }
  }
  await handle.write(chunk);
  await handle.close();
  log(`generated ${count} covers and ${count * 3} id-mapping rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { archives, idmap };
}

interface Backend {
  name: string;
  /** A fresh, empty database for a round (undefined: SQLite in the data folder). */
  create(label: string): Promise<{ url: string | undefined; drop(): Promise<void> }>;
}

const backends: Backend[] = [];
if (!noSqlite) backends.push({ name: 'SQLite', create: async () => ({ url: undefined, drop: async () => {} }) });
if (pgServer) {
  backends.push({
    name: 'PostgreSQL',
    async create(label) {
      const name = `jacket_scale_${label}_${process.pid}`;
      const admin = new pg.Client({ connectionString: pgServer });
      await admin.connect();
      await admin.query(`drop database if exists ${name}`);
      await admin.query(`create database ${name}`);
      await admin.end();
      const url = new URL(pgServer);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        async drop() {
          const client = new pg.Client({ connectionString: pgServer });
          await client.connect();
          await client.query(`drop database if exists ${name} with (force)`);
          await client.end();
        },
      };
    },
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The catalogue's size on disk: the SQLite file and its journal, or the PostgreSQL database. Blobs not counted. */
async function catalogueBytes(dataDir: string, databaseUrl: string | undefined): Promise<number> {
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const { rows } = await client.query('select pg_database_size(current_database()) as bytes');
    await client.end();
    return Number(rows[0].bytes);
  }
  let bytes = 0;
  for (const name of await fs.readdir(dataDir)) if (name.startsWith(CATALOGUE_FILE)) bytes += (await fs.stat(path.join(dataDir, name))).size;
  return bytes;
}

/** `jacket serve` on the catalogue, default settings (only where it is: port, data folder, database, admin token). */
async function serve(dataDir: string, databaseUrl: string | undefined) {
  const port = await freePort();
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const child = spawn(NODE, [path.join(REPO, 'bin/jacket.js'), 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jacket serve exited (${child.exitCode})`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('jacket serve did not start within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    /** Resident memory now and at its peak, in MiB (from /proc). */
    async memory(): Promise<{ rss: number; peak: number }> {
      const status = await fs.readFile(`/proc/${child.pid}/status`, 'utf8');
      const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `total` requests, `concurrency` at a time, each a distinct URL; rate and median latency. Non-200s fail the bench. */
async function load(urls: () => string, total: number, parallel: number, headers: Record<string, string> = {}): Promise<{ rate: number; p50: number }> {
  const latencies: number[] = [];
  let sent = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (sent < total) {
        sent++;
        const url = urls();
        const t = performance.now();
        const response = await fetch(url, { headers });
        await response.arrayBuffer();
        latencies.push(performance.now() - t);
        if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / seconds, p50: latencies[Math.floor(latencies.length / 2)]! };
}

/** Median time of `times` sequential requests (after one to warm the route, not the data). */
async function median(url: () => string, times: number, headers: Record<string, string> = {}): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i <= times; i++) {
    const t = performance.now();
    const response = await fetch(url(), { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url()}: ${response.status}`);
    if (i > 0) samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** A figure: its value, unit, and whether more is better (rates) or less (times). */
type Figure = { value: number; unit: string; higherIsBetter: boolean };
const results = new Map<string, Map<number, Map<string, Figure>>>();

function shuffled(count: number, take: number): number[] {
  // A fixed pseudo-random walk over 1..count: distinct ids, the same in every round of this size.
  const out: number[] = [];
  const step = 7_919;
  for (let i = 0; out.length < Math.min(take, count); i++) out.push(((i * step) % count) + 1);
  return out;
}

for (const count of sizes) {
  const source = await sourceOf(count);
  for (const backend of backends) {
    const figures = new Map<string, Figure>();
    // Each figure is also logged as it is measured, so a long round that dies later still leaves what it measured.
    const put = (name: string, value: number, unit: string, higherIsBetter: boolean) => {
      figures.set(name, { value, unit, higherIsBetter });
      log(`${backend.name} ${count}: ${name} = ${format(value)}`);
    };
    const dataDir = path.join(root, `data-${backend.name}-${count}`);
    const database = await backend.create(String(count));
    const mappingOnly = await backend.create(`${count}_idmap`);
    try {
      const config = loadConfig({ JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'silent', ...(database.url ? { DATABASE_URL: database.url } : {}) });
      const services = await createServices(config);
      let started = performance.now();
      const first = await importOpenLibrary(services, source.archives);
      if (first.imported !== count || first.problems.total !== 0) throw new Error(`import went wrong: ${JSON.stringify(first)}`);
      put('import archive, empty store (covers/s)', count / ((performance.now() - started) / 1000), 'covers/s', true);
      started = performance.now();
      const mapped = await importIdMap(services, source.idmap);
      if (mapped.problems.total !== 0) throw new Error(`idmap import went wrong: ${JSON.stringify(mapped.problems)}`);
      put('import idmap, store holding the covers (rows/s)', mapped.lines / ((performance.now() - started) / 1000), 'rows/s', true);
      started = performance.now();
      const again = await importOpenLibrary(services, source.archives);
      if (again.unchanged !== count) throw new Error(`re-import went wrong: ${JSON.stringify(again)}`);
      put('import archive again, store holding them (covers/s)', count / ((performance.now() - started) / 1000), 'covers/s', true);
      // The last round to read the archives frees their disk before the export writes as much again (11 GB at 10M).
      if (backend === backends.at(-1)) await fs.rm(source.archives, { recursive: true, force: true });
      started = performance.now();
      const checked = await fsck(services.db, services.blobs);
      if (checked.missing.length + checked.corrupt.length !== 0) throw new Error(`fsck found problems: ${JSON.stringify([...checked.missing, ...checked.corrupt].slice(0, 3))}`);
      put('fsck, no repair (covers/s)', count / ((performance.now() - started) / 1000), 'covers/s', true);
      // Originals only: renditions for every cover would measure the image workers, not the catalogue.
      started = performance.now();
      const exported = await exportOpenLibrary(services, path.join(root, `export-${backend.name}-${count}`), { sizes: [] });
      if (exported.covers !== count) throw new Error(`export went wrong: ${JSON.stringify(exported)}`);
      put('export archives, originals (covers/s)', count / ((performance.now() - started) / 1000), 'covers/s', true);
      await fs.rm(path.join(root, `export-${backend.name}-${count}`), { recursive: true, force: true });
      started = performance.now();
      const dumped = await exportIdMap(services, path.join(root, `idmap-out-${count}.tsv`));
      put('export idmap (rows/s)', dumped.rows / ((performance.now() - started) / 1000), 'rows/s', true);
      await fs.rm(path.join(root, `idmap-out-${count}.tsv`), { force: true });
      await services.close();
      // The mapping into an empty store (links remembered for covers to come), its own database and folder.
      const emptyConfig = loadConfig({ JACKET_DATA_DIR: `${dataDir}-idmap`, JACKET_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'silent', ...(mappingOnly.url ? { DATABASE_URL: mappingOnly.url } : {}) });
      const empty = await createServices(emptyConfig);
      started = performance.now();
      const remembered = await importIdMap(empty, source.idmap);
      put('import idmap, empty store (rows/s)', remembered.lines / ((performance.now() - started) / 1000), 'rows/s', true);
      await empty.close();
      await fs.rm(`${dataDir}-idmap`, { recursive: true, force: true });
      log(`${backend.name} ${count}: imported`);
      put('catalogue on disk per cover (bytes, three identifiers each)', (await catalogueBytes(dataDir, database.url)) / count, 'bytes', false);

      const server = await serve(dataDir, database.url);
      try {
        put('RSS after start (MiB)', (await server.memory()).rss, 'MiB', false);
        const created = await fetch(`${server.url}/api/v1/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'bench', dailyLimit: 100_000_000, rateLimit: 'off' }),
        });
        if (created.status !== 201) throw new Error(`key: ${created.status} ${await created.text()}`);
        const { key } = (await created.json()) as { key: string };
        // Lookups with a developer key, as a library system sends them: the key lifts the per-address limit.
        const isbnIds = shuffled(count, requests);
        let next = 0;
        const isbnLookups = await load(() => `${server.url}/b/isbn/${isbnOf(isbnIds[next++ % isbnIds.length]!)}.json?key=${key}`, requests, concurrency);
        put('distinct ISBN lookups (/b/isbn/….json, req/s)', isbnLookups.rate, 'req/s', true);
        put('distinct ISBN lookups, median (ms)', isbnLookups.p50, 'ms', false);
        const keyedIds = shuffled(count, requests * 2).slice(requests);
        next = 0;
        const keyed = await load(() => `${server.url}/devkey/${key}/small/isbn/${isbnOf(keyedIds[next++ % keyedIds.length]!)}`, Math.min(requests, keyedIds.length), concurrency);
        put('distinct keyed URLs (/devkey/…/small/isbn/…, req/s)', keyed.rate, 'req/s', true);
        put('distinct keyed URLs, median (ms)', keyed.p50, 'ms', false);
        put('recent covers (/b/query?details=true&limit=24, ms)', await median(() => `${server.url}/b/query?details=true&limit=24`, 50), 'ms', false);
        const admin = { authorization: `Bearer ${ADMIN}` };
        put('moderation listing (/api/v1/moderation, ms)', await median(() => `${server.url}/api/v1/moderation?limit=20`, 50, admin), 'ms', false);
        put('collection listing (/api/v1/covers, ms)', await median(() => `${server.url}/api/v1/covers?limit=50`, 50, admin), 'ms', false);
        let round = 0;
        put(
          '/b/query with 100 distinct OLIDs (ms)',
          await median(() => {
            round++;
            return `${server.url}/b/query?olid=${shuffled(count, 100 * 31).slice((round % 31) * 100, (round % 31) * 100 + 100).map((id) => `OL${id}M`).join(',')}&limit=100`;
          }, 50),
          'ms',
          false,
        );
        const memory = await server.memory();
        put('RSS after the lookups (MiB)', memory.rss, 'MiB', false);
        put('peak RSS (MiB)', memory.peak, 'MiB', false);
      } finally {
        await server.stop();
      }
      log(`${backend.name} ${count}: measured`);
    } finally {
      await database.drop();
      await mappingOnly.drop();
      await removeTree(dataDir);
    }
    if (!results.has(backend.name)) results.set(backend.name, new Map());
    results.get(backend.name)!.set(count, figures);
  }
  await fs.rm(path.join(root, `source-${count}`), { recursive: true, force: true });
}

const label = (count: number) => (count >= 1_000_000 ? `${count / 1_000_000}M` : `${Math.round(count / 1000)}k`);
console.log(`\nsettings: defaults of jacket serve; ${requests} distinct lookups per figure, ${concurrency} at a time; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE} for the imports`);
for (const [backend, bySize] of results) {
  const smallest = sizes[0]!;
  const baseline = bySize.get(smallest)!;
  console.log(`\n### ${backend}\n`);
  console.log(`| figure | ${sizes.map(label).join(' | ')} | ${sizes.slice(1).map((size) => `${label(size)} vs ${label(smallest)}`).join(' | ')} |`);
  console.log(`|---|${sizes.map(() => '---:').join('|')}|${sizes.slice(1).map(() => '---:').join('|')}|`);
  for (const [name, first] of baseline) {
    const values = sizes.map((size) => bySize.get(size)?.get(name)?.value);
    const ratios = values.slice(1).map((value) => (value === undefined ? '—' : `${(first.higherIsBetter ? value / first.value : first.value / value).toFixed(2)}×`));
    console.log(`| ${name} | ${values.map((value) => (value === undefined ? '—' : format(value))).join(' | ')} | ${ratios.join(' | ')} |`);
  }
}
if (results.has('SQLite') && results.has('PostgreSQL')) {
  console.log('\nPostgreSQL against SQLite, same run (rates: PostgreSQL ÷ SQLite):');
  for (const size of sizes) {
    const ratio = (name: string) => {
      const lite = results.get('SQLite')!.get(size)?.get(name)?.value;
      const post = results.get('PostgreSQL')!.get(size)?.get(name)?.value;
      return lite && post ? `${(post / lite).toFixed(2)}×` : '—';
    };
    console.log(`- ${label(size)}: ISBN lookups ${ratio('distinct ISBN lookups (/b/isbn/….json, req/s)')}, keyed URLs ${ratio('distinct keyed URLs (/devkey/…/small/isbn/…, req/s)')}`);
  }
}
await removeTree(root);
