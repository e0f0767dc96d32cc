import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { JacketError } from '../errors.ts';
import { assertSafeKey, type BlobStat, type BlobStore } from './blobstore.ts';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket: '' or ending in '/'. */
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /** When absent the AWS SDK's default provider chain (environment, profile, instance role) supplies them. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Keys per listing request (S3's maximum, 1000, unless a test wants to see pagination). */
  pageSize?: number;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Whether an S3 call failed because the store cannot be reached or cannot serve just now (refused, reset, timed out,
 * a 5xx, throttled), rather than because of the request: such a failure is the store's outage, and a request
 * answers it with a 503 a client may retry, never a 500.
 */
export function isStoreOutage(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  if (status === 429 || e?.name === 'SlowDown' || e?.name === 'ThrottlingException') return true;
  if (status !== undefined) return false;
  return (
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNABORTED)$/.test(e?.code ?? '') ||
    /^(TimeoutError|RequestTimeout|NetworkingError)$/.test(e?.name ?? '')
  );
}

export function storageUnavailable(): JacketError {
  return new JacketError(503, 'storage_unavailable', 'The image storage cannot be reached just now; try again in a few seconds.', { 'retry-after': '5' });
}

/** Timeouts of one S3 call: a store that accepts connections but answers nothing costs a request seconds, not forever. */
const CONNECT_TIMEOUT_MS = 3_000;
const SOCKET_IDLE_TIMEOUT_MS = 5_000;

/**
 * Blobs as objects in any S3-compatible bucket. A PUT replaces an object whole, so a reader sees either the old
 * object, nothing or the whole new one: the atomicity the interface asks for comes with the protocol.
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly pageSize: number;

  constructor(options: S3BlobStoreOptions) {
    if (options.prefix !== '' && !options.prefix.endsWith('/')) throw new Error('S3 key prefix must be empty or end with "/"');
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.pageSize = options.pageSize ?? 1000;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: options.credentials,
      // Blob reads sit on the request path: fail fast and let the caller's retry (or the client's) decide.
      maxAttempts: 3,
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: SOCKET_IDLE_TIMEOUT_MS, throwOnRequestTimeout: true },
    });
  }

  /** One S3 call; an outage of the store becomes `503 storage_unavailable` (the cause is kept for the log). */
  private async call<T>(work: (client: S3Client) => Promise<T>): Promise<T> {
    try {
      return await work(this.client);
    } catch (error) {
      if (isStoreOutage(error)) throw Object.assign(storageUnavailable(), { cause: error });
      throw error;
    }
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.prefix + key;
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    await this.call((client) => client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Body: bytes, ContentLength: bytes.length })));
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      // The body is read inside the call: a store that goes away halfway through an object is an outage too.
      return await this.call(async (client) => {
        const response = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
        return response.Body ? Buffer.from(await response.Body.transformToByteArray()) : Buffer.alloc(0);
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    try {
      const response = await this.call((client) => client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })));
      return { size: Number(response.ContentLength ?? 0), modifiedAt: response.LastModified?.getTime() };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers a delete of a missing object with success, as the interface wants.
    await this.call((client) => client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })));
  }

  async *list(prefix: string): AsyncIterable<string> {
    let continuationToken: string | undefined;
    do {
      const page = await this.call((client) =>
        client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: continuationToken, MaxKeys: this.pageSize })),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key && object.Key.startsWith(this.prefix)) yield object.Key.slice(this.prefix.length);
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  async ping(): Promise<void> {
    await this.call((client) => client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
