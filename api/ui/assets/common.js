/**
 * Helpers shared by the dashboard's page scripts: JSON requests that carry the session cookie,
 * and messages written with text nodes only, so no response text is ever parsed as HTML.
 */

/** Path of the login page, where a request without a valid session sends the browser. */
export const LOGIN_PATH = '/login';

/** A response outside 2xx and 304, with the API's error body when it sent one. */
export class ApiRequestError extends Error {
  constructor(status, body, fallback) {
    const error = body && typeof body === 'object' ? body.error : undefined;
    super(error?.message ?? fallback ?? `the request failed with status ${status}`);
    this.name = 'ApiRequestError';
    this.status = status;
    this.details = Array.isArray(error?.details) ? error.details : [];
  }
}

/**
 * Sends a request to the JSON API with the session cookie and returns the status, the parsed
 * body and the headers. A 401 sends the browser to the login page. Raises ApiRequestError for
 * any other status outside 2xx and 304.
 */
export async function apiRequest(method, path, body, extraHeaders = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    // The page manages ETags itself, so a 304 reaches the script instead of the browser cache.
    cache: 'no-store',
    headers: { Accept: 'application/json', ...extraHeaders },
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    window.location.assign(LOGIN_PATH);
    throw new ApiRequestError(401, undefined, 'the session has ended; log in again');
  }
  const text = await response.text();
  let parsed;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok && response.status !== 304) {
    throw new ApiRequestError(response.status, parsed, text.slice(0, 300) || undefined);
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Creates an element with attributes and children; strings become text nodes. */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** Empties a message region. */
export function clearRegion(region) {
  region.replaceChildren();
}

/** Writes an error into a region: its message, then one line per detail with its JSON path. */
export function showProblem(region, error) {
  const message = error instanceof Error ? error.message : String(error);
  const details = error instanceof ApiRequestError ? error.details : [];
  region.replaceChildren(element('p', {}, message));
  if (details.length > 0) {
    region.append(
      element(
        'ul',
        {},
        details.map((detail) => element('li', {}, element('code', {}, detail.path), `: ${detail.message}`)),
      ),
    );
  }
}

/** Writes a success message into a region. */
export function showNotice(region, text) {
  region.replaceChildren(element('p', {}, text));
}

const FLASH_KEY = 'graphium-dashboard-notice';

/** Keeps a message to show after the page reloads. */
export function flashNotice(text) {
  sessionStorage.setItem(FLASH_KEY, text);
}

/** Shows, once, a message kept by flashNotice before the last reload. */
export function showFlash(region) {
  const text = sessionStorage.getItem(FLASH_KEY);
  if (text === null) return;
  sessionStorage.removeItem(FLASH_KEY);
  showNotice(region, text);
}

/**
 * Disables the buttons while `work` runs, so a double click sends one request. Disabling the
 * focused button moves the focus to the page body, so a keyboard user would lose their place.
 * The focus therefore goes back to that button, unless `work` moved it to another element.
 */
export async function whileBusy(buttons, work) {
  const focused = [...buttons].find((button) => button === document.activeElement);
  for (const button of buttons) button.disabled = true;
  try {
    return await work();
  } finally {
    for (const button of buttons) button.disabled = false;
    const now = document.activeElement;
    if (focused && (now === null || now === document.body)) focused.focus();
  }
}
