/**
 * The stack page: polls the stack's JSON while its workflow may change it, updates the progress
 * table in place, and reloads the page when the status or the deployment changes. Also runs
 * the teardown and redeploy buttons.
 */
import {
  apiRequest,
  clearRegion,
  element,
  flashNotice,
  showFlash,
  showProblem,
  whileBusy,
} from './common.js';

const view = document.getElementById('stack-view');
const slug = view.dataset.stack;
const shownDeployment = view.dataset.deployment;
const shownStatus = view.dataset.status;
const problem = document.getElementById('stack-problem');
const stackPath = `/stacks/${encodeURIComponent(slug)}`;

/** Statuses that the workflow may still change; the page polls while the stack is in one. */
const CHANGING = new Set(['accepted', 'deploying', 'removing']);

/** Pause between polls, in milliseconds; each poll costs a 304 while nothing changes. */
const POLL_INTERVAL_MS = 1500;

/** Maximum pause after failed polls, in milliseconds. */
const MAX_BACKOFF_MS = 15000;

let etag;
let polling = false;

function stepCell(step) {
  const tone =
    { healthy: 'good', running: 'good', failed: 'bad', removed: 'quiet', pending: 'quiet' }[step] ?? 'busy';
  return element('span', { class: `status tone-${tone}`, 'data-status': step }, step);
}

/** Rewrites the progress table from the workflow's progress. */
function showProgress(progress) {
  const phase = document.getElementById('progress-phase');
  const rows = document.getElementById('progress-rows');
  if (!phase || !rows || !progress) return;
  phase.textContent = `Phase: ${progress.phase}.`;
  rows.replaceChildren(
    ...progress.services.map((service) =>
      element(
        'tr',
        { 'data-service': service.service },
        element('th', { scope: 'row' }, service.service),
        element('td', {}, service.host ?? 'not placed yet'),
        element('td', {}, stepCell(service.step)),
        element('td', {}, service.detail ?? ''),
      ),
    ),
  );
}

/** Polls once; returns true when the page should keep polling. */
async function pollOnce() {
  const headers = etag ? { 'If-None-Match': etag } : {};
  const { status, body, headers: responseHeaders } = await apiRequest('GET', stackPath, undefined, headers);
  if (status === 304) return true;
  etag = responseHeaders.get('ETag') ?? undefined;
  if (body.deploymentId !== shownDeployment || body.status !== shownStatus) {
    window.location.reload();
    return false;
  }
  showProgress(body.progress);
  return true;
}

/** Polls until the stack's deployment or status differs from the one shown, then reloads. */
async function poll() {
  if (polling) return;
  polling = true;
  let delay = POLL_INTERVAL_MS;
  for (;;) {
    try {
      if (!(await pollOnce())) return;
      delay = POLL_INTERVAL_MS;
      clearRegion(problem);
    } catch (error) {
      showProblem(problem, `Reading the stack failed, so the page retries: ${error.message}`);
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

const teardownButton = document.getElementById('teardown-button');
if (teardownButton) {
  teardownButton.addEventListener('click', async () => {
    if (!window.confirm(`Tear down ${slug}? Its containers, networks and volumes are removed.`)) return;
    const keepVolumes = document.getElementById('keep-volumes').checked;
    clearRegion(problem);
    await whileBusy([teardownButton], async () => {
      try {
        const { body } = await apiRequest('DELETE', `${stackPath}${keepVolumes ? '?keepVolumes=true' : ''}`);
        flashNotice(`Teardown ${body.teardownId} started.`);
        // The status stays as shown until the teardown workflow's first step, so poll for it.
        void poll();
      } catch (error) {
        showProblem(problem, error);
      }
    });
  });
}

const redeployButton = document.getElementById('redeploy-button');
if (redeployButton) {
  redeployButton.addEventListener('click', async () => {
    clearRegion(problem);
    await whileBusy([redeployButton], async () => {
      try {
        const { body } = await apiRequest('POST', `${stackPath}/redeploy`);
        flashNotice(`Deployment ${body.deploymentId} started.`);
        window.location.reload();
      } catch (error) {
        showProblem(problem, error);
      }
    });
  });
}

showFlash(document.getElementById('stack-notice'));
if (CHANGING.has(shownStatus)) void poll();
