// The real browser the HTML reports are checked in: Debian's chromium (/usr/bin/chromium,
// `apt-get install chromium`; .ci/run installs it), headless, driven by playwright-core.
// Nothing reaches the network: the flags turn off what Chromium fetches on its own, the
// profile is a fresh directory, and every request a page makes is refused and recorded.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.MALLOC_LAB_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser cannot start here, or undefined when it can. */
export function browserMissing() {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`;
}

/**
 * A headless Chromium with a fresh profile. `open(file, width)` loads a local page at a
 * viewport width and collects its console errors, uncaught exceptions and any request
 * for something other than the file itself (refused: the page must need nothing else).
 */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'malloc-lab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    offline: true,
    viewport: { width: 1280, height: 900 },
  });
  return {
    async open(file, width, height = 900) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      const errors = [];
      const requests = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(String(error)));
      const url = `file://${file}`;
      await page.route('**/*', (route) => {
        if (route.request().url() === url) return route.continue();
        requests.push(route.request().url());
        return route.abort();
      });
      await page.goto(url, { waitUntil: 'load' });
      return { page, errors, requests };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
