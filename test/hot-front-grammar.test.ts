import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePlainGet } from '../src/http/hot-front.ts';

/** The grammar the front takes, as the regular expression it is documented as (src/http/hot-front.ts). */
const PLAIN_GET = /^GET (\/[!-~]*) HTTP\/1\.1((?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t -~\x80-\xff]*)*)$/;

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

/** Mostly well-formed heads with one or two things wrong in places the grammar cares about. */
function head(next: () => number): string {
  const odd = () => pick(next, ['\r', '\n', '\t', ' ', ':', '\x00', '\x7f', '\x80', '\xff', 'é', '\x1f']);
  const maybe = (text: string) => (next() < 0.06 ? text.slice(0, Math.floor(next() * text.length)) + odd() + text.slice(Math.floor(next() * text.length)) : text);
  const method = next() < 0.9 ? 'GET' : pick(next, ['HEAD', 'get', 'POST', 'GETS']);
  const target = maybe(pick(next, ['/b/id/1-M.jpg', '/b/isbn/0385472579-L.jpg', '/', '/a?b=c&d=%20', '/x~!$&\'()*+,;=', 'http://a/b', '*']));
  const version = next() < 0.9 ? 'HTTP/1.1' : pick(next, ['HTTP/1.0', 'HTTP/1.10', 'http/1.1', 'HTTP/2']);
  let text = maybe(`${method} ${target} ${version}`);
  const lines = Math.floor(next() * 6);
  for (let i = 0; i < lines; i++) {
    const name = maybe(pick(next, ['Host', 'HOST', 'host', 'User-Agent', 'Accept', 'If-None-Match', 'X-Request-Id', 'Connection', 'Content-Length', 'Transfer-Encoding', 'Expect', 'Upgrade', 'If-Modified-Since', 'Proxy-Connection', "x!#$%&'*+.^_`|~9", '']));
    const value = maybe(pick(next, ['', ' a', 'a', ' "1-m" ', ' close', ' keep-alive, Upgrade', ' keep-alive', 'Keep-Alive\t', ' keep-alivex', ' \tweird\t', ' caf\xe9', ' \xa0close', ' trace-7\xa0', ' trace-7', ' 0']));
    text += `${pick(next, ['\r\n', '\r\n', '\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r', '\r\n '])}${name}${next() < 0.95 ? ':' : ' :'}${value}`;
  }
  return text;
}

test('the front\'s byte parser accepts exactly the heads its documented expression accepts, and reads them alike', () => {
  const next = random(20261121);
  let accepted = 0;
  for (let n = 0; n < 30_000; n++) {
    const text = head(next);
    // Parsed where it sits in a larger buffer, as the front does (bytes before and after are not looked at).
    const bytes = Buffer.from(`\r\n\r\n${text}\r\n\r\nGET`, 'latin1');
    const parsed = parsePlainGet(bytes, 4, 4 + Buffer.byteLength(text, 'latin1'));
    const match = PLAIN_GET.exec(text);
    assert.equal(parsed !== undefined, match !== null, `case ${n}: ${JSON.stringify(text)}`);
    if (!parsed || !match) continue;
    accepted++;
    assert.equal(parsed.target, match[1]);
    const lines = match[2]!.length > 0 ? match[2]!.slice(2).split('\r\n') : [];
    // Values lose the spaces and tabs around them, nothing else (llhttp keeps U+00A0, which String#trim would strip).
    const strip = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, '');
    const values = (name: string) => lines.filter((line) => line.slice(0, line.indexOf(':')).toLowerCase() === name).map((line) => strip(line.slice(line.indexOf(':') + 1)));
    const obsText = (name: string) => values(name).some((value) => /[\x80-\xff]/.test(value));
    assert.equal(parsed.hosts, values('host').length, JSON.stringify(text));
    const connection = values('connection').flatMap((value) => value.toLowerCase().split(',').map(strip));
    assert.equal(parsed.close, connection.includes('close'));
    const leave =
      values('content-length').length > 0 ||
      values('transfer-encoding').length > 0 ||
      values('expect').length > 0 ||
      values('upgrade').length > 0 ||
      connection.includes('upgrade') ||
      values('if-none-match').length > 1 ||
      values('if-modified-since').length > 1 ||
      values('x-request-id').length > 1 ||
      values('proxy-connection').length > 0 ||
      obsText('connection') ||
      obsText('x-request-id');
    assert.equal(parsed.leaveToNode, leave, JSON.stringify(text));
    if (!leave) {
      assert.equal(parsed.requestId, values('x-request-id')[0]);
      assert.equal(parsed.conditions['if-none-match'], values('if-none-match')[0]);
      assert.equal(parsed.conditions['if-modified-since'], values('if-modified-since')[0]);
    }
  }
  // The generator must exercise both sides, or the comparison proves little.
  assert.ok(accepted > 5_000 && accepted < 25_000, `accepted ${accepted} of 30000`);
});
