// s3rver in its own process: its ListObjectsV2 continuation tokens use DES, which needs OpenSSL's legacy provider,
// a flag we give this process only (see startS3 in backends.ts). Prints `{"port":N}` when listening.
//
// s3rver writes an object in place (truncate, then stream) and answers the PUT before the bytes are on disk, with
// the length in a separate metadata file: a GET during or just after a PUT can see half an object, and concurrent
// PUTs of one key can mix. Real S3 replaces an object whole and atomically, and Jacket's BlobStore contract relies
// on that; so this test server is given S3's semantics: per-key serialisation, temp file + rename, answer when done.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import S3rver from 's3rver';

// An optional third argument fixes the port (outage tests stop the server and start it again where it was).
const [directory, bucket, port] = process.argv.slice(2);
const server = new S3rver({ port: Number(port ?? 0), address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket!, configs: [] }] });

const store = server.store;
const locks = new Map<string, Promise<unknown>>();
function serialised<T>(bucketName: string, key: string, work: () => Promise<T>): Promise<T> {
  const id = `${bucketName}/${key}`;
  const previous = locks.get(id) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(work);
  locks.set(id, next);
  void next.catch(() => {}).finally(() => {
    if (locks.get(id) === next) locks.delete(id);
  });
  return next;
}

async function bytesOf(content: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(content)) return content;
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const getObject = store.getObject.bind(store);
const deleteObject = store.deleteObject.bind(store);
store.getObject = (bucketName: string, key: string, options: unknown) => serialised(bucketName, key, () => getObject(bucketName, key, options));
store.deleteObject = (bucketName: string, key: string) => serialised(bucketName, key, () => deleteObject(bucketName, key));
store.putObject = (object: { bucket: string; key: string; content: Buffer | Readable; metadata: Record<string, string> }) =>
  serialised(object.bucket, object.key, async () => {
    const content = await bytesOf(object.content);
    const md5 = createHash('md5').update(content).digest('hex');
    const objectPath: string = store.getResourcePath(object.bucket, object.key, 'object');
    await fs.mkdir(path.dirname(objectPath), { recursive: true });
    const temp = `${objectPath}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(temp, content);
    await fs.rename(temp, objectPath);
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  });

const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
