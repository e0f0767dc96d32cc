// Small helpers shared by every page: building DOM without innerHTML (catalogue data is never parsed as HTML),
// calling the server, and the signed-in credential (sessionStorage only, sent as a Bearer header, never in a URL).

const TOKEN_KEY = 'jacket.token';
const ROLE_KEY = 'jacket.role';

/** h('a', { href: '/' }, 'Home') → <a href="/">Home</a>. Attributes starting with `on` become listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A notice box; `error` notices are alerts so screen readers announce them at once. */
export function notice(kind, ...children) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function getRole() {
  return sessionStorage.getItem(ROLE_KEY) ?? undefined;
}

export function setSession(token, role) {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(ROLE_KEY, role);
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ROLE_KEY);
}

/**
 * fetch with the signed-in credential when `auth` is set (or a given `token`). Answers { ok, status, data } where
 * data is the parsed JSON body (or undefined); network failures become status 0 with a readable message.
 */
export async function api(path, { method = 'GET', body, json, auth = false, token, headers = {} } = {}) {
  const sendHeaders = { accept: 'application/json', ...headers };
  const credential = token ?? (auth ? getToken() : undefined);
  if (credential) sendHeaders.authorization = `Bearer ${credential}`;
  let payload = body;
  if (json !== undefined) {
    sendHeaders['content-type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, body: payload, headers: sendHeaders });
  } catch (error) {
    return { ok: false, status: 0, data: { message: `The server could not be reached (${error.message}).` } };
  }
  let data;
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      data = await response.json();
    } catch {
      data = undefined;
    }
  }
  return { ok: response.ok, status: response.status, data, url: response.url };
}

/**
 * POST a form with the signed-in credential, reporting the share sent so far to `onProgress(0…1)`; fetch cannot
 * report upload progress, XMLHttpRequest can. Answers as api() does.
 */
export function upload(path, body, onProgress) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('accept', 'application/json');
    if (getToken()) request.setRequestHeader('authorization', `Bearer ${getToken()}`);
    request.upload.addEventListener('progress', (event) => event.lengthComputable && onProgress(event.loaded / event.total));
    request.addEventListener('load', () => {
      let data;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        data = undefined;
      }
      resolve({ ok: request.status >= 200 && request.status < 300, status: request.status, data });
    });
    request.addEventListener('error', () => resolve({ ok: false, status: 0, data: { message: 'The server could not be reached.' } }));
    request.send(body);
  });
}

/** The human sentence of any of the server's error shapes. */
export function errorText(result) {
  const data = result.data ?? {};
  return data.detail ?? data.message ?? (typeof data.error === 'string' ? data.error : undefined) ?? `The server answered HTTP ${result.status}.`;
}

/** The machine side of an error, for reports and searching the documentation: `invalid_identifier · HTTP 400`. */
export function errorCode(result) {
  if (result.status === 0) return '';
  const code = typeof result.data?.error === 'string' ? result.data.error : undefined;
  return code ? `${code} · HTTP ${result.status}` : `HTTP ${result.status}`;
}

/** An error notice: the server's sentence, then its code in small print. */
export function errorNotice(prefix, result) {
  const code = errorCode(result);
  return notice('error', h('p', {}, prefix ? `${prefix} ${errorText(result)}` : errorText(result)), code ? h('p', { class: 'small' }, code) : null);
}

export function formatBytes(bytes) {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1000 * 1000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1000 / 1000).toFixed(1)} MB`;
}

function isbnCheckDigitRight(isbn) {
  const digits = [...isbn].map((c) => (c === 'X' ? 10 : Number(c)));
  if (digits.length === 10) return digits.reduce((sum, digit, i) => sum + (10 - i) * digit, 0) % 11 === 0;
  return digits.reduce((sum, digit, i) => sum + (i % 2 === 0 ? 1 : 3) * digit, 0) % 10 === 0;
}

/**
 * A sentence about the first ISBN in a comma-separated list whose check digit is wrong (so probably mistyped), or undefined. The server
 * keeps ISBN-shaped strings with a wrong check digit (real catalogues hold some), so the person is warned here.
 */
export function isbnWarning(list) {
  for (const raw of splitList(list)) {
    const isbn = raw.replace(/[\s-]/g, '').toUpperCase();
    // Other shapes are not ISBNs at all; the server refuses those with its own sentence.
    if ((/^\d{9}[\dX]$/.test(isbn) || /^\d{13}$/.test(isbn)) && !isbnCheckDigitRight(isbn)) return `The check digit of ISBN “${raw}” is wrong: it is probably mistyped.`;
  }
  return undefined;
}

/** "a, b ,c" → ['a', 'b', 'c']: how identifier fields take several values. */
export function splitList(text) {
  return text.split(',').map((part) => part.trim()).filter(Boolean);
}

/** The ISBN a scan's file name gives: `9780385472579.jpg`, `0-385-47257-9.png`, `0385472579_back.jpg` (before `_`). */
export function isbnFromFileName(name) {
  const stem = name.replace(/\.[^.]*$/, '').split('_')[0].trim();
  return /^[\d\s-]+[\dXx]$/.test(stem) ? stem.replace(/[\s-]/g, '').toUpperCase() : '';
}

export function formatDate(iso) {
  // Open Library's routes write UTC times without a zone, as coverstore does; JavaScript would read those as local.
  const date = new Date(typeof iso === 'string' && /T[\d:.]+$/.test(iso) ? `${iso}Z` : iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A URL on this server, absolute, for showing and copying. */
export function absolute(path) {
  return new URL(path, location.origin).toString();
}

export function urlRow(label, path, note) {
  return h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, h('a', { href: path }, h('code', {}, absolute(path)))), h('td', { class: 'muted small' }, note ?? ''));
}

/** A table of URLs; on a phone its rows stack (see style.css). */
export function urlTable(rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'urls' }, h('tbody', {}, rows)));
}

/**
 * Ask before something that cannot be undone, in a modal dialog (focus stays inside, Escape cancels). Resolves true
 * when the person confirms.
 */
export function confirmDialog({ title, text, confirm, keep = 'Cancel' }) {
  return new Promise((resolve) => {
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title' },
      h('h2', { id: 'confirm-title' }, title),
      h('p', {}, text),
      h('div', { class: 'row' }, h('button', { type: 'button', class: 'bad', onclick: () => finish(true) }, confirm), h('button', { type: 'button', class: 'secondary', onclick: () => finish(false) }, keep)),
    );
    dialog.addEventListener('cancel', () => resolve(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function setTitle(text) {
  document.title = `${text} · Jacket`;
}

export const MBID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const OLID_PATTERN = /^OL[1-9]\d{0,11}[MWA]$/i;
export const CATEGORY_OF_OLID = { M: 'b', W: 'w', A: 'a' };
