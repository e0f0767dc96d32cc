import assert from 'node:assert/strict';
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Map<string, string[]>;
  body: Buffer;
}

/** A client speaking HTTP/1.1 by hand over one TCP connection: exact bytes out, responses parsed in order. */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  static connect(url: string): Promise<RawClient> {
    const { port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  private async until(ready: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!ready()) {
      if (this.ended) throw new Error(`connection ended; unread: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for a response');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  /** The next response; `bodyless` for answers to HEAD. Without Content-Length the body runs to the end of the connection. */
  async response(bodyless = false): Promise<RawResponse> {
    await this.until(() => this.buffer.includes('\r\n\r\n'));
    const end = this.buffer.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = this.buffer.toString('latin1', 0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
    assert.ok(status, `a status line: ${statusLine}`);
    const headers = new Map<string, string[]>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    const start = end + 4;
    const length = headers.get('content-length')?.[0];
    let bodyEnd: number;
    if (bodyless || status === 304) {
      bodyEnd = start;
    } else if (length !== undefined) {
      bodyEnd = start + Number(length);
      await this.until(() => this.buffer.length >= bodyEnd);
    } else {
      await this.until(() => this.ended).catch(() => {});
      bodyEnd = this.buffer.length;
    }
    const body = this.buffer.subarray(start, bodyEnd);
    this.buffer = this.buffer.subarray(bodyEnd);
    return { status, headers, body: Buffer.from(body) };
  }

  /** Resolves when the server has closed the connection (after any responses still unread). */
  async closed(): Promise<void> {
    await this.until(() => this.ended);
  }

  close(): void {
    this.socket.destroy();
  }
}
