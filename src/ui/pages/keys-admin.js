// Developer keys for the administrator: every key with today's use against its limit, a form to make one (the secret
// is shown once), and revocation after a confirmation.
import { api, clear, confirmDialog, errorNotice, formatDate, h, notice } from '../lib.js';
import { secretNotice } from '../key-secret.js';

function field(id, label, help, attributes = {}) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('input', { type: 'text', id, name: id, autocomplete: 'off', 'aria-describedby': help ? `${id}-help` : undefined, ...attributes }),
    help ? h('span', { class: 'help', id: `${id}-help` }, help) : null,
  );
}

function usageCell(key) {
  const used = key.countedToday ?? 0;
  return h(
    'td',
    {},
    h('meter', { min: 0, max: Math.max(key.dailyLimit, 1), value: used, low: key.dailyLimit * 0.7, high: key.dailyLimit * 0.9, optimum: 0, 'aria-label': `${key.name}: ${used} of ${key.dailyLimit} used today` }),
    h('span', { class: 'small' }, `${used} of ${key.dailyLimit}`),
  );
}

function keyRow(key, refresh, announce) {
  async function revoke() {
    const sure = await confirmDialog({
      title: `Revoke the key “${key.name}”?`,
      text: 'Requests with it are refused at once, on every instance. A revoked key cannot be turned back on; make a new one instead.',
      confirm: 'Revoke the key',
      keep: 'Keep it',
    });
    if (!sure) return;
    const answer = await api(`/api/v1/keys/${encodeURIComponent(key.id)}`, { method: 'DELETE', auth: true });
    if (!answer.ok) {
      announce(errorNotice('Not revoked:', answer));
      return;
    }
    announce(notice('ok', `The key “${key.name}” is revoked.`));
    await refresh();
  }
  return h(
    'tr',
    { class: key.revoked ? 'revoked' : undefined },
    h('th', { scope: 'row' }, key.name, h('div', { class: 'small muted mono' }, key.id)),
    h('td', { class: 'small' }, key.contact ?? '—'),
    h('td', { class: 'small' }, formatDate(key.createdAt)),
    usageCell(key),
    h('td', { class: 'small' }, key.permissions.includes('upload') ? 'fetch and upload' : 'fetch'),
    h('td', {}, key.revoked ? h('span', { class: 'badge rejected' }, 'revoked') : h('button', { type: 'button', class: 'secondary', onclick: revoke }, 'Revoke', h('span', { class: 'visually-hidden' }, ` ${key.name}`))),
  );
}

export function adminPanel() {
  const list = h('div', { id: 'key-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const live = h('div', { id: 'key-admin-result', 'aria-live': 'polite' });
  const announce = (message) => clear(live, message);

  async function refresh() {
    const answer = await api('/api/v1/keys', { auth: true });
    if (!answer.ok) {
      clear(list, errorNotice('', answer));
      return;
    }
    const keys = answer.data.keys;
    clear(
      list,
      keys.length === 0
        ? h('p', { class: 'muted' }, 'No keys yet.')
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'keys', id: 'keys-table' },
              h('caption', { class: 'visually-hidden' }, 'Developer keys'),
              h('thead', {}, h('tr', {}, ['Name', 'Contact', 'Made', 'Used today', 'May', 'State'].map((title) => h('th', { scope: 'col' }, title)))),
              h('tbody', {}, keys.map((key) => keyRow(key, refresh, announce))),
            ),
          ),
    );
  }

  const form = h(
    'form',
    { id: 'create-key-form', novalidate: true },
    h(
      'div',
      { class: 'grid-fields' },
      field('new-key-name', 'Name', 'the library or project using it'),
      field('new-key-contact', 'Contact', 'optional: an email address or URL'),
      field('new-key-limit', 'Daily limit', 'optional: new images a day; empty for the server default', { inputmode: 'numeric' }),
      field('new-key-rate', 'Rate limit', 'optional, e.g. 10/1s, or off'),
    ),
    h('div', { class: 'choices' }, h('label', {}, h('input', { type: 'checkbox', id: 'new-key-upload' }), 'May upload covers')),
    h('div', { class: 'row actions' }, h('button', { type: 'submit' }, 'Make the key')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = (id) => form.querySelector(`#${id}`).value.trim();
    if (!value('new-key-name')) {
      announce(notice('error', 'Give the key a name.'));
      form.querySelector('#new-key-name').focus();
      return;
    }
    const body = { name: value('new-key-name') };
    if (value('new-key-contact')) body.contact = value('new-key-contact');
    if (value('new-key-limit')) body.dailyLimit = value('new-key-limit');
    if (value('new-key-rate')) body.rateLimit = value('new-key-rate');
    if (form.querySelector('#new-key-upload').checked) body.permissions = ['upload'];
    const answer = await api('/api/v1/keys', { method: 'POST', json: body, auth: true });
    if (answer.status !== 201) {
      announce(errorNotice('The key was not made:', answer));
      return;
    }
    form.reset();
    announce(secretNotice(answer.data.key, answer.data.dailyLimit));
    await refresh();
  });

  refresh();
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'all-keys-title' },
    h('h2', { id: 'all-keys-title' }, 'All keys'),
    list,
    h('h3', {}, 'Make a key'),
    form,
    live,
  );
}
