// Mirror mode against upstreams that misbehave on purpose, all real local sockets: a redirect into the private
// network (or to loopback under another name), an upstream that never answers, one that sends a body a byte at a
// time, and one that sends without end. Each miss is answered clearly and bounded; nothing is stored half-made.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startJacket, type RunningJacket } from './helpers/server.ts';

/** What the hostile upstream does with the next request. */
type Behaviour = (request: http.IncomingMessage, response: http.ServerResponse) => void;

interface HostileUpstream {
  url: string;
  behaviour: Behaviour;
  /** Connections the upstream saw closed by the mirror (or ended), counted. */
  closed: number;
  /** Connections currently open. */
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

async function startHostileUpstream(): Promise<HostileUpstream> {
  const upstream: HostileUpstream = { url: '', behaviour: () => {}, closed: 0, sockets: new Set(), close: async () => {} };
  const { server, port } = await listen((request, response) => upstream.behaviour(request, response));
  server.on('connection', (socket) => {
    upstream.sockets.add(socket);
    socket.on('close', () => {
      upstream.sockets.delete(socket);
      upstream.closed++;
    });
  });
  // `localhost`, not 127.0.0.1: a redirect to 127.0.0.1 is then a different host on a loopback address.
  upstream.url = `http://localhost:${port}`;
  upstream.close = async () => {
    for (const socket of upstream.sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return upstream;
}

/** Resolves when `check` holds, polling; the test's own timeout bounds it. */
async function eventually(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('mirror mode with a hostile upstream', () => {
  let upstream: HostileUpstream;
  let internal: { server: http.Server; port: number };
  let internalRequests = 0;
  let openLibrary: RunningJacket;
  let coverArtArchive: RunningJacket;

  before(async () => {
    upstream = await startHostileUpstream();
    // A service inside the network that no upstream may send the mirror to.
    internal = await listen((_request, response) => {
      internalRequests++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"id": 1}');
    });
    const settings = { JACKET_UPSTREAM_RATE: '100/1s', JACKET_UPSTREAM_TIMEOUT_MS: '1500', JACKET_MAX_UPLOAD_BYTES: '200000' };
    openLibrary = await startJacket({ ...settings, JACKET_UPSTREAM_OPENLIBRARY: upstream.url });
    coverArtArchive = await startJacket({ ...settings, JACKET_UPSTREAM_COVERARTARCHIVE: upstream.url });
  });
  after(async () => {
    await openLibrary.close();
    await coverArtArchive.close();
    await upstream.close();
    await new Promise((resolve) => internal.server.close(resolve));
  });

  let isbn = 9780000000002;
  /** A fresh ISBN-13 each time (no negative cache or single flight shared between cases). */
  function nextIsbn(): string {
    for (;;) {
      isbn += 10;
      const digits = String(isbn).slice(0, 12);
      const sum = [...digits].reduce((total, digit, index) => total + Number(digit) * (index % 2 ? 3 : 1), 0);
      const candidate = digits + ((10 - (sum % 10)) % 10);
      if (candidate !== String(isbn)) return candidate;
    }
  }

  async function coverCount(jacket: RunningJacket): Promise<number> {
    const row = await jacket.services.db.selectFrom('covers').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  for (const target of ['http://127.0.0.1:{internal}/b/id/1.json', 'http://10.0.0.1/b/id/1.json', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:{internal}/', 'http://[::ffff:127.0.0.1]:{internal}/', 'http://2130706433:{internal}/']) {
    test(`a redirect to ${target} is not followed: 503 with Retry-After, the internal service never asked`, async () => {
      const location = target.replace('{internal}', String(internal.port));
      upstream.behaviour = (_request, response) => response.writeHead(302, { location }).end();
      const before = internalRequests;
      const response = await openLibrary.get(`/b/isbn/${nextIsbn()}-M.jpg`);
      assert.equal(response.status, 503);
      assert.ok(Number(response.headers.get('retry-after')) >= 1);
      const body = await response.json();
      assert.equal(body.error, 'upstream_redirect_refused', JSON.stringify(body));
      assert.match(body.message, /non-public address/);
      assert.equal(internalRequests, before, 'the internal service was never asked');
    });
  }

  test('the Cover Art Archive mirror does not follow a 307 into the private network either', async () => {
    upstream.behaviour = (_request, response) => response.writeHead(307, { location: `http://127.0.0.1:${internal.port}/release.json` }).end();
    const before = internalRequests;
    const response = await coverArtArchive.get('/release/76df3287-6cda-33eb-8e9a-044b5e15ffdd');
    assert.equal(response.status, 503);
    assert.ok(response.headers.get('retry-after'));
    // The Cover Art Archive dialect answers errors in plain text.
    assert.match(await response.text(), /non-public address/);
    assert.equal(internalRequests, before);
  });

  test('JACKET_SOURCE_URL_ALLOW_PRIVATE=true (a closed network) lets a redirect reach a private address on another host', async () => {
    const closedNetwork = await startJacket({ JACKET_UPSTREAM_OPENLIBRARY: upstream.url, JACKET_SOURCE_URL_ALLOW_PRIVATE: 'true' });
    try {
      upstream.behaviour = (_request, response) => response.writeHead(302, { location: `http://127.0.0.1:${internal.port}/b/id/1.json` }).end();
      const before = internalRequests;
      await (await closedNetwork.get(`/b/isbn/${nextIsbn()}-M.jpg`)).arrayBuffer();
      assert.ok(internalRequests > before, 'the redirect was followed');
    } finally {
      await closedNetwork.close();
    }
  });

  test('a redirect within the upstream host is followed', async () => {
    upstream.behaviour = (request, response) => {
      if (request.url!.startsWith('/b/')) response.writeHead(302, { location: '/moved/here.json' }).end();
      else response.writeHead(404).end();
    };
    // Followed to /moved/here.json, which is a 404: the cover is absent, answered per the dialect's rules.
    const response = await openLibrary.get(`/b/isbn/${nextIsbn()}-M.jpg?default=false`);
    assert.equal(response.status, 404, await response.text());
  });

  test('an upstream that never answers: 503 with Retry-After, the connection closed by the mirror', async () => {
    upstream.behaviour = () => {};
    const closedBefore = upstream.closed;
    const response = await openLibrary.get(`/b/isbn/${nextIsbn()}-M.jpg`);
    assert.equal(response.status, 503);
    assert.ok(response.headers.get('retry-after'));
    assert.equal((await response.json()).error, 'upstream_unreachable');
    await eventually(() => upstream.closed > closedBefore);
  });

  test('a body sent a byte at a time, without end: cut at the deadline, 503, nothing stored', async () => {
    const covers = await coverCount(openLibrary);
    upstream.behaviour = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"id": ');
      const drip = setInterval(() => response.write(' '), 50);
      response.on('close', () => clearInterval(drip));
    };
    const closedBefore = upstream.closed;
    const response = await openLibrary.get(`/b/isbn/${nextIsbn()}-M.jpg`);
    assert.equal(response.status, 503);
    assert.ok(response.headers.get('retry-after'));
    await eventually(() => upstream.closed > closedBefore);
    assert.equal(await coverCount(openLibrary), covers);
  });

  test('an image sent without end, as fast as the socket takes it: cut at JACKET_MAX_UPLOAD_BYTES, a miss, nothing stored', async () => {
    const covers = await coverCount(openLibrary);
    let sent = 0;
    upstream.behaviour = (request, response) => {
      if (request.url!.endsWith('.json')) {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"id": 4242}');
        return;
      }
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      const chunk = Buffer.alloc(64 * 1024, 0xff);
      const pump = () => {
        while (!response.destroyed && response.write(chunk)) sent += chunk.length;
      };
      response.on('drain', pump);
      pump();
    };
    const closedBefore = upstream.closed;
    const response = await openLibrary.get(`/b/isbn/${nextIsbn()}-M.jpg?default=false`);
    // More than this server would take is a cover it cannot have: absent, as the dialect answers absence.
    assert.equal(response.status, 404);
    await eventually(() => upstream.closed > closedBefore);
    assert.ok(sent < 50 * 200000, `the mirror stopped reading early (the upstream wrote ${sent} bytes)`);
    assert.equal(await coverCount(openLibrary), covers);
  });
});
