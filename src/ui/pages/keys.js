import { onSessionChange } from '../app.js';
import { api, clear, errorNotice, errorText, formatDate, getRole, h, notice, setTitle } from '../lib.js';
import { adminPanel } from './keys-admin.js';
import { secretNotice } from '../key-secret.js';

function usageView(usage) {
  const reset = new Date(usage.resetAt);
  return h(
    'div',
    { id: 'usage-figures' },
    h(
      'div',
      { class: 'usage' },
      h('div', {}, h('span', { class: 'number', id: 'usage-counted' }, String(usage.counted)), 'counted today'),
      h('div', {}, h('span', { class: 'number', id: 'usage-limit' }, String(usage.limit)), 'daily limit'),
      h('div', {}, h('span', { class: 'number', id: 'usage-remaining' }, String(usage.remaining)), 'remaining'),
    ),
    h('label', { for: 'usage-meter', class: 'small' }, 'Used today'),
    h('meter', { id: 'usage-meter', min: 0, max: usage.limit, value: usage.counted, low: usage.limit * 0.7, high: usage.limit * 0.9, optimum: 0 }, `${usage.counted} of ${usage.limit}`),
    h('p', { class: 'small muted' }, 'Resets ', Number.isNaN(reset.getTime()) ? usage.resetAt : h('time', { datetime: usage.resetAt }, `${formatDate(usage.resetAt)} (${usage.resetAt})`), '. Only images made from the original count; sizes already made are free.'),
  );
}

async function showUsage(key, output) {
  if (!key) {
    clear(output, notice('error', 'Paste a developer key to see its usage.'));
    return;
  }
  clear(output, h('p', { class: 'muted' }, 'Loading…'));
  // The usage call is keyed by URL, as the keyed cover URLs are; it is fetched, never put in the page address.
  const answer = await api(`/devkey/${encodeURIComponent(key)}/usage`);
  if (!answer.ok) {
    clear(output, notice('error', answer.status === 403 || answer.status === 404 ? 'This key is not known, or it was revoked.' : errorText(answer)));
    return;
  }
  clear(output, usageView(answer.data));
}

async function signUp(event, form, output, usageInput, usageOutput) {
  event.preventDefault();
  const name = form.querySelector('#key-name').value.trim();
  const contact = form.querySelector('#key-contact').value.trim();
  if (!name || !contact) {
    clear(output, notice('error', !name ? 'Give a name for the key (you or your project).' : 'Give a contact (an email address or a URL) so the administrator can reach you.'));
    form.querySelector(!name ? '#key-name' : '#key-contact').focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  const answer = await api('/api/v1/keys/signup', { method: 'POST', json: { name, contact } });
  button.disabled = false;
  if (answer.status === 403 && answer.data?.error === 'signup_disabled') {
    clear(output, notice('warn', 'Self-service sign-up is turned off on this server. Ask its administrator for a key.'));
    return;
  }
  if (answer.status !== 201 || !answer.data?.key) {
    clear(output, errorNotice('The key could not be created:', answer));
    return;
  }
  const { key, dailyLimit } = answer.data;
  clear(output, secretNotice(key, dailyLimit));
  form.reset();
  usageInput.value = key;
  await showUsage(key, usageOutput);
}

let listening = false;

export async function render(main) {
  setTitle('Developer keys');
  if (!listening) onSessionChange(() => render(main));
  listening = true;
  const usageInput = h('input', { type: 'password', id: 'usage-key', name: 'key', autocomplete: 'off', spellcheck: 'false' });
  const usageOutput = h('div', { id: 'usage-result', 'aria-live': 'polite' });
  const signupOutput = h('div', { id: 'signup-result', 'aria-live': 'polite' });
  const signupForm = h(
    'form',
    { id: 'signup-form', novalidate: true },
    h('div', { class: 'stack' },
      h('div', { class: 'field' }, h('label', { for: 'key-name' }, 'Name', h('span', { class: 'help' }, ' you, your library or your project')), h('input', { type: 'text', id: 'key-name', name: 'name', autocomplete: 'name', required: true })),
      h('div', { class: 'field' }, h('label', { for: 'key-contact' }, 'Contact', h('span', { class: 'help' }, ' an email address or URL')), h('input', { type: 'text', id: 'key-contact', name: 'contact', autocomplete: 'email', required: true })),
      h('button', { type: 'submit' }, 'Get a key'),
    ),
  );
  signupForm.addEventListener('submit', (event) => signUp(event, signupForm, signupOutput, usageInput, usageOutput));
  const usageForm = h(
    'form',
    {
      id: 'usage-form',
      onsubmit: (event) => {
        event.preventDefault();
        showUsage(usageInput.value.trim(), usageOutput);
      },
    },
    h('div', { class: 'stack' }, h('div', { class: 'field' }, h('label', { for: 'usage-key' }, 'Developer key'), usageInput), h('button', { type: 'submit' }, 'Show usage')),
  );
  clear(
    main,
    h('h1', {}, 'Developer keys'),
    h('p', { class: 'lede' }, 'A key opens the LibraryThing-style keyed cover URLs, ', h('code', {}, '/devkey/KEY/medium/isbn/ISBN'), ', and lifts the per-address lookup limit on the Open Library API.'),
    getRole() === 'admin' ? adminPanel() : null,
    h(
      'div',
      { class: 'two-col' },
      h('section', { class: 'panel', 'aria-labelledby': 'signup-title' }, h('h2', { id: 'signup-title' }, 'Get a key'), signupForm, signupOutput),
      h('section', { class: 'panel', 'aria-labelledby': 'usage-title' }, h('h2', { id: 'usage-title' }, 'Usage today'), usageForm, usageOutput),
    ),
  );
}
