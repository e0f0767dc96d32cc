// Script-injection payloads in every stored text the web UI shows (a cover's author and source URL, a release image's
// comment, a key's name and contact) and in everything a visitor can put in a UI address or form, rendered by every
// /ui page in Chromium, twice: with the pages' Content-Security-Policy, which must report no violation, and with the
// policy bypassed, where no payload may run either — the pages must never turn data into markup or script.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { form, makeImage } from './helpers/images.ts';
import { launchBrowser, signIn, type TestBrowser } from './helpers/browser.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

/** Each payload calls __xss(name) if it ever runs, and leaves an <xss-probe> element if it is ever parsed as markup. */
const PAYLOADS = [
  `<xss-probe></xss-probe><img src=x onerror="__xss('img')">`,
  `"><script>__xss('script')</script>`,
  `javascript:__xss('url')`,
  `'><svg onload="__xss('svg')"><xss-probe/></svg>`,
  `</code></td></tr></table><iframe srcdoc="<script>parent.__xss('iframe')</script>"></iframe>`,
  `<style>@import "javascript:__xss('css')";</style><a href="javascript:__xss('link')">x</a>`,
  `\u2028\u2029<math><mtext><table><mglyph><style><img src=x onerror=__xss('mxss')>`,
];
const PAYLOAD = PAYLOADS.join(' ');
/** A piece of the payload that must be shown as text wherever the payload is rendered. */
const VISIBLE = `onerror="__xss('img')"`;

/** Runs before any page script: the marker payloads call, and the CSP violations the page reports. */
const INSTRUMENT = () => {
  const runs: string[] = [];
  const violations: string[] = [];
  Object.assign(window, { __xss: (name: string) => runs.push(name), __xssRuns: runs, __violations: violations });
  document.addEventListener('securitypolicyviolation', (event) => violations.push(`${event.violatedDirective} ${event.blockedURI}`));
};

interface Findings {
  runs: string[];
  violations: string[];
  /** Elements and attributes that only parsed payload markup could have made. */
  injected: string[];
  text: string;
}

async function findings(page: Page): Promise<Findings> {
  // Let lazy parts (images, follow-up requests) settle, so a late payload still counts.
  await page.waitForLoadState('networkidle');
  return page.evaluate(() => {
    const injected: string[] = [];
    const selectors = [
      'xss-probe',
      'script:not([src="/ui/assets/app.js"])',
      'iframe',
      'object',
      'embed',
      'base',
      'meta[http-equiv]',
      'math',
      'body svg',
      'style',
      '[href^="javascript:" i]',
      '[src^="javascript:" i]',
      '[href^="data:" i]',
    ];
    for (const selector of selectors) for (const element of document.querySelectorAll(selector)) injected.push(`${selector}: ${element.outerHTML.slice(0, 120)}`);
    // The UI attaches listeners with addEventListener: an on* attribute anywhere came from data.
    for (const element of document.querySelectorAll('*')) {
      for (const attribute of element.getAttributeNames()) if (attribute.startsWith('on')) injected.push(`${element.tagName} ${attribute}`);
    }
    const state = window as unknown as { __xssRuns: string[]; __violations: string[] };
    return { runs: [...state.__xssRuns], violations: [...state.__violations], injected, text: document.body.innerText };
  });
}

describe('the web UI never runs what it shows', () => {
  let jacket: RunningJacket;
  let images: http.Server;
  let imageHost: string;
  let bytes: Buffer;

  before(async () => {
    bytes = await makeImage(200, 300);
    // The source_url host: any path answers the image.
    images = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'image/jpeg' }).end(bytes));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageHost = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
    jacket = await startJacket({ JACKET_MODERATION: 'true', JACKET_SOURCE_URL_HOSTS: '127.0.0.1', JACKET_SOURCE_URL_ALLOW_PRIVATE: 'true', JACKET_KEY_SIGNUP: 'true' });
  });
  after(async () => {
    await jacket.close();
    await new Promise((resolve) => images.close(resolve));
  });

  /** The payload in every stored text field: two covers (author, source URL), a release image (comment), a key (name and contact, which must be short). */
  async function seed(release: string): Promise<{ coverIds: number[]; imageId: number }> {
    const authored = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ author: PAYLOAD, isbn: '9780385472579', data: { bytes } }) });
    assert.equal(authored.status, 200, await authored.clone().text());
    const fromUrl = await jacket.get('/b/upload2', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ author: PAYLOAD, source_url: `${imageHost}/cover.jpg?${PAYLOADS.map(encodeURIComponent).join('&')}#${PAYLOAD}` }),
    });
    assert.equal(fromUrl.status, 200, await fromUrl.clone().text());
    const image = await jacket.get(`/api/v1/releases/${release}/images`, { method: 'POST', headers: jacket.admin, body: form({ types: 'Front', comment: PAYLOAD, file: { bytes, type: 'image/jpeg' } }) });
    assert.equal(image.status, 201, await image.clone().text());
    const signup = await jacket.get('/api/v1/keys/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: PAYLOADS[0], contact: `x@example.org"><img src=x onerror=__xss('contact')>` }) });
    assert.equal(signup.status, 201, await signup.clone().text());
    return { coverIds: [(await authored.json()).id, (await fromUrl.json()).id], imageId: (await image.json()).id };
  }

  /** Every page, first with the seeded covers and image waiting for moderation, then approved; `expectText` proves the payload was shown. */
  async function visitEverything(browser: TestBrowser, label: string, release: string): Promise<void> {
    const { coverIds, imageId } = await seed(release);
    await browser.context.addInitScript(INSTRUMENT);
    const page = await browser.page();
    const visit = async (path: string, act?: () => Promise<void>, expectText = false) => {
      await page.goto(jacket.url + path);
      await page.locator('#main').waitFor();
      if (act) await act();
      const found = await findings(page);
      assert.deepEqual(found.runs, [], `${label} ${path}: a payload ran`);
      assert.deepEqual(found.violations, [], `${label} ${path}: the CSP reported a violation`);
      assert.deepEqual(found.injected, [], `${label} ${path}: payload markup was parsed`);
      if (expectText) assert.ok(found.text.includes(VISIBLE), `${label} ${path}: the payload is shown as text`);
    };

    await page.goto(`${jacket.url}/`);
    await signIn(page);
    await visit('/ui/moderation', undefined, true);
    for (const id of coverIds) await visit(`/ui/cover/${id}`, undefined, true);
    for (const id of coverIds) assert.equal((await jacket.get(`/api/v1/covers/${id}/approve`, { method: 'POST', headers: jacket.admin })).status, 200);
    assert.equal((await jacket.get(`/api/v1/images/${imageId}/approve`, { method: 'POST', headers: jacket.admin })).status, 200);
    await visit('/');
    for (const id of coverIds) await visit(`/ui/cover/${id}`, undefined, true);
    await visit(`/ui/release/${release}`, undefined, true);
    await visit('/ui/keys');
    await visit('/ui/upload');
    // What a visitor types or links to: the search box, the sign-up form, and UI addresses.
    await visit('/', async () => {
      await page.locator('#q').fill(PAYLOAD);
      await page.locator('#q').press('Enter');
      await page.locator('#search-results *').first().waitFor();
    });
    await visit('/ui/keys', async () => {
      await page.locator('#key-name').fill(PAYLOAD);
      await page.locator('#key-contact').fill(PAYLOAD);
      await page.locator('#key-contact').press('Enter');
      await page.locator('#new-key, .notice').first().waitFor();
    });
    for (const path of [`/ui/cover/${encodeURIComponent(PAYLOAD)}`, `/ui/release/${encodeURIComponent(PAYLOAD)}`, `/ui/${encodeURIComponent(PAYLOAD)}`, `/ui/upload?mbid=${encodeURIComponent(PAYLOAD)}`]) {
      await visit(path);
    }
    assert.deepEqual(browser.errors, [], `${label}: script errors or CSP reports in the console`);
  }

  test('with the Content-Security-Policy: no payload runs, nothing is reported', { timeout: 120_000 }, async () => {
    const browser = await launchBrowser();
    try {
      await visitEverything(browser, 'with CSP', '76df3287-6cda-33eb-8e9a-044b5e15ffdd');
    } finally {
      await browser.close();
    }
  });

  test('with the policy bypassed: still no payload runs (the pages never make markup of data)', { timeout: 120_000 }, async () => {
    const browser = await launchBrowser({ bypassCSP: true });
    try {
      await visitEverything(browser, 'without CSP', '99b09d02-9cc9-3fed-8431-f162165a9371');
    } finally {
      await browser.close();
    }
  });
});
