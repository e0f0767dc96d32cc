/**
 * The miss baseline: bare sharp, default settings, in one Node process, making the same L rendition (same target
 * size, same JPEG quality) of the given originals, `concurrency` at a time. Prints `{"rate": renditions per second}`.
 * The originals are read into memory before the clock starts, so the baseline does no I/O at all.
 *
 *   node bench/bare-sharp.ts <concurrency> <width> <height> <file>...
 */
import fs from 'node:fs/promises';
import { mapLimited } from '../src/concurrency.ts';
import { bareResize } from './bare-resize.ts';

const [concurrencyArg, widthArg, heightArg, ...files] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const width = Number(widthArg);
const height = Number(heightArg);
const originals = await Promise.all(files.map((file) => fs.readFile(file)));

const resize = (original: Buffer) => bareResize(original, width, height);
// One rendition before the clock starts (libvips' start-up and the first compilation), as the bench warms Jacket up.
await resize(originals[0]!);

const cpuBefore = process.cpuUsage();
const started = performance.now();
await mapLimited(originals, concurrency, resize);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(JSON.stringify({ rate: originals.length / seconds, count: originals.length, seconds, cpuMs: (cpu.user + cpu.system) / 1000 }) + '\n');
