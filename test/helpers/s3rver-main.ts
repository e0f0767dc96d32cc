// s3rver in its own process: its ListObjectsV2 continuation tokens use DES, which needs OpenSSL's legacy provider,
// a flag we give this process only (see startS3 in backends.ts). Prints `{"port":N}` when listening.
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket!, configs: [] }] });
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
