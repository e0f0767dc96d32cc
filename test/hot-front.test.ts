import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { RawClient, type RawResponse } from './helpers/raw-client.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const header = (response: RawResponse, name: string) => response.headers.get(name)?.[0];

describe('the hot front: hits answered from the socket, everything else handed to Node intact', () => {
  let jacket: RunningJacket;
  let id: number;
  let hitPath: string;
  let hitBytes: Buffer;
  let etag: string;

  before(async () => {
    jacket = await startJacket();
    const uploaded = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ isbn: '0385472579', data: { bytes: await makeImage(400, 600) } }) });
    id = (await uploaded.json()).id;
    hitPath = `/b/id/${id}-M.jpg`;
    // The first request is answered by the route and makes the URL hot.
    const first = await jacket.get(hitPath);
    assert.equal(first.status, 200);
    hitBytes = Buffer.from(await first.arrayBuffer());
    etag = first.headers.get('etag')!;
  });
  after(() => jacket.close());

  const front = () => jacket.services.hotResponses!.front!;
  const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: jacket.test\r\n${extra}\r\n`;

  test('pipelined hits on one connection: each answered in order, with the route\'s headers and a fresh request id', async () => {
    const client = await RawClient.connect(jacket.url);
    const answered = front().stats.answered;
    client.send(get(hitPath) + get(hitPath, 'X-Request-Id: trace-7\r\n') + get(hitPath, 'X-Request-Id: not sane!\r\n'));
    const responses = [await client.response(), await client.response(), await client.response()];
    for (const response of responses) {
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, hitBytes);
      assert.equal(header(response, 'content-type'), 'image/jpeg');
      assert.equal(header(response, 'content-length'), String(hitBytes.length));
      assert.equal(header(response, 'etag'), etag);
      assert.equal(header(response, 'access-control-allow-origin'), '*');
      assert.match(header(response, 'cache-control') ?? '', /max-age=/);
      assert.ok(Date.parse(header(response, 'date') ?? '') > Date.now() - 5000);
      assert.equal(header(response, 'connection'), 'keep-alive');
      assert.equal(response.headers.get('x-request-id')?.length, 1);
    }
    assert.notEqual(header(responses[0]!, 'x-request-id'), header(responses[2]!, 'x-request-id'));
    assert.equal(header(responses[1]!, 'x-request-id'), 'trace-7');
    assert.match(header(responses[2]!, 'x-request-id')!, /^[0-9a-f-]{36}$/, 'an insane id is replaced');
    assert.equal(front().stats.answered, answered + 3);
    client.close();
  });

  test('a request split into single bytes is still recognised', async () => {
    const client = await RawClient.connect(jacket.url);
    const answered = front().stats.answered;
    for (const byte of Buffer.from(get(hitPath), 'latin1')) {
      client.send(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const response = await client.response();
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, hitBytes);
    assert.equal(front().stats.answered, answered + 1);
    client.close();
  });

  test('a request the front does not take hands the connection to Node: the rest is answered in order by Fastify', async () => {
    const client = await RawClient.connect(jacket.url);
    const handedOff = front().stats.handedOff;
    const served = jacket.services.hotResponses!.stats.served;
    client.send(get(hitPath) + get(`/b/id/${id}.json`) + get(hitPath) + get('/b/id/999999-M.jpg?default=false'));
    const hot = await client.response();
    const json = await client.response();
    const hotAgain = await client.response();
    const missing = await client.response();
    assert.deepEqual(hot.body, hitBytes);
    assert.equal(json.status, 200);
    assert.equal(JSON.parse(json.body.toString()).id, id);
    assert.equal(hotAgain.status, 200);
    assert.deepEqual(hotAgain.body, hitBytes, 'after the hand-off, Node\'s request event still answers hot URLs');
    assert.equal(missing.status, 404);
    assert.equal(front().stats.handedOff, handedOff + 1);
    assert.equal(jacket.services.hotResponses!.stats.served, served + 2);
    client.close();
  });

  test('revalidation: a matching If-None-Match is a 304 without a body; a stale one gets the bytes', async () => {
    const client = await RawClient.connect(jacket.url);
    client.send(get(hitPath, `If-None-Match: "nope", W/${etag}\r\n`) + get(hitPath, 'If-None-Match: "stale"\r\n') + get(hitPath, `If-Modified-Since: ${new Date(Date.now() + 60_000).toUTCString()}\r\n`));
    const notModified = await client.response();
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.length, 0);
    assert.equal(header(notModified, 'etag'), etag);
    assert.equal(header(notModified, 'content-length'), undefined);
    const full = await client.response();
    assert.equal(full.status, 200);
    assert.deepEqual(full.body, hitBytes);
    const sinceLater = await client.response();
    assert.equal(sinceLater.status, 304);
    client.close();
  });

  test('Connection: close is honoured: the answer says so and the server closes', async () => {
    const client = await RawClient.connect(jacket.url);
    client.send(get(hitPath, 'Connection: close\r\n'));
    const response = await client.response();
    assert.equal(response.status, 200);
    assert.equal(header(response, 'connection'), 'close');
    await client.closed();
  });

  test('requests the strict grammar refuses reach Node\'s parser, which refuses them as before', async () => {
    const cases: Array<[string, string | Buffer, number]> = [
      ['no Host', `GET ${hitPath} HTTP/1.1\r\n\r\n`, 400],
      ['a space before the colon', `GET ${hitPath} HTTP/1.1\r\nHost : a\r\n\r\n`, 400],
      ['a control character in a value', `GET ${hitPath} HTTP/1.1\r\nHost: a\r\nX-Bad: a\x01b\r\n\r\n`, 400],
      ['a bare LF inside the head', `GET ${hitPath} HTTP/1.1\r\nHost: a\nX-Other: b\r\n\r\n`, 400],
      ['a head larger than the limit', `GET ${hitPath} HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ];
    const handedOff = front().stats.handedOff;
    for (const [name, request, status] of cases) {
      const client = await RawClient.connect(jacket.url);
      client.send(request);
      const response = await client.response();
      assert.equal(response.status, status, name);
      client.close();
    }
    // Two Host lines: Node accepts them, so the front only makes sure Node is the one deciding.
    const client = await RawClient.connect(jacket.url);
    client.send(`GET ${hitPath} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`);
    assert.equal((await client.response()).status, 200);
    client.close();
    assert.equal(front().stats.handedOff, handedOff + cases.length + 1);
  });

  test('a head trickling in slower than headersTimeout gets 408 and the connection is closed', async () => {
    const server = jacket.app.server;
    const saved = server.headersTimeout;
    server.headersTimeout = 200;
    try {
      const client = await RawClient.connect(jacket.url);
      client.send('GET /b/id/');
      await new Promise((resolve) => setTimeout(resolve, 300));
      client.send('1-M.jpg HTTP/1.1\r\n');
      const response = await client.response();
      assert.equal(response.status, 408);
      await client.closed();
      assert.equal(front().stats.headTimeouts, 1);
    } finally {
      server.headersTimeout = saved;
    }
  });

  test('a connection idle for longer than keepAliveTimeout is closed; one that keeps asking is not', async () => {
    const server = jacket.app.server;
    const saved = server.keepAliveTimeout;
    server.keepAliveTimeout = 600;
    try {
      const idleClosed = front().stats.idleClosed;
      const idle = await RawClient.connect(jacket.url);
      const busy = await RawClient.connect(jacket.url);
      idle.send(get(hitPath));
      assert.equal((await idle.response()).status, 200);
      const started = Date.now();
      // The busy connection asks every 200 ms, well past the idle one's limit.
      for (let i = 0; i < 8; i++) {
        busy.send(get(hitPath));
        const response = await busy.response();
        assert.equal(response.status, 200);
        assert.equal(header(response, 'keep-alive'), 'timeout=0');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await idle.closed();
      assert.ok(Date.now() - started >= 600, 'not closed before its time');
      assert.equal(front().stats.idleClosed, idleClosed + 1);
      busy.send(get(hitPath));
      assert.equal((await busy.response()).status, 200, 'the busy connection is still open');
      busy.close();
    } finally {
      server.keepAliveTimeout = saved;
    }
  });

  test('other shapes of request are Node\'s and Fastify\'s to answer, correctly', async () => {
    const handedOff = front().stats.handedOff;
    // HEAD: headers, no body.
    let client = await RawClient.connect(jacket.url);
    client.send(`HEAD ${hitPath} HTTP/1.1\r\nHost: a\r\n\r\n`);
    const head = await client.response(true);
    assert.equal(head.status, 200);
    assert.equal(header(head, 'content-length'), String(hitBytes.length));
    client.send(get(hitPath));
    assert.deepEqual((await client.response()).body, hitBytes);
    client.close();
    // HTTP/1.0.
    client = await RawClient.connect(jacket.url);
    client.send(`GET ${hitPath} HTTP/1.0\r\n\r\n`);
    const old = await client.response();
    assert.equal(old.status, 200);
    assert.deepEqual(old.body, hitBytes);
    client.close();
    // A body on a hot URL (Content-Length) is framed by Node: the body is never taken for the next request.
    client = await RawClient.connect(jacket.url);
    client.send(`GET ${hitPath} HTTP/1.1\r\nHost: a\r\nContent-Length: ${get(hitPath).length}\r\n\r\n${get(hitPath)}`);
    const withBody = await client.response();
    assert.equal(withBody.status, 200);
    client.send(get('/healthz'));
    const health = await client.response();
    assert.equal(health.status, 200, 'the smuggled request inside the body was not answered as a request');
    client.close();
    // A POST upload over a connection that began with a hit.
    client = await RawClient.connect(jacket.url);
    client.send(get(hitPath));
    assert.equal((await client.response()).status, 200);
    client.send(`POST /b/id/${id}-M.jpg HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n`);
    assert.ok([404, 405].includes((await client.response()).status));
    client.close();
    assert.equal(front().stats.handedOff, handedOff + 4);
  });

  test('a client that pipelines without reading is paused, then gets every answer intact', async () => {
    const client = await RawClient.connect(jacket.url);
    client.socket.pause();
    const count = 10_000; // 10,000 answers of a few KB: far more than the kernel's socket buffers and the 1 MB allowance
    const paused = front().stats.pausedForSlowReaders;
    client.send(get(hitPath).repeat(count));
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.socket.resume();
    for (let i = 0; i < count; i++) {
      const response = await client.response();
      assert.equal(response.status, 200);
      assert.equal(response.body.length, hitBytes.length);
    }
    assert.ok(front().stats.pausedForSlowReaders > paused, 'the front stopped reading while the answers waited');
    client.send(get(`/b/id/${id}.json`));
    assert.equal((await client.response()).status, 200);
    client.close();
  });

  test('a client that sends its requests and half-closes still gets every answer, then the connection closes', async () => {
    const client = await RawClient.connect(jacket.url);
    client.socket.pause();
    const count = 10_000;
    client.send(get(hitPath).repeat(count));
    client.socket.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.socket.resume();
    for (let i = 0; i < count; i++) assert.equal((await client.response()).status, 200);
    await client.closed();
  });

  test('a hit by identifier is answered by the front while the per-IP limit counts it; a write empties the front', async () => {
    const client = await RawClient.connect(jacket.url);
    const isbnPath = '/b/isbn/0385472579-M.jpg';
    client.send(get(isbnPath));
    assert.deepEqual((await client.response()).body, hitBytes);
    const answered = front().stats.answered;
    const fresh0 = await RawClient.connect(jacket.url);
    fresh0.send(get(isbnPath));
    const limited = await fresh0.response();
    assert.deepEqual(limited.body, hitBytes);
    assert.equal(front().stats.answered, answered + 1, 'the Open Library limit (on by default) counts it on the front');
    fresh0.close();
    const deleted = await jacket.get('/b/delete', { method: 'POST', headers: jacket.admin, body: new URLSearchParams({ id: String(id) }) });
    assert.equal(deleted.status, 200);
    client.send(get(hitPath + '?default=false'));
    assert.equal((await client.response()).status, 404);
    client.close();
    const fresh = await RawClient.connect(jacket.url);
    fresh.send(get(hitPath) + get(isbnPath));
    const [byId, byIsbn] = [await fresh.response(), await fresh.response()];
    assert.equal(byId.status, 200);
    assert.equal(header(byId, 'content-type'), 'image/gif', 'the deleted cover is gone from the front at once');
    assert.equal(header(byIsbn, 'content-type'), 'image/gif');
    fresh.close();
  });
});

describe('the hot front and the server lifecycle', () => {
  test('closing the server closes idle connections the front holds', async () => {
    const jacket = await startJacket();
    const uploaded = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes: await makeImage(300, 450) } }) });
    const path = `/b/id/${(await uploaded.json()).id}-S.jpg`;
    await (await jacket.get(path)).arrayBuffer();
    const client = await RawClient.connect(jacket.url);
    client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.equal((await client.response()).status, 200);
    assert.equal(jacket.services.hotResponses!.front!.stats.answered, 1);
    const started = Date.now();
    await jacket.close();
    assert.ok(Date.now() - started < 2000, 'close did not wait for the idle keep-alive connection');
    await client.closed();
  });

  test('with the per-IP limit off, identifier hits are answered by the front as well', async () => {
    const jacket = await startJacket({ JACKET_OL_RATE_LIMIT: 'off' });
    try {
      await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ isbn: '9780385472579', data: { bytes: await makeImage(300, 450) } }) });
      const path = '/b/isbn/978-0-385-47257-9-S.jpg';
      await (await jacket.get(path)).arrayBuffer();
      const client = await RawClient.connect(jacket.url);
      client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const response = await client.response();
      assert.equal(response.status, 200);
      assert.equal(header(response, 'content-type'), 'image/jpeg');
      assert.equal(jacket.services.hotResponses!.front!.stats.answered, 1);
      client.close();
    } finally {
      await jacket.close();
    }
  });

  test('JACKET_HOT_FRONT=false: no front, hits still answered from the hot table by Node\'s server', async () => {
    const jacket = await startJacket({ JACKET_HOT_FRONT: 'false' });
    try {
      assert.equal(jacket.services.hotResponses!.front, undefined);
      const uploaded = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes: await makeImage(300, 450) } }) });
      const path = `/b/id/${(await uploaded.json()).id}-S.jpg`;
      await (await jacket.get(path)).arrayBuffer();
      const served = jacket.services.hotResponses!.stats.served;
      const again = await jacket.get(path);
      assert.equal(again.status, 200);
      await again.arrayBuffer();
      assert.equal(jacket.services.hotResponses!.stats.served, served + 1);
    } finally {
      await jacket.close();
    }
  });
});
