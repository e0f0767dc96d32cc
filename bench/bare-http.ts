/**
 * A diagnostic for the misses bench, not a target: the least an HTTP miss can cost in Node. A bare `node:http` server
 * whose only work per request is bare sharp's resize of the file named by the path (read by libvips from disk, as
 * Jacket does), answered with the bytes. No routing, catalogue, store, cache or metrics. Listens on 127.0.0.1 and
 * prints `{"port": N}` once ready.
 *
 *   node bench/bare-http.ts <width> <height>
 */
import http from 'node:http';
import { bareResize } from './bare-resize.ts';

const width = Number(process.argv[2]);
const height = Number(process.argv[3]);
const server = http.createServer((request, response) => {
  const file = decodeURIComponent((request.url ?? '/').slice(1));
  bareResize(file, width, height).then(
      (bytes) => {
        response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': bytes.length });
        response.end(bytes);
      },
      (error: Error) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(error.message);
      },
    );
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n');
});
