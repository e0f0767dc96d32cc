/**
 * Streaming tar: a plain USTAR writer that records where every entry's data starts (the legacy `.index` beside each
 * Open Library archive), and a reader over tar-stream that tolerates PAX and GNU headers from other programs.
 */
import { constants, createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

const BLOCK = 512;
const FLUSH_BYTES = 4 * 1024 * 1024;

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'ascii');
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  writeString(header, offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
}

/** One 512-byte USTAR header for a regular file. Names must be ASCII and at most 100 bytes (ours are 16). */
export function ustarHeader(name: string, size: number, mtimeSeconds: number): Buffer {
  if (!/^[\x20-\x7e]{1,100}$/.test(name)) throw new Error(`tar entry name not representable in USTAR: ${name}`);
  if (size > 0o77777777777) throw new Error(`tar entry ${name} is too large for USTAR`);
  const header = Buffer.alloc(BLOCK);
  writeString(header, 0, 100, name);
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, Math.max(0, Math.floor(mtimeSeconds)));
  header.fill(0x20, 148, 156);
  header[156] = 0x30; // '0': regular file
  writeString(header, 257, 6, 'ustar\0');
  writeString(header, 263, 2, '00');
  writeString(header, 265, 32, 'jacket');
  writeString(header, 297, 32, 'jacket');
  let sum = 0;
  for (const byte of header) sum += byte;
  writeString(header, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return header;
}

/**
 * The `.index` beside an archive, named as Open Library's own archiver names it (`path.replace('.tar', '.index')`):
 * `covers_0000/covers_0000_00.tar` → `covers_0000/covers_0000_00.index`.
 */
export function indexPathFor(tarFile: string): string {
  const dir = path.dirname(tarFile);
  const base = path.basename(tarFile);
  return path.join(dir, base.includes('.tar') ? base.replace('.tar', '.index') : `${base}.index`);
}

/**
 * Writes one archive and its `.index` (`name<TAB>data offset<TAB>size`) to `*.part` files, renamed into place by
 * `finish()`: a reader never sees half an archive, and an interrupted export leaves only `.part` files.
 */
export class TarWriter {
  readonly file: string;
  readonly indexFile: string;
  private readonly tarHandle: fs.FileHandle;
  private readonly indexHandle: fs.FileHandle;
  private position = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private indexLines: string[] = [];
  entries = 0;

  private constructor(file: string, tarHandle: fs.FileHandle, indexHandle: fs.FileHandle) {
    this.file = file;
    this.indexFile = indexPathFor(file);
    this.tarHandle = tarHandle;
    this.indexHandle = indexHandle;
  }

  static async create(file: string): Promise<TarWriter> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const flags = constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC;
    const tarHandle = await fs.open(`${file}.part`, flags, 0o644);
    const indexHandle = await fs.open(`${indexPathFor(file)}.part`, flags, 0o644);
    return new TarWriter(file, tarHandle, indexHandle);
  }

  async add(name: string, data: Buffer, mtimeSeconds: number): Promise<void> {
    this.queue(ustarHeader(name, data.length, mtimeSeconds));
    this.indexLines.push(`${name}\t${this.position}\t${data.length}\n`);
    this.queue(data);
    const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (padding) this.queue(Buffer.alloc(padding));
    this.entries++;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  private queue(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.position += chunk.length;
  }

  private async flush(): Promise<void> {
    if (this.pending.length > 0) await this.tarHandle.writev(this.pending);
    if (this.indexLines.length > 0) await this.indexHandle.write(this.indexLines.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    this.indexLines = [];
  }

  /** End-of-archive blocks, sync, close and rename both files into place. */
  async finish(): Promise<void> {
    this.queue(Buffer.alloc(2 * BLOCK));
    await this.flush();
    await this.tarHandle.sync();
    await this.indexHandle.sync();
    await this.tarHandle.close();
    await this.indexHandle.close();
    await fs.rename(`${this.indexFile}.part`, this.indexFile);
    await fs.rename(`${this.file}.part`, this.file);
  }

  async abort(): Promise<void> {
    await this.tarHandle.close().catch(() => {});
    await this.indexHandle.close().catch(() => {});
    await fs.rm(`${this.file}.part`, { force: true });
    await fs.rm(`${this.indexFile}.part`, { force: true });
  }
}

export type TarItem =
  | { kind: 'file'; name: string; size: number; mtime: Date | undefined; data: Buffer }
  /** A regular file larger than the limit: its data was read past, not kept. */
  | { kind: 'too-large'; name: string; size: number }
  /** Directories, links and other non-file entries. */
  | { kind: 'other'; name: string; type: string };

/**
 * The entries of a tar file, one at a time, each file's bytes read into memory only up to `maxEntryBytes`. A
 * damaged or truncated archive makes the iterator throw after the entries before the damage were yielded.
 */
export async function* readTar(file: string, maxEntryBytes: number, onBytes?: (bytes: number) => void): AsyncGenerator<TarItem> {
  const extract = tar.extract();
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  if (onBytes) source.on('data', (chunk) => onBytes(chunk.length));
  const feeding = pipeline(source, extract);
  // The iterator below reports the same failure; this only prevents an unhandled rejection.
  feeding.catch(() => {});
  for await (const entry of extract) {
    const { header } = entry;
    if (header.type !== 'file' && header.type !== 'contiguous-file') {
      entry.resume();
      yield { kind: 'other', name: header.name, type: String(header.type) };
      continue;
    }
    const size = header.size ?? 0;
    if (size > maxEntryBytes) {
      entry.resume();
      yield { kind: 'too-large', name: header.name, size };
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    yield { kind: 'file', name: header.name, size, mtime: header.mtime, data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
  }
  await feeding;
}

/** Parse an `.index` file's text into entries (tolerant of a trailing newline). */
export function parseIndex(text: string): Array<{ name: string; offset: number; size: number }> {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [name, offset, size] = line.split('\t');
      return { name: name!, offset: Number(offset), size: Number(size) };
    });
}
