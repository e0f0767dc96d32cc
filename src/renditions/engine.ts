import { existsSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { renderRendition, RENDITION_FORMATS, type RenditionFormat } from '../images/render.ts';
import type { Dimensions } from '../images/sizes.ts';
import { renditionKey, type BlobStore } from '../storage/blobstore.ts';
import { WorkQueue } from './queue.ts';

/** What the rendition layer needs to know of an original: where its bytes are and its upright size. */
export interface OriginalRef {
  sha256: string;
  blobKey: string;
  width: number;
  height: number;
}

export interface Rendition {
  bytes: Buffer;
  mime: string;
  /** True when this call made the rendition from the original (the keyed API's quota counts only these). */
  made: boolean;
}

export interface RenditionStats {
  memoryHits: number;
  storeHits: number;
  made: number;
  /** Renditions made but not kept in the blob store (the write failed; they are made again when asked). */
  storeFailures: number;
}

export interface RenditionEngineOptions {
  blobs: BlobStore;
  cacheBytes: number;
  concurrency: number;
  queueLimit: number;
  /** Single-flight across instances (Redis); without it, single-flight is per process. */
  coordinator?: RenditionCoordinator;
}

/** Lets one instance make a rendition while the others wait for it to appear in the shared blob store. */
export interface RenditionCoordinator {
  /** True when this instance should make the rendition now; false when another instance is making it. */
  claim(key: string): Promise<boolean>;
  release(key: string): Promise<void>;
}

/** How long to wait for another instance's rendition before making it here after all (it may have died). */
const PEER_WAIT_MS = 10_000;
const PEER_POLL_MS = 50;

/**
 * (original, size, format) → bytes. Memory LRU, then the blob store, then a single-flight job on the bounded work
 * queue that makes the rendition from the original and keeps it in the store.
 */
export class RenditionEngine {
  readonly queue: WorkQueue;
  readonly stats: RenditionStats = { memoryHits: 0, storeHits: 0, made: 0, storeFailures: 0 };
  private readonly blobs: BlobStore;
  private readonly memory: LRUCache<string, Buffer> | undefined;
  private readonly inFlight = new Map<string, Promise<Rendition>>();
  private readonly transientInFlight = new Map<string, Promise<Buffer>>();
  private readonly coordinator: RenditionCoordinator | undefined;
  private readonly storing = new Set<Promise<void>>();
  /** Renditions made but not yet in the blob store: answered from here meanwhile, even with no memory cache. */
  private readonly unstored = new Map<string, Buffer>();

  constructor(options: RenditionEngineOptions) {
    this.blobs = options.blobs;
    this.coordinator = options.coordinator;
    this.queue = new WorkQueue(options.concurrency, options.queueLimit);
    this.memory =
      options.cacheBytes > 0
        ? new LRUCache<string, Buffer>({ maxSize: options.cacheBytes, sizeCalculation: (bytes) => Math.max(1, bytes.length) })
        : undefined;
  }

  /** The bytes of a rendition if they are in memory already: the fast path, no promise, no I/O. */
  peek(original: OriginalRef, target: Dimensions, format: RenditionFormat): Buffer | undefined {
    const bytes = this.memory?.get(this.keyOf(original, target, format));
    if (bytes) this.stats.memoryHits++;
    return bytes;
  }

  /** A rendition's bytes: at once when they are in memory (no promise, no I/O), else as `get` finds or makes them. */
  bytes(original: OriginalRef, target: Dimensions, format: RenditionFormat): Buffer | Promise<Buffer> {
    const key = this.keyOf(original, target, format);
    const cached = this.memory?.get(key);
    if (cached) {
      this.stats.memoryHits++;
      return cached;
    }
    return this.notInMemory(key, original, target, format).then((rendition) => rendition.bytes);
  }

  keyOf(original: OriginalRef, target: Dimensions, format: RenditionFormat): string {
    return renditionKey(original.sha256, target.width, target.height, RENDITION_FORMATS[format].extension);
  }

  async get(original: OriginalRef, target: Dimensions, format: RenditionFormat): Promise<Rendition> {
    const key = this.keyOf(original, target, format);
    const cached = this.memory?.get(key);
    if (cached) {
      this.stats.memoryHits++;
      return { bytes: cached, mime: RENDITION_FORMATS[format].mime, made: false };
    }
    return this.notInMemory(key, original, target, format);
  }

  /** A rendition not in the memory cache: on its way to the store, being made, stored, or to be made. */
  private notInMemory(key: string, original: OriginalRef, target: Dimensions, format: RenditionFormat): Promise<Rendition> {
    const mime = RENDITION_FORMATS[format].mime;
    const unstored = this.unstored.get(key);
    if (unstored) return Promise.resolve({ bytes: unstored, mime, made: false });
    const pending = this.inFlight.get(key);
    if (pending) return pending.then((rendition) => ({ ...rendition, made: false }));
    const work = this.load(key, original, target, format).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, work);
    return work;
  }

  private async load(key: string, original: OriginalRef, target: Dimensions, format: RenditionFormat): Promise<Rendition> {
    const mime = RENDITION_FORMATS[format].mime;
    const stored = this.surelyNotStored(key) ? undefined : await this.blobs.get(key);
    if (stored) {
      this.stats.storeHits++;
      this.memory?.set(key, stored);
      return { bytes: stored, mime, made: false };
    }
    const claimed = this.coordinator ? await this.coordinator.claim(key) : false;
    if (this.coordinator && !claimed) {
      const made = await this.waitForPeer(key);
      if (made) {
        this.stats.storeHits++;
        this.memory?.set(key, made);
        return { bytes: made, mime, made: false };
      }
    }
    let bytes: Buffer;
    try {
      bytes = await this.queue.run(() => this.render(original, target, format));
    } catch (error) {
      if (claimed) await this.coordinator!.release(key);
      throw error;
    }
    this.stats.made++;
    this.memory?.set(key, bytes);
    // The caller gets the bytes now; keeping them in the store (temp file, fsync, rename; no folder fsync, since a
    // rendition whose name a crash forgets is made again) happens after: disk latency need not delay the response. Until the write lands the rendition is answered from memory (and
    // other instances wait for it in the shared store); if the process dies first, it is simply made again.
    this.unstored.set(key, bytes);
    const storing: Promise<void> = this.blobs
      .put(key, bytes, { regenerable: true })
      .catch(() => {
        this.stats.storeFailures++;
      })
      .then(async () => {
        if (claimed) await this.coordinator!.release(key);
      })
      .catch(() => {})
      .finally(() => {
        this.storing.delete(storing);
        this.unstored.delete(key);
      });
    this.storing.add(storing);
    return { bytes, mime, made: true };
  }

  /**
   * On a local disk, "is this rendition stored?" starts with an existence check of its file: under a microsecond on
   * this thread, where a read that fails with ENOENT costs a thread-pool round trip and an error object (measured
   * here: about 26 µs on this thread plus 14 µs in the pool). A file that exists is read as before; stores elsewhere
   * are asked.
   */
  private surelyNotStored(key: string): boolean {
    const file = this.blobs.localPath?.(key);
    return file !== undefined && !existsSync(file);
  }

  private render(original: OriginalRef, target: Dimensions, format: RenditionFormat): Promise<Buffer> {
    return this.fromOriginal(original, (source) => renderRendition(source, target, format));
  }

  /**
   * Make something from an original. A store on a local disk hands libvips the original's path: it reads the file on
   * its own thread, so a miss makes no 250 KB-ish copy in JavaScript memory (garbage for the GC) and no chain of fs
   * calls through the main thread before the image work can start (measured on the misses bench: about 1.5 ms less
   * per request, less GC).
   */
  private async fromOriginal(original: OriginalRef, make: (source: Buffer | string) => Promise<Buffer>): Promise<Buffer> {
    const file = this.blobs.localPath?.(original.blobKey);
    if (file !== undefined) {
      try {
        return await make(file);
      } catch (error) {
        if ((await this.blobs.stat(original.blobKey)) === undefined) throw new Error(`original blob ${original.blobKey} is missing`);
        throw error;
      }
    }
    const source = await this.blobs.get(original.blobKey);
    if (!source) throw new Error(`original blob ${original.blobKey} is missing`);
    return make(source);
  }

  /** Bytes held by the memory cache now (never more than JACKET_RENDITION_CACHE_MB). */
  get cachedBytes(): number {
    return this.memory?.calculatedSize ?? 0;
  }

  /** Bytes made by `transient` that are in memory now, under their key. */
  cachedTransient(key: string): Buffer | undefined {
    const bytes = this.memory?.get(key);
    if (bytes) this.stats.memoryHits++;
    return bytes;
  }

  /**
   * Bytes that are never written to the blob store (the IIIF dialect's arbitrary regions and sizes, which would
   * otherwise fill it without bound): from memory, else made from the original on the bounded queue, once for all
   * who ask at the same time, and kept in the memory cache only. `key` must contain the original's sha256, so that
   * `forget` drops them with the rest.
   */
  transient(original: OriginalRef, key: string, make: (source: Buffer | string) => Promise<Buffer>): Promise<Buffer> {
    const cached = this.cachedTransient(key);
    if (cached) return Promise.resolve(cached);
    const pending = this.transientInFlight.get(key);
    if (pending) return pending;
    const work = this.queue
      .run(() => this.fromOriginal(original, make))
      .then((bytes) => {
        this.stats.made++;
        this.memory?.set(key, bytes);
        return bytes;
      })
      .finally(() => this.transientInFlight.delete(key));
    this.transientInFlight.set(key, work);
    return work;
  }

  /** Another instance is making `key`: wait for it in the shared store (undefined if it never comes). */
  private async waitForPeer(key: string): Promise<Buffer | undefined> {
    const deadline = Date.now() + PEER_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, PEER_POLL_MS));
      const bytes = await this.blobs.get(key);
      if (bytes) return bytes;
    }
    return undefined;
  }

  /** Whether this rendition was made already (memory, on its way to the store, or stored): it costs no image work. */
  async isMade(original: OriginalRef, target: Dimensions, format: RenditionFormat): Promise<boolean> {
    const key = this.keyOf(original, target, format);
    if (this.memory?.has(key) || this.unstored.has(key)) return true;
    return (await this.blobs.stat(key)) !== undefined;
  }

  /** Wait until every rendition made so far is in the blob store (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.storing.size > 0) await Promise.all(this.storing);
  }

  /** The original's bytes, for answering with them: as `original`, but a blob missing from the store is an error. */
  async requireOriginal(original: OriginalRef): Promise<Buffer> {
    const bytes = await this.original(original);
    if (!bytes) throw new Error(`original blob ${original.blobKey} is missing`);
    return bytes;
  }

  /** The original's bytes (served byte-identical), through the same memory cache. */
  async original(original: OriginalRef): Promise<Buffer | undefined> {
    const cached = this.memory?.get(original.blobKey);
    if (cached) return cached;
    const bytes = await this.blobs.get(original.blobKey);
    if (bytes) this.memory?.set(original.blobKey, bytes);
    return bytes;
  }

  /** Forget an original's cached bytes and renditions (after a delete). Stored renditions stay until fsck collects them. */
  forget(sha256: string): void {
    if (!this.memory) return;
    for (const key of this.memory.keys()) if (key.includes(sha256)) this.memory.delete(key);
  }
}
