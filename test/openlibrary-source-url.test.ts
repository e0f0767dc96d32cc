import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { dimensionsOf, makeImage } from './helpers/images.ts';
import { hostAllowed, isAllowedAddress } from '../src/fetch/safe-fetch.ts';
import { listFiles, startJacket, type RunningJacket } from './helpers/server.ts';

test('allow-list patterns and address classes', () => {
  assert.equal(hostAllowed('covers.example.org', []), false);
  assert.equal(hostAllowed('covers.example.org', ['covers.example.org']), true);
  assert.equal(hostAllowed('COVERS.example.org', ['covers.example.org']), true);
  assert.equal(hostAllowed('a.covers.example.org', ['*.example.org']), true);
  assert.equal(hostAllowed('example.org', ['*.example.org']), false);
  assert.equal(hostAllowed('evilexample.org', ['*.example.org']), false);
  assert.equal(hostAllowed('anything.test', ['*']), true);
  for (const address of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']) {
    assert.equal(isAllowedAddress(address, false), true, address);
  }
  for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '172.16.5.4', '::1', 'fd00::1', '100.64.0.1', '::ffff:127.0.0.1']) {
    assert.equal(isAllowedAddress(address, false), false, address);
    assert.equal(isAllowedAddress(address, true), true, address);
  }
  for (const address of ['169.254.169.254', 'fe80::1', '0.0.0.0', '::', '224.0.0.1', '255.255.255.255', 'not-an-ip']) {
    assert.equal(isAllowedAddress(address, false), false, address);
    assert.equal(isAllowedAddress(address, true), false, address);
  }
});

/** A small origin server on 127.0.0.1 playing the remote image host. */
async function startOrigin(image: Buffer): Promise<{ url: string; port: number; server: http.Server }> {
  const server = http.createServer((request, response) => {
    const address = server.address() as AddressInfo;
    switch (request.url) {
      case '/cover.jpg':
        response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length });
        response.end(image);
        return;
      case '/redirect-same-host':
        response.writeHead(302, { location: '/cover.jpg' });
        response.end();
        return;
      case '/redirect-other-host':
        // localhost is the same machine, but not on the allow-list.
        response.writeHead(302, { location: `http://localhost:${address.port}/cover.jpg` });
        response.end();
        return;
      case '/redirect-link-local':
        response.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' });
        response.end();
        return;
      case '/redirect-loop':
        response.writeHead(302, { location: '/redirect-loop' });
        response.end();
        return;
      case '/big-declared':
        response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 10_000_000 });
        response.end();
        return;
      case '/big-chunked': {
        // No Content-Length: the cap must be enforced while streaming.
        response.writeHead(200, { 'content-type': 'image/jpeg' });
        let sent = 0;
        const chunk = Buffer.concat([image, Buffer.alloc(16 * 1024)]);
        const pump = () => {
          while (sent < 5_000_000) {
            sent += chunk.length;
            if (!response.write(chunk)) return void response.once('drain', pump);
          }
          response.end();
        };
        response.on('error', () => {});
        pump();
        return;
      }
      case '/slow':
        // Headers, a few bytes, then nothing: the deadline must cut it.
        response.writeHead(200, { 'content-type': 'image/jpeg' });
        response.write(image.subarray(0, 10));
        return;
      case '/drip': {
        // One byte every 100 ms: never idle long enough for a socket timeout, so only the overall deadline stops it.
        response.writeHead(200, { 'content-type': 'image/jpeg' });
        let index = 0;
        const timer = setInterval(() => {
          if (index >= image.length || response.destroyed) return clearInterval(timer);
          response.write(image.subarray(index, ++index));
        }, 100);
        response.on('close', () => clearInterval(timer));
        return;
      }
      case '/not-an-image':
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<html>hello</html>');
        return;
      default:
        response.writeHead(404);
        response.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, server };
}

async function uploadFrom(jacket: RunningJacket, sourceUrl: string, olid = 'OL1M'): Promise<{ status: number; body: any }> {
  const response = await jacket.get('/b/upload2', {
    method: 'POST',
    headers: jacket.admin,
    body: new URLSearchParams({ olid, source_url: sourceUrl }),
  });
  return { status: response.status, body: await response.json() };
}

describe('source_url downloads', () => {
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let image: Buffer;
  let open: RunningJacket;
  let closed: RunningJacket;
  let off: RunningJacket;

  before(async () => {
    image = await makeImage(500, 750);
    origin = await startOrigin(image);
    open = await startJacket({
      JACKET_SOURCE_URL_HOSTS: '127.0.0.1',
      JACKET_SOURCE_URL_ALLOW_PRIVATE: 'true',
      JACKET_MAX_UPLOAD_BYTES: '1000000',
      JACKET_SOURCE_URL_TIMEOUT_MS: '800',
    });
    closed = await startJacket({ JACKET_SOURCE_URL_HOSTS: '127.0.0.1,localhost' });
    off = await startJacket();
  });
  after(async () => {
    await Promise.all([open.close(), closed.close(), off.close()]);
    origin.server.closeAllConnections();
    await new Promise((resolve) => origin.server.close(resolve));
  });

  test('off by default: an empty allow-list refuses every URL with code 2', async () => {
    const result = await uploadFrom(off, `${origin.url}/cover.jpg`);
    assert.equal(result.status, 400);
    assert.equal(result.body.code, 2);
    assert.equal(result.body.error, 'source_url_not_allowed');
  });

  test('an allow-listed host works, the source_url is recorded, the bytes are identical', async () => {
    const result = await uploadFrom(open, `${origin.url}/cover.jpg`, 'OL2M');
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.ok, 'true');
    const original = Buffer.from(await (await open.get(`/b/id/${result.body.id}.jpg`)).arrayBuffer());
    assert.ok(original.equals(image));
    const json = await (await open.get(`/b/id/${result.body.id}.json`)).json();
    assert.equal(json.source_url, `${origin.url}/cover.jpg`);
    assert.deepEqual(await dimensionsOf(await (await open.get('/b/olid/OL2M-M.jpg')).arrayBuffer()), { width: 180, height: 270, format: 'jpeg' });

    const multipart = new FormData();
    multipart.append('olid', 'OL3M');
    multipart.append('source_url', `${origin.url}/redirect-same-host`);
    const viaRedirect = await open.get('/b/upload2', { method: 'POST', headers: open.admin, body: multipart });
    assert.equal(viaRedirect.status, 200);
  });

  test('the legacy form downloads source_url too', async () => {
    const response = await open.get('/b/upload', {
      method: 'POST',
      headers: open.admin,
      body: new URLSearchParams({ olid: 'OL4M', source_url: `${origin.url}/cover.jpg`, success_url: '/thanks' }),
    });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/thanks');
    assert.equal((await open.get('/b/olid/OL4M-S.jpg?default=false')).status, 200);
    const refused = await off.get('/b/upload', {
      method: 'POST',
      headers: off.admin,
      body: new URLSearchParams({ olid: 'OL4M', source_url: `${origin.url}/cover.jpg`, failure_url: '/failed' }),
    });
    assert.equal(refused.status, 303);
    assert.equal(new URL(refused.headers.get('location')!, 'http://x').searchParams.get('errcode'), '2');
  });

  test('loopback refused unless private addresses are allowed', async () => {
    for (const url of [`${origin.url}/cover.jpg`, `http://localhost:${origin.port}/cover.jpg`]) {
      const result = await uploadFrom(closed, url);
      assert.equal(result.status, 400, url);
      assert.equal(result.body.code, 2);
      assert.equal(result.body.error, 'source_url_private');
    }
  });

  test('redirects to a host off the list, to link-local addresses, or in a loop are refused', async () => {
    for (const [path, error] of [
      ['/redirect-other-host', 'source_url_not_allowed'],
      ['/redirect-loop', 'source_url_redirects'],
    ]) {
      const result = await uploadFrom(open, `${origin.url}${path}`);
      assert.equal(result.status, 400, path);
      assert.equal(result.body.code, 2);
      assert.equal(result.body.error, error, path);
    }
    // Link-local (cloud metadata) stays refused even with private addresses allowed and the host allow-listed.
    const metadata = await startJacket({ JACKET_SOURCE_URL_HOSTS: '127.0.0.1,169.254.169.254', JACKET_SOURCE_URL_ALLOW_PRIVATE: 'true' });
    try {
      const result = await uploadFrom(metadata, `${origin.url}/redirect-link-local`);
      assert.equal(result.status, 400);
      assert.equal(result.body.code, 2);
      assert.equal(result.body.error, 'source_url_private');
    } finally {
      await metadata.close();
    }
  });

  test('the byte cap holds with and without Content-Length; the deadline holds', async () => {
    const blobs = await listFiles(`${open.dataDir}/blobs`);
    for (const path of ['/big-declared', '/big-chunked']) {
      const result = await uploadFrom(open, `${origin.url}${path}`);
      assert.equal(result.status, 413, path);
      assert.equal(result.body.error, 'source_url_too_large');
      assert.equal(result.body.code, 2);
    }
    const slow = await uploadFrom(open, `${origin.url}/slow`);
    assert.equal(slow.status, 400);
    assert.equal(slow.body.error, 'source_url_timeout');
    assert.equal(slow.body.code, 2);
    const drip = await uploadFrom(open, `${origin.url}/drip`);
    assert.equal(drip.status, 400);
    assert.equal(drip.body.error, 'source_url_timeout');
    const missing = await uploadFrom(open, `${origin.url}/nothing-here`);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'source_url_failed');
    const html = await uploadFrom(open, `${origin.url}/not-an-image`);
    assert.equal(html.status, 400);
    assert.equal(html.body.code, 3);
    assert.deepEqual(await listFiles(`${open.dataDir}/blobs`), blobs);
    // Still serving.
    assert.equal((await open.get('/b/olid/OL2M-S.jpg?default=false')).status, 200);
  });
});
