// `drive.ts URL N C`: N keep-alive GETs of URL over C raw connections, one at a time per connection; fails on a non-200.
import net from 'node:net';

const [url, count, connections] = process.argv.slice(2);
const target = new URL(url!);
const total = Number(count);
const request = Buffer.from(`GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`, 'latin1');
let sent = 0;
await Promise.all(
  Array.from({ length: Number(connections) }, () => new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(target.port), target.hostname);
    let buffer = Buffer.alloc(0);
    const next = () => {
      if (sent >= total) return void socket.end(resolve);
      sent++;
      socket.write(request);
    };
    socket.on('connect', next);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.toString('latin1', 0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        if (!head.startsWith('HTTP/1.1 200 ')) return reject(new Error(head.split('\r\n')[0]));
        buffer = buffer.subarray(end + 4 + length);
        next();
      }
    });
  })),
);
