/**
 * Headless Chromium for the browser tests: Debian's build at /usr/bin/chromium, driven by
 * playwright-core. A browser download by a test tool fails without internet access, so the
 * tests use the system build that scripts/setup.sh installs.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Chromium flags for a machine without internet access. `--no-sandbox` is needed as root. The
 * others stop Chromium from trying to reach update, sync and other outside services.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  /** The browser's one context; its pages share cookies, as tabs of one browser do. */
  context: BrowserContext;
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh profile (`--user-data-dir`) in a temporary folder.
 * `extraHTTPHeaders` go with every request of every page, such as an Authorization header.
 * playwright-core takes the profile folder as an argument of a persistent context and passes
 * it to Chromium as `--user-data-dir`.
 */
export async function launchBrowser(
  options: { extraHTTPHeaders?: Record<string, string> } = {},
): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing; run npm run setup, which installs Debian's chromium`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'graphium-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    extraHTTPHeaders: options.extraHTTPHeaders,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
