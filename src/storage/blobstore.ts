/**
 * Where image bytes live: originals (content-addressed by SHA-256) and renditions made from them. One small
 * interface, one file per implementation, one contract test suite (test/contracts/blobstore.ts) that every
 * implementation passes.
 */
export interface PutOptions {
  regenerable?: boolean;
}

export interface BlobStore {
  /**
   * Store bytes under a key, atomically: a reader sees either nothing or the whole blob. With `regenerable` (a
   * rendition, which can be made again from its original) the store may skip the durability of the name itself: after
   * a crash the key may be missing, but never present with incomplete bytes.
   */
  put(key: string, bytes: Buffer, options?: PutOptions): Promise<void>;
  /**
   * Optional: store many blobs, all durable when the promise resolves (bulk imports). Stores without it get `put`
   * calls instead.
   */
  putMany?(entries: Array<{ key: string; bytes: Buffer }>): Promise<void>;
  /** The bytes, or undefined when there is no such blob. */
  get(key: string): Promise<Buffer | undefined>;
  /** Size in bytes and when it was last written, or undefined when there is no such blob. */
  stat(key: string): Promise<BlobStat | undefined>;
  delete(key: string): Promise<void>;
  /**
   * Optional: make an existing blob count as just written (its `modifiedAt` becomes now) without rewriting it; false
   * when there is no such blob. An upload that re-uses a blob calls it, so `jacket fsck` beside the server never
   * takes that blob for old garbage. Stores without it get the bytes `put` again.
   */
  touch?(key: string): Promise<boolean>;
  /**
   * Optional: the path of a local file that holds the blob's bytes (stores on a local disk). Image work reads the
   * original straight from there instead of copying it through JavaScript memory first. No check that it exists.
   */
  localPath?(key: string): string;
  /** Every key that starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
  /** Reachability check for readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface BlobStat {
  size: number;
  /**
   * When the blob was last written (epoch ms; object stores keep whole seconds): `jacket fsck` leaves garbage younger
   * than its grace period alone, since a running server may be about to commit a row for it.
   */
  modifiedAt?: number;
}

/** Every segment starts with a letter or digit, so no segment can be `.` or `..`. */
const SAFE_KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/i;

/** Keys are relative, slash-separated, made of safe characters: never a path trick. */
export function assertSafeKey(key: string): void {
  if (!SAFE_KEY.test(key)) {
    throw new Error(`unsafe blob key: ${JSON.stringify(key)}`);
  }
}

export function originalKey(sha256: string): string {
  return `originals/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

export function renditionKey(sha256: string, width: number, height: number, extension: string): string {
  // One folder per first byte of the original's hash (256 in all, made once), not one per original: on a local disk a
  // new folder per original cost a directory inode on every first miss, measured as the largest part of keeping a
  // rendition (BENCHMARKS.md). Renditions stored under the older layout, `renditions/ab/<sha256>/WxH.ext`, are never
  // read again; fsck collects them.
  return `renditions/${sha256.slice(0, 2)}/${sha256}-${width}x${height}.${extension}`;
}
