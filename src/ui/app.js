// The shell: marks the current page in the menu, draws the sign-in control, then hands <main> to the page module
// named by the path. Every page is a full load of the same shell, so links and the back button just work.
import { api, clear, clearSession, getRole, getToken, h, notice, setSession, setTitle } from './lib.js';

const ROUTES = [
  { pattern: /^\/$/, module: './pages/home.js', nav: '/' },
  { pattern: /^\/ui\/collection$/, module: './pages/collection.js', nav: '/ui/collection' },
  { pattern: /^\/ui\/upload$/, module: './pages/upload.js', nav: '/ui/upload' },
  { pattern: /^\/ui\/moderation$/, module: './pages/moderation.js', nav: '/ui/moderation' },
  { pattern: /^\/ui\/keys$/, module: './pages/keys.js', nav: '/ui/keys' },
  { pattern: /^\/ui\/stats$/, module: './pages/stats.js', nav: '/ui/stats' },
  { pattern: /^\/ui\/cover\/([^/]+)$/, module: './pages/cover.js', nav: '/' },
  { pattern: /^\/ui\/release\/([^/]+)$/, module: './pages/release.js', nav: '/' },
];

/** Listeners (pages) that redraw when someone signs in or out. */
const sessionListeners = new Set();
export function onSessionChange(listener) {
  sessionListeners.add(listener);
}

function renderSession() {
  const slot = document.getElementById('session');
  const token = getToken();
  if (token) {
    const role = getRole() === 'admin' ? 'administrator' : 'upload key';
    clear(
      slot,
      h('span', { class: 'who' }, `Signed in (${role})`),
      h('button', { type: 'button', onclick: signOut }, 'Sign out'),
    );
  } else {
    clear(slot, h('button', { type: 'button', id: 'signin-toggle', 'aria-expanded': 'false', 'aria-controls': 'signin', onclick: () => toggleSignIn() }, 'Sign in'));
  }
}

function signOut() {
  clearSession();
  renderSession();
  for (const listener of sessionListeners) listener();
  document.getElementById('signin-toggle')?.focus();
}

/**
 * The start of a page for administrators only: its header, and for anyone else `sentence` with a sign-in button.
 * True when the page may go on. The page is drawn again on sign-in (as every page is, through onSessionChange).
 */
export function administratorsOnly(main, header, sentence) {
  if (getRole() === 'admin') return true;
  clear(main, header, notice('info', `${sentence} `, h('button', { type: 'button', class: 'secondary', onclick: () => toggleSignIn(true) }, 'Sign in with the admin token')));
  return false;
}

/** Open (or close) the sign-in form under the header. Exported so pages can offer "sign in to continue". */
export function toggleSignIn(open) {
  const existing = document.getElementById('signin');
  const toggle = document.getElementById('signin-toggle');
  if (existing && open !== true) {
    existing.remove();
    toggle?.setAttribute('aria-expanded', 'false');
    return;
  }
  if (existing) {
    existing.querySelector('input')?.focus();
    return;
  }
  const input = h('input', { type: 'password', id: 'signin-token', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { onsubmit: (event) => signIn(event, input, error) },
    h('label', { for: 'signin-token' }, 'Admin token or upload key', input),
    h('button', { type: 'submit' }, 'Sign in'),
    h('button', { type: 'button', class: 'secondary', onclick: () => toggleSignIn(false) }, 'Cancel'),
    h('p', { class: 'hint' }, 'Kept in this browser tab only (session storage) and sent as an Authorization header, never in a URL.'),
    error,
  );
  form.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    toggleSignIn(false);
    document.getElementById('signin-toggle')?.focus();
  });
  document.querySelector('.site-header').append(h('div', { class: 'signin', id: 'signin' }, form));
  toggle?.setAttribute('aria-expanded', 'true');
  input.focus();
}

async function signIn(event, input, error) {
  event.preventDefault();
  const token = input.value.trim();
  if (!token) return;
  // The moderation queue is administrator-only: 200 means admin, 403 a valid key without that right, 401 unknown.
  const probe = await api('/api/v1/moderation?limit=1', { token });
  if (probe.status === 401 || probe.status === 0) {
    error.hidden = false;
    error.textContent = probe.status === 0 ? probe.data.message : 'This token or key is not known to the server.';
    input.focus();
    return;
  }
  setSession(token, probe.status === 200 ? 'admin' : 'key');
  document.getElementById('signin')?.remove();
  renderSession();
  for (const listener of sessionListeners) listener();
}

async function start() {
  const path = location.pathname;
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  for (const link of document.querySelectorAll('.site-header nav a')) {
    if (route && link.getAttribute('href') === route.nav) link.setAttribute('aria-current', 'page');
  }
  renderSession();
  const main = document.getElementById('main');
  if (!route) {
    setTitle('Page not found');
    clear(
      main,
      h('h1', {}, 'Page not found'),
      h('p', {}, 'There is no page at ', h('code', {}, path), '. The address may be mistyped, or the page may have moved.'),
      h('ul', {}, h('li', {}, h('a', { href: '/' }, 'Find a cover from the home page')), h('li', {}, h('a', { href: '/ui/collection' }, 'Browse the collection'))),
    );
    return;
  }
  const match = route.pattern.exec(path);
  const page = await import(route.module);
  await page.render(main, ...match.slice(1).map((part) => decodeURIComponent(part)));
}

start();
