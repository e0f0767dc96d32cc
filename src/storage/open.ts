import type { StorageConfig } from '../config.ts';
import type { BlobStore } from './blobstore.ts';
import { FsBlobStore } from './fs.ts';

/** The blob store the configuration names (JACKET_STORAGE): a folder, or an S3-compatible bucket. */
export async function openBlobStore(storage: StorageConfig): Promise<BlobStore> {
  if (storage.kind === 'fs') return new FsBlobStore(storage.root);
  // Loaded only when used: the embedded default never pays for the AWS SDK.
  const { S3BlobStore } = await import('./s3.ts');
  return new S3BlobStore(storage);
}
