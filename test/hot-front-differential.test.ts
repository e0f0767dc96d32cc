// The hot front reads some requests itself, before Node's parser (llhttp) sees them. Whatever it takes or hands over,
// a client must not be able to tell: the same byte streams, sent to a server with the front and to one without it
// (JACKET_HOT_FRONT=false), must get the same bytes back but for the values that differ between any two servers
// (Date, generated request ids, and the validators of two uploads made at different moments).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { seededRandom } from './helpers/random.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

interface Side {
  jacket: RunningJacket;
  path: string;
  etag: string;
}

/** Everything the server sends on one connection for `chunks` (written one after another), until it closes or goes quiet. */
function exchange(url: string, chunks: Buffer[]): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    const socket = net.connect(Number(port), '127.0.0.1');
    let quiet: NodeJS.Timeout | undefined;
    // Quiet is counted from the last byte written: a slow machine writing a stream byte by byte must not cut the
    // answer short between two of its writes.
    let writing = true;
    const finish = () => {
      clearTimeout(quiet);
      socket.destroy();
      resolve(Buffer.concat(received).toString('latin1'));
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, 250);
    };
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (!writing) rearm();
    });
    socket.on('close', finish);
    // A server that closed while the client was still writing (after `Connection: close`) is an answer, not a failure:
    // what it sent before is compared.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? finish() : reject(error)));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        await new Promise((resolve) => setImmediate(resolve));
      }
      writing = false;
      rearm();
    });
  });
}

function normalise(text: string): string {
  return text
    .replace(/^date: .*$/gim, 'Date: (now)')
    .replace(/^(x-request-id: )[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/gim, '$1(generated)')
    .replace(/^(etag: ).*$/gim, '$1(validator)')
    .replace(/^(last-modified: ).*$/gim, '$1(validator)');
}

describe('the hot front answers exactly as Node would', () => {
  const sides: Side[] = [];

  before(async () => {
    const bytes = await makeImage(300, 450);
    for (const hotFront of ['true', 'false']) {
      const jacket = await startJacket({ JACKET_HOT_FRONT: hotFront });
      const uploaded = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes } }) });
      const path = `/b/id/${(await uploaded.json()).id}-S.jpg`;
      const first = await jacket.get(path);
      assert.equal(first.status, 200);
      await first.arrayBuffer();
      sides.push({ jacket, path, etag: first.headers.get('etag')! });
    }
  });
  after(async () => {
    for (const side of sides) await side.jacket.close();
  });

  /** The stream for one side: `{path}` and `{etag}` are that server's hot URL and its validator. */
  const streamFor = (template: string, side: Side) => Buffer.from(template.replaceAll('{path}', side.path).replaceAll('{etag}', side.etag), 'latin1');

  async function assertSame(template: string, split?: number, label = JSON.stringify(template)): Promise<void> {
    const answers: string[] = [];
    for (const side of sides) {
      const stream = streamFor(template, side);
      const chunks = split === undefined ? [stream] : [stream.subarray(0, split), stream.subarray(split)];
      answers.push(normalise(await exchange(side.jacket.url, chunks)));
    }
    assert.equal(answers[0], answers[1], `front and Node differ for ${label}${split === undefined ? '' : ` split at ${split}`}`);
    assert.notEqual(answers[0], '', `an answer for ${label}`);
  }

  const get = (extra = '', target = '{path}') => `GET ${target} HTTP/1.1\r\nHost: jacket.test\r\n${extra}\r\n`;

  const HAND_MADE: Record<string, string> = {
    'a hit': get(),
    'three pipelined hits': get() + get() + get(),
    'Connection: close, then more requests (finding 3)': get('Connection: close\r\n') + get(),
    'Proxy-Connection: close with two pipelined requests (finding 1)': get('Proxy-Connection: close\r\n') + get() + get(),
    'Connection: U+00A0 close (finding 2)': get('Connection: \xa0close\r\n') + get(),
    'X-Request-Id: U+00A0 abc (finding 2)': get('X-Request-Id: \xa0abc\r\n'),
    'X-Request-Id with spaces and tabs around it': get('X-Request-Id: \t abc \t\r\n'),
    'Connection in upper case, tokens with spaces': get('CONNECTION: Keep-Alive ,  CLOSE\r\n') + get(),
    'If-None-Match matching': get('If-None-Match: {etag}\r\n'),
    'If-None-Match with a tab before it': get('If-None-Match:\t{etag}\r\n'),
    'two Host lines': `GET {path} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`,
    'no Host': `GET {path} HTTP/1.1\r\n\r\n`,
    'Content-Length and Transfer-Encoding (a smuggling shape)': get('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n') + '0\r\n\r\n' + get(),
    'Transfer-Encoding: chunked with a smuggled request inside': get('Transfer-Encoding: chunked\r\n') + '0\r\n\r\n' + get(),
    'a space before the colon': get('Connection : close\r\n'),
    'a bare LF line ending': `GET {path} HTTP/1.1\nHost: jacket.test\n\n`,
    'a control byte in a value': get('X-Test: a\x01b\r\n'),
    'obs-fold continuation line': get('X-Test: a\r\n b\r\n'),
    'HTTP/1.0': `GET {path} HTTP/1.0\r\nHost: jacket.test\r\n\r\n`,
    'lower-case method': `get {path} HTTP/1.1\r\nHost: jacket.test\r\n\r\n`,
    'an unknown URL between two hits': get() + get('', '/b/id/999999-S.jpg') + get(),
  };

  test('hand-made streams, whole and split at every byte boundary of the first request', async () => {
    for (const [label, template] of Object.entries(HAND_MADE)) {
      await assertSame(template, undefined, label);
    }
    // Every split point of a few streams (the others whole): a partial write must not change the answer.
    for (const label of ['a hit', 'Connection: close, then more requests (finding 3)', 'Proxy-Connection: close with two pipelined requests (finding 1)']) {
      const length = streamFor(HAND_MADE[label]!, sides[0]!).length;
      for (let split = 1; split < length; split += Math.max(1, Math.floor(length / 24))) await assertSame(HAND_MADE[label]!, split, label);
    }
  });

  test('hand-made streams written one byte at a time (every boundary in one exchange)', async () => {
    for (const label of ['a hit', 'three pipelined hits', 'Connection: close, then more requests (finding 3)', 'Proxy-Connection: close with two pipelined requests (finding 1)', 'Connection: U+00A0 close (finding 2)']) {
      const answers: string[] = [];
      for (const side of sides) {
        const stream = streamFor(HAND_MADE[label]!, side);
        answers.push(normalise(await exchange(side.jacket.url, [...stream].map((byte) => Buffer.of(byte)))));
      }
      assert.equal(answers[0], answers[1], `front and Node differ for ${label} written byte by byte`);
    }
  });

  test('generated heads: case, whitespace, connection tokens and odd bytes, seeded', async () => {
    const seed = Number(process.env.HOT_FRONT_SEED ?? Date.now() % 1_000_000);
    const next = seededRandom(seed);
    const pick = <T,>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
    const names = ['Connection', 'connection', 'CONNECTION', 'Proxy-Connection', 'X-Request-Id', 'If-None-Match', 'Accept', 'X-Other'];
    const values = ['close', 'keep-alive', ' close', 'close ', '\tclose', '\xa0close', 'close\xa0', 'Keep-Alive, close', 'upgrade', 'abc', '\xa0abc', '{etag}', '"x"', '', 'a\x01b', 'a\x7fb', 'a\x00b', '\x0bclose', 'close\x0c'];
    const started = Date.now();
    for (let round = 0; round < 40 && Date.now() - started < 15_000; round++) {
      const headers = Array.from({ length: 1 + Math.floor(next() * 3) }, () => `${pick(names)}:${pick(['', ' ', '\t'])}${pick(values)}\r\n`).join('');
      const template = get(headers) + (next() < 0.5 ? get() : '');
      try {
        await assertSame(template);
      } catch (error) {
        throw new Error(`seed ${seed} (HOT_FRONT_SEED=${seed} repeats it), round ${round}: ${(error as Error).message}`);
      }
    }
  });
});
