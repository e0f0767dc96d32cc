import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { createRequire } from 'node:module';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_TOKEN, startJacket, type RunningJacket } from './server.ts';

/** Debian's chromium (installed by .ci/run), never a downloaded browser. */
export const CHROMIUM = process.env.JACKET_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(import.meta.dirname, '..', '..', 'artifacts', 'screenshots');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 812 };

export interface TestBrowser {
  context: BrowserContext;
  /** Script errors and console errors (CSP violations included) on pages opened through `page()`; tests assert none. */
  errors: Error[];
  page(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * A real browser with a fresh profile in a temp dir, removed afterwards: nothing carries over between runs.
 * `bypassCSP` ignores the pages' Content-Security-Policy, to see what a page would do without that safety net.
 */
export async function launchBrowser(options: { bypassCSP?: boolean } = {}): Promise<TestBrowser> {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'jacket-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    bypassCSP: options.bypassCSP ?? false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  // Fail within seconds, not the default 30 s per step: pages here answer from a local server.
  context.setDefaultTimeout(15_000);
  const errors: Error[] = [];
  return {
    context,
    errors,
    async page() {
      const page = await context.newPage();
      page.on('pageerror', (error) => errors.push(error));
      page.on('console', (message) => {
        // A failed request the test provoked on purpose (401, 404) is logged by the browser as an error; those are
        // asserted by the tests themselves. Everything else — CSP violations, script errors — is a failure.
        if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of (4\d\d)/.test(message.text())) {
          errors.push(new Error(`console: ${message.text()}`));
        }
      });
      return page;
    },
    async close() {
      await context.close();
      await fs.rm(profile, { recursive: true, force: true });
    },
  };
}

/** Save the page at desktop and phone width as artifacts/screenshots/{name}-{desktop|phone}.png. */
export async function screenshots(page: Page, name: string): Promise<void> {
  await fs.mkdir(SCREENSHOTS, { recursive: true });
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

const AXE_SOURCE = await fs.readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const IMPACTS = ['minor', 'moderate', 'serious', 'critical'];

/**
 * axe-core's accessibility rules over the page as it is drawn now: the violations at `minimumImpact` or worse, as
 * "rule (impact): targets" lines for the assertion message. The script goes in through the devtools protocol, which
 * the page's strict CSP does not govern, so the page keeps the policy it is served with.
 */
export async function accessibilityViolations(page: Page, minimumImpact: 'minor' | 'serious' = 'minor'): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map(({ id, impact, nodes }) => ({ id, impact, targets: nodes.map((node) => node.target.join(' ')) }));
  });
  return violations
    .filter((violation) => IMPACTS.indexOf(violation.impact) >= IMPACTS.indexOf(minimumImpact))
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.targets.slice(0, 5).join(', ')}`);
}

/** Sign in through the header control, the way a person does (optionally with a screenshot of the open form). */
export async function signIn(page: Page, token = ADMIN_TOKEN, screenshot?: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign in' }).first().click();
  if (screenshot) await screenshots(page, screenshot);
  await page.getByLabel('Admin token or upload key').fill(token);
  await page.locator('#signin form').getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in (administrator)').waitFor();
}

/**
 * Inside a `describe`: a Jacket (with `env`) and a browser before its tests, both closed after them. `ready` gets them
 * once started (and may seed the catalogue first).
 */
export function useJacketInBrowser(env: Record<string, string>, ready: (jacket: RunningJacket, browser: TestBrowser) => void | Promise<void>): void {
  let jacket: RunningJacket | undefined;
  let browser: TestBrowser | undefined;
  before(async () => {
    jacket = await startJacket(env);
    browser = await launchBrowser();
    await ready(jacket, browser);
  });
  after(async () => {
    await browser?.close();
    await jacket?.close();
  });
}
