import type { Metrics } from '../metrics.ts';
import type { BlobStat, BlobStore, PutOptions } from './blobstore.ts';

/**
 * A blob store whose every operation is timed in the metrics (`blob_store_duration_seconds`), in front of the real
 * one. The optional operations exist here exactly when the store behind has them, so callers that ask for them
 * (`touch`, `putMany`, `localPath`) see the same store.
 */
export class MeasuredBlobStore implements BlobStore {
  /** The store behind, for what only a particular kind of store has (fsck's temp files on a local disk). */
  readonly inner: BlobStore;
  private readonly metrics: Metrics;
  readonly putMany?: BlobStore['putMany'];
  readonly touch?: BlobStore['touch'];
  readonly localPath?: BlobStore['localPath'];

  constructor(inner: BlobStore, metrics: Metrics) {
    this.inner = inner;
    this.metrics = metrics;
    if (inner.putMany) this.putMany = (entries) => metrics.observeBlobStore('putMany', () => inner.putMany!(entries));
    if (inner.touch) this.touch = (key) => metrics.observeBlobStore('touch', () => inner.touch!(key));
    // A path, not an operation: nothing to time.
    if (inner.localPath) this.localPath = (key) => inner.localPath!(key);
  }

  put(key: string, bytes: Buffer, options?: PutOptions): Promise<void> {
    return this.metrics.observeBlobStore('put', () => this.inner.put(key, bytes, options));
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.metrics.observeBlobStore('get', () => this.inner.get(key));
  }

  stat(key: string): Promise<BlobStat | undefined> {
    return this.metrics.observeBlobStore('stat', () => this.inner.stat(key));
  }

  delete(key: string): Promise<void> {
    return this.metrics.observeBlobStore('delete', () => this.inner.delete(key));
  }

  list(prefix: string): AsyncIterable<string> {
    return this.inner.list(prefix);
  }

  ping(): Promise<void> {
    return this.metrics.observeBlobStore('ping', () => this.inner.ping());
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The store behind any measuring in front of it. */
export function storeBehind(blobs: BlobStore): BlobStore {
  return blobs instanceof MeasuredBlobStore ? storeBehind(blobs.inner) : blobs;
}
