import net from 'node:net';

/**
 * The benches' HTTP client (the misses in bench/run.ts, the hits in bench/callgrind/drive.ts): one keep-alive
 * HTTP/1.1 connection, one request at a time, parsed just enough to check the answer (status, Content-Type,
 * Content-Length, the whole body). It shares the two cores with the server under test, and Node's own http client
 * spends 1.3–1.7 ms of CPU per request here (a tenth of a rendition); this one spends a small fraction of that, so
 * the ratio measures the server rather than the client.
 */
export class LeanClient {
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: ((error?: Error) => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.waiting?.();
    });
    socket.on('error', (error) => this.waiting?.(error));
    socket.on('close', () => this.waiting?.(new Error('connection closed')));
  }

  static open(url: string): Promise<LeanClient> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: hostname, port: Number(port), noDelay: true }, () => resolve(new LeanClient(socket)));
      socket.once('error', reject);
    });
  }

  async get(path: string): Promise<{ status: number; contentType: string | undefined; length: number }> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end !== -1) {
        const head = this.buffer.toString('latin1', 0, end);
        const status = Number(head.slice(9, 12));
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
        if (!Number.isFinite(length)) throw new Error(`answer without Content-Length: ${head.slice(0, 200)}`);
        if (this.buffer.length >= end + 4 + length) {
          const contentType = /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1];
          this.buffer = this.buffer.subarray(end + 4 + length);
          return { status, contentType, length };
        }
      }
      await new Promise<void>((resolve, reject) => {
        this.waiting = (error) => (error ? reject(error) : resolve());
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
