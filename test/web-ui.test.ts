import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startJacket, type RunningJacket } from './helpers/server.ts';

describe('web UI files', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  test('every page is the same shell, with a strict content security policy and nothing from other hosts', async () => {
    const home = await jacket.get('/');
    assert.equal(home.status, 200);
    assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = home.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    const html = await home.text();
    assert.doesNotMatch(html, /https?:\/\//, 'no CDN, font service or other host');
    assert.match(html, /href="\/docs"/);
    for (const path of ['/ui/collection', '/ui/upload', '/ui/moderation', '/ui/keys', '/ui/stats', '/ui/cover/1', '/ui/release/76df3287-6cda-33eb-8e9a-044b5e15ffdd']) {
      const page = await jacket.get(path);
      assert.equal(page.status, 200, path);
      assert.equal(await page.text(), html, path);
    }
    for (const path of ['/ui/nothing', '/ui/cover/1/extra', '/ui/uplaod']) {
      const missing = await jacket.get(path);
      assert.equal(missing.status, 404, path);
      assert.equal(missing.headers.get('content-type'), 'text/html; charset=utf-8', `${path}: a page a person can read, not JSON`);
      assert.equal(await missing.text(), html, path);
    }
    const asset = await jacket.get('/ui/assets/nothing.js');
    assert.equal(asset.status, 404);
    assert.equal((await asset.json()).error, 'not_found', 'a missing asset stays a machine answer');
  });

  test('assets are served with their types and revalidate with ETags', async () => {
    for (const [path, type] of [
      ['/ui/assets/app.js', 'text/javascript; charset=utf-8'],
      ['/ui/assets/pages/home.js', 'text/javascript; charset=utf-8'],
      ['/ui/assets/style.css', 'text/css; charset=utf-8'],
      ['/ui/assets/favicon.svg', 'image/svg+xml'],
    ]) {
      const response = await jacket.get(path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), type, path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      const etag = response.headers.get('etag')!;
      const again = await jacket.get(path, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304, path);
      const source = await response.text();
      assert.doesNotMatch(source, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${path} loads nothing from another host`);
    }
    for (const path of ['/ui/assets/missing.js', '/ui/assets/../http/home.ts', '/ui/assets/index.html', '/ui/assets/%2e%2e/app.ts']) {
      assert.equal((await jacket.get(path)).status, 404, path);
    }
  });
});
