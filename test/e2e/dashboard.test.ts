/**
 * The web dashboard in headless Chromium against the real stack: three lab hosts, the Temporal
 * dev server, PostgreSQL, the API and a worker process. The browser logs in through the login
 * page and registers the hosts through the hosts form with the lab's TLS files. It deploys the
 * example stack through the deploy form with one service per host, follows it to running on the
 * stack page, tears it down, and watches a failing stack roll back. It saves screenshots of the
 * deploy form and the deployment map into docs/screenshots/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { LABELS, stackSlug } from '../../core/names';
import { ensureLab, type LabHost } from '../../lib/lab';
import { findPostgresBinaries, startTestPostgres, type TestPostgres } from '../db/postgres-server';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { containersWithLabel, labDocker, startTestGraphium, type TestGraphium } from '../support/graphium';

const EXAMPLE = JSON.parse(readFileSync(new URL('../../examples/three-hosts.json', import.meta.url), 'utf8'));
const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;

/** Maximum wait for a deployment or teardown to reach its outcome on the stack page. */
const OUTCOME_TIMEOUT_MS = 180_000;

let lab: LabHost[];
let postgres: TestPostgres;
let graphium: TestGraphium;
let browser: TestBrowser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  lab = await ensureLab(3);
  await removeLeftovers();
  const binDir = findPostgresBinaries();
  if (!binDir) throw new Error('PostgreSQL server binaries are missing; run npm run setup');
  postgres = await startTestPostgres(binDir);
  graphium = await startTestGraphium({
    temporalAddress: inject('temporalAddress'),
    databaseUrl: postgres.url,
  });
  await graphium.startWorker();
  // No Authorization header: the browser logs in through the login page in the first test.
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('dialog', (dialog) => void dialog.accept());
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await graphium?.stop();
  await postgres?.stop();
});

/** Removes containers an interrupted earlier run may have left, so host ports are free. */
async function removeLeftovers(): Promise<void> {
  for (const host of lab) {
    for (const container of await containersWithLabel(host, `${LABELS.managed}=true`)) {
      await labDocker(host).getContainer(container.Id).remove({ force: true });
    }
  }
}

/** Returns `service@host` for each container of a stack on the lab hosts, sorted. */
async function placedContainers(stackName: string): Promise<string[]> {
  const found: string[] = [];
  for (const host of lab) {
    for (const container of await containersWithLabel(host, `${LABELS.stack}=${stackSlug(stackName)}`)) {
      found.push(`${container.Labels[LABELS.service]}@${host.name}`);
    }
  }
  return found.sort();
}

function url(path: string): string {
  return `${graphium.apiUrl}${path}`;
}

/** Waits until the stack page, which reloads itself when the status changes, shows `status`. */
async function waitForStackStatus(status: string): Promise<void> {
  await page.locator(`#stack-status[data-status="${status}"]`).waitFor({ timeout: OUTCOME_TIMEOUT_MS });
}

async function textsOf(selector: string): Promise<string[]> {
  return (await page.locator(selector).allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim());
}

/** Fills the login form with `token` and submits it. */
async function submitLogin(token: string): Promise<void> {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
}

describe('dashboard in a browser', () => {
  it('logs in through the login page', async () => {
    await page.goto(url('/ui/hosts'));
    expect(page.url()).toBe(url('/login'));

    await submitLogin('not-the-token-of-this-run');
    await page.waitForURL(url('/login?error=invalid_token'));
    expect(await page.getByRole('alert').textContent()).toContain('matches no configured token');
    expect(await browser.context.cookies()).toEqual([]);

    await submitLogin(graphium.apiToken);
    await page.waitForURL(url('/ui'));
    expect(await page.locator('h1').textContent()).toBe('Stacks');
    const cookies = await browser.context.cookies();
    expect(cookies.map((cookie) => cookie.name)).toEqual(['graphium_session']);
    expect(cookies[0]!.httpOnly).toBe(true);
    expect(cookies[0]!.sameSite).toBe('Lax');
    expect(cookies[0]!.value).not.toContain(graphium.apiToken);
  });

  it('adds the lab hosts through the hosts form', async () => {
    for (const host of lab) {
      await page.goto(url('/ui/hosts'));
      await page.getByLabel('Name', { exact: true }).fill(host.name);
      // The lab daemons accept only mutual TLS on 2376, so the form gets the lab's PEM files too.
      await page.getByLabel('Docker endpoint').fill(host.tcp);
      await page.getByLabel('CA certificate path').fill(host.tls.ca);
      await page.getByLabel('Client certificate path').fill(host.tls.cert);
      await page.getByLabel('Client key path').fill(host.tls.key);
      await page.getByLabel('Address', { exact: true }).fill(host.address);
      await page.getByLabel('Datacenter').fill(host.datacenter);
      const labels = Object.entries(host.labels).map(([key, value]) => `${key}=${value}`);
      await page.getByLabel('Labels').fill(labels.join('\n'));
      await page.getByLabel('Image pull').selectOption('never');
      await page.getByRole('button', { name: 'Add host' }).click();

      await page.locator(`tr[data-host="${host.name}"]`).waitFor();
      expect(await page.locator('#hosts-notice').textContent()).toContain(
        `Registered host ${host.name}; its Docker daemon answered`,
      );
    }

    const rows = await textsOf('tbody tr');
    expect(rows).toHaveLength(3);
    for (const [index, host] of lab.entries()) {
      expect(rows[index]).toContain(host.name);
      expect(rows[index]).toContain('daemon: healthy');
      expect(rows[index]).toContain(host.datacenter);
      expect(rows[index]).toContain(`${host.tcp} (TLS)`);
      expect(rows[index]).toMatch(/\d+(\.\d+)? free of \d+/);
      expect(rows[index]).toMatch(/GiB free of [\d.]+ GiB|MiB free of/);
    }
  });

  it('deploys the example stack with one service per host', async () => {
    // Without the document's own pins, each service runs where the form puts it.
    const unpinned = {
      ...EXAMPLE,
      itemListElement: EXAMPLE.itemListElement.map(
        ({ targetHost: _pin, ...item }: Record<string, unknown>) => item,
      ),
    };
    const choices: Record<string, string> = { postgres: 'host1', cache: 'host2', app: 'host3' };
    await page.goto(url('/ui/deploy'));
    await page.getByLabel('Document (JSON)').fill(JSON.stringify(unpinned, null, 2));
    await page.getByLabel('Manual').check();
    for (const [service, host] of Object.entries(choices)) {
      const select = page.getByLabel(`Host of ${service}`);
      await select.selectOption(host);
      const capacity = page.locator(`#${await select.getAttribute('aria-describedby')}`);
      expect(await capacity.textContent()).toMatch(
        new RegExp(`^${host} \\(.+\\): [\\d.]+ of \\d+ CPUs free, `),
      );
    }
    await page.getByRole('button', { name: 'Plan' }).click();
    await page.locator('#plan-body tbody tr').nth(2).waitFor();

    const planned = await page
      .locator('#plan-body tbody tr')
      .evaluateAll((rows) =>
        rows.map((row) => [row.getAttribute('data-service'), row.querySelectorAll('td')[0]?.textContent]),
      );
    expect(Object.fromEntries(planned)).toEqual(choices);
    await page.screenshot({ path: `${SCREENSHOTS}deploy-form.png`, fullPage: true });

    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.waitForURL(url('/ui/stacks/distributed-app'));
    await waitForStackStatus('running');

    expect(await page.locator('#stack-status').textContent()).toBe('running');
    for (const [service, host] of Object.entries(choices)) {
      const address = lab.find((entry) => entry.name === host)!.address;
      const card = page.locator(`section.host[data-host="${host}"]`);
      expect(await card.locator('h3').textContent()).toBe(`${host} (${address})`);
      expect(await card.locator('li[data-service]').getAttribute('data-service')).toBe(service);
      expect((await card.textContent())!).toContain('health: healthy');
    }
    expect(await textsOf('section.host[data-host="host1"] li[data-service="postgres"] dd')).toContain(
      '5432->5432/tcp',
    );
    expect(await textsOf('li[data-service="app"] ul.connections li')).toEqual([
      `postgres @ ${lab[0]!.address}:5432`,
      `cache @ ${lab[1]!.address}:6379`,
    ]);
    expect(await page.locator('#temporal-link').getAttribute('href')).toMatch(
      /\/namespaces\/default\/workflows\/graphium-deploy-distributed-app\/[^/]+\/history$/,
    );
    expect(await placedContainers('Distributed App')).toEqual(['app@host3', 'cache@host2', 'postgres@host1']);
    await page.locator('#deployment-map').screenshot({ path: `${SCREENSHOTS}deployment-map.png` });
  });

  it('tears the stack down from its page', async () => {
    await page.goto(url('/ui/stacks/distributed-app'));
    await page.getByRole('button', { name: 'Tear down' }).click();
    await waitForStackStatus('removed');

    expect(await textsOf('#deployment-map .status')).toEqual([
      'health: removed',
      'health: removed',
      'health: removed',
    ]);
    expect(await placedContainers('Distributed App')).toEqual([]);
  });

  it('shows the rollback of a stack whose health check fails', async () => {
    await page.goto(url('/ui/deploy'));
    await page.getByLabel('Stack name').fill('Failing Check');
    await page.getByLabel('Container name').fill('never');
    await page.getByLabel('Image').fill('graphium/busybox:lab');
    await page.getByLabel('Command', { exact: true }).fill("trap 'exit 0' TERM; while :; do sleep 1; done");
    await page.getByLabel('Health check').selectOption('command');
    await page.getByLabel('Health command').fill('echo not ready yet; exit 1');
    for (const [label, value] of [
      ['Health interval (seconds)', '1'],
      ['Health timeout (seconds)', '1'],
      ['Health retries', '1'],
      ['Health start period (seconds)', '1'],
    ]) {
      await page.getByLabel(label!).fill(value!);
    }
    await page.getByRole('button', { name: 'Add container to the document' }).click();
    expect(await page.locator('#builder-notice').textContent()).toBe(
      'Added never as item 1 of the document.',
    );
    await page.getByLabel('Manual').check();
    await page.getByLabel('Host of never').selectOption('host2');
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.waitForURL(url('/ui/stacks/failing-check'));
    await waitForStackStatus('rolled_back');

    const causes = (await textsOf('#failure li')).join(' ');
    expect(causes).toContain('service never on host host2 did not turn healthy');
    expect(causes).toContain('not ready yet');
    expect(await textsOf('#rollback .status')).toEqual(['rollback: succeeded']);
    expect(await textsOf('#rollback li')).toEqual(['never on host2 (failing-check-never)']);
    expect(await page.locator('#redeploy-button').count()).toBe(1);
    expect(await placedContainers('Failing Check')).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
