/**
 * Bulk import/export throughput. Generates N small distinct JPEG covers as Open Library archives (pre-sized
 * originals), imports them into an empty data folder, re-imports them (idempotent pass), exports the originals and
 * then the originals with the S/M/L series, and prints covers/s for each step.
 *
 *   node_modules/.bin/node bench/bulk.ts [N]        (default 20000; BENCH_KEEP=1 keeps the generated archives)
 */
// As `jacket import`/`export` do (bin/jacket.js): a larger libuv pool, set before any module can start it.
process.env.UV_THREADPOOL_SIZE ??= '16';
const fs = (await import('node:fs/promises')).default;
const os = (await import('node:os')).default;
const path = (await import('node:path')).default;
const sharp = (await import('sharp')).default;
const { createServices } = await import('../src/services.ts');
const { archivePath, batchOf, entryName } = await import('../src/bulk/layout.ts');
const { exportOpenLibrary, importOpenLibrary } = await import('../src/bulk/openlibrary.ts');
const { TarWriter } = await import('../src/bulk/tar.ts');
const { distinctJpeg } = await import('./distinct-jpeg.ts');
const { loadConfig } = await import('../src/config.ts');

const count = Number(process.argv[2] ?? 20000);
const root = await fs.mkdtemp(path.join(os.tmpdir(), 'jacket-bench-bulk-'));
const source = path.join(root, 'source');

// One small cover (180×270 of noise, JPEG quality 80: about 20 KiB, the size of a typical Open Library -M cover),
// made distinct per id (distinctJpeg).
const noise = Buffer.alloc(180 * 270 * 3);
for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + ((i * i) % 251)) % 256;
const base = await sharp(noise, { raw: { width: 180, height: 270, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
const coverBytes = (id: number): Buffer => distinctJpeg(base, `jacket bench cover ${id}`);

let started = performance.now();
let writer: Awaited<ReturnType<typeof TarWriter.create>> | undefined;
let batch = -1;
let sourceBytes = 0;
for (let id = 1; id <= count; id++) {
  if (batchOf(id) !== batch) {
    await writer?.finish();
    batch = batchOf(id);
    writer = await TarWriter.create(path.join(source, archivePath(id, '')));
  }
  const bytes = coverBytes(id);
  sourceBytes += bytes.length;
  await writer!.add(entryName(id, ''), bytes, Date.now() / 1000);
}
await writer?.finish();
console.log(`generated ${count} covers (${(sourceBytes / count / 1024).toFixed(1)} KiB each) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const config = loadConfig({ ...process.env, JACKET_DATA_DIR: path.join(root, 'data'), JACKET_ADMIN_TOKEN: 'bench', LOG_LEVEL: 'silent' });
const services = await createServices(config);
const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000))} covers/s (${n} in ${(ms / 1000).toFixed(2)} s)`;

started = performance.now();
const first = await importOpenLibrary(services, source);
console.log(`import openlibrary (pre-sized originals): ${rate(first.imported, performance.now() - started)}`);
if (first.imported !== count || first.problems.total !== 0) throw new Error(`import went wrong: ${JSON.stringify(first)}`);

started = performance.now();
const again = await importOpenLibrary(services, source);
console.log(`re-import (all unchanged): ${rate(again.unchanged, performance.now() - started)}`);

started = performance.now();
const originals = await exportOpenLibrary(services, path.join(root, 'export-originals'), { sizes: [] });
let ms = performance.now() - started;
console.log(`export openlibrary --sizes none: ${rate(originals.covers, ms)}, ${((sourceBytes / 1024 / 1024) / (ms / 1000)).toFixed(1)} MiB/s of archive`);

const sized = Math.min(count, 2000);
const subset = path.join(root, 'data-subset');
const subsetServices = await createServices({ ...config, dataDir: subset });
const subsetSource = path.join(root, 'source-subset');
const subsetWriter = await TarWriter.create(path.join(subsetSource, archivePath(1, '')));
for (let id = 1; id <= sized; id++) await subsetWriter.add(entryName(id, ''), coverBytes(id), Date.now() / 1000);
await subsetWriter.finish();
await importOpenLibrary(subsetServices, subsetSource);
started = performance.now();
const withSizes = await exportOpenLibrary(subsetServices, path.join(root, 'export-sizes'), { sizes: ['S', 'M', 'L'] });
ms = performance.now() - started;
console.log(`export openlibrary with S,M,L (renditions made now, ${config.imageConcurrency} image workers): ${rate(withSizes.covers, ms)}`);
started = performance.now();
await exportOpenLibrary(subsetServices, path.join(root, 'export-sizes-again'), { sizes: ['S', 'M', 'L'] });
console.log(`export openlibrary with S,M,L (renditions already stored): ${rate(withSizes.covers, performance.now() - started)}`);

// An editions dump for the imported covers (gzip, one cover and two identifiers per edition), then the mapping
// exported from it and imported into a fresh store.
const { gzipSync } = await import('node:zlib');
const { exportIdMap, importEditions, importIdMap } = await import('../src/bulk/identifier-dumps.ts');
const { isbn10To13 } = await import('../src/identifiers/index.ts');
const dumpLines: string[] = [];
for (let id = 1; id <= count; id++) {
  const isbn10 = String(id).padStart(9, '0');
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (10 - i) * Number(isbn10[i]);
  const check = (11 - (sum % 11)) % 11;
  const isbn13 = isbn10To13(isbn10 + (check === 10 ? 'X' : String(check)));
  const record = { key: `/books/OL${id}M`, covers: [id], isbn_13: [isbn13], oclc_numbers: [String(100000 + id)], title: `Book ${id}` };
  dumpLines.push(`/type/edition\t/books/OL${id}M\t2\t2021-01-01T00:00:00.000000\t${JSON.stringify(record)}`);
}
const dump = path.join(root, 'ol_dump_editions.txt.gz');
await fs.writeFile(dump, gzipSync(dumpLines.join('\n') + '\n'));
started = performance.now();
const editions = await importEditions(services, dump);
console.log(`import ol-editions: ${Math.round(editions.lines / ((performance.now() - started) / 1000))} lines/s (${editions.lines} editions, ${editions.identifiersAdded} identifiers, ${editions.coversLinked} covers linked)`);
started = performance.now();
const idmapFile = path.join(root, 'idmap.tsv');
const mapping = await exportIdMap(services, idmapFile);
console.log(`export idmap: ${Math.round(mapping.rows / ((performance.now() - started) / 1000))} rows/s (${mapping.rows} rows)`);
const fresh = await createServices({ ...config, dataDir: path.join(root, 'data-idmap') });
started = performance.now();
const mapped = await importIdMap(fresh, idmapFile);
console.log(`import idmap (links remembered for covers not imported yet): ${Math.round(mapped.lines / ((performance.now() - started) / 1000))} rows/s`);
await fresh.close();

await services.close();
await subsetServices.close();
if (process.env.BENCH_KEEP) console.log(`kept ${root} (archives in ${source})`);
else await fs.rm(root, { recursive: true, force: true });
