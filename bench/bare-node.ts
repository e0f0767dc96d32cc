/**
 * Reference line for hits: Node's own http server writing one buffer from memory with the same headers, nothing
 * else. What Jacket's hot path is compared with to see how much of Node's ceiling it keeps.
 *
 *   node bench/bare-node.ts <port> <file>
 */
import fs from 'node:fs';
import http from 'node:http';

const [port, file] = process.argv.slice(2);
const body = fs.readFileSync(file!);
const headers = [
  'content-type', 'image/jpeg',
  'etag', '"1-m"',
  'last-modified', new Date().toUTCString(),
  'cache-control', 'public, max-age=31536000, immutable',
  'access-control-allow-origin', '*',
  'content-length', String(body.length),
];
http.createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
}).listen(Number(port), '127.0.0.1');
