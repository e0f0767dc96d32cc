// The administrator's tools on a cover page: correct what the cover is of, replace its image, delete it.
import { api, clear, confirmDialog, errorNotice, h, isbnWarning, notice, splitList, upload } from '../lib.js';

const KINDS = [
  ['isbn', 'ISBN'],
  ['oclc', 'OCLC number'],
  ['lccn', 'LCCN'],
  ['goodreads', 'Goodreads id'],
  ['librarything', 'LibraryThing id'],
];

function valuesOf(cover, scheme) {
  return cover.identifiers.filter((identifier) => identifier.scheme === scheme).map((identifier) => identifier.value);
}

function textField(id, label, value, help) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('input', { type: 'text', id, name: id, value: value ?? '', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': help ? `${id}-help` : undefined }),
    help ? h('span', { class: 'help', id: `${id}-help` }, help) : null,
  );
}

/** Only what was changed is sent: each identifier kind given replaces that kind, so untouched kinds stay as they are. */
function changes(form, cover) {
  const body = {};
  const identifiers = {};
  for (const [scheme] of KINDS) {
    const now = splitList(form.querySelector(`#edit-${scheme}`).value);
    if (now.join(',') !== valuesOf(cover, scheme).join(',')) identifiers[scheme] = now;
  }
  if (Object.keys(identifiers).length) body.identifiers = identifiers;
  const olid = form.querySelector('#edit-olid').value.trim();
  if (olid !== (cover.olid ?? '')) body.olid = olid || null;
  if (cover.category === 'b') {
    const title = form.querySelector('#edit-title').value.trim();
    if (title !== (cover.title ?? '')) body.title = title;
    const authors = form.querySelector('#edit-authors').value.split('\n').map((name) => name.trim()).filter(Boolean);
    if (authors.join('\n') !== (cover.authors ?? []).join('\n')) body.authors = authors;
  }
  return body;
}

function editForm(cover, rerender) {
  const output = h('div', { id: 'edit-result', 'aria-live': 'polite' });
  const book = cover.category === 'b';
  const form = h(
    'form',
    { id: 'edit-form', novalidate: true },
    book
      ? h(
          'div',
          { class: 'grid-fields' },
          textField('edit-title', 'Title', cover.title),
          h('div', { class: 'field' }, h('label', { for: 'edit-authors' }, 'Authors'), h('textarea', { id: 'edit-authors', name: 'authors', rows: 2, 'aria-describedby': 'edit-authors-help' }, (cover.authors ?? []).join('\n')), h('span', { class: 'help', id: 'edit-authors-help' }, 'one per line')),
        )
      : null,
    h(
      'div',
      { class: 'grid-fields' },
      textField('edit-olid', 'Open Library id', cover.olid, 'empty for none'),
      book ? KINDS.map(([scheme, label]) => textField(`edit-${scheme}`, label, valuesOf(cover, scheme).join(', '), 'several separated by commas')) : null,
    ),
    h('div', { class: 'row actions' }, h('button', { type: 'submit' }, 'Save changes')),
    output,
  );
  let acceptedIsbns;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = changes(form, cover);
    if (Object.keys(body).length === 0) {
      clear(output, notice('info', 'Nothing was changed.'));
      return;
    }
    const warning = body.identifiers?.isbn ? isbnWarning(body.identifiers.isbn.join(',')) : undefined;
    if (warning && acceptedIsbns !== body.identifiers.isbn.join(',')) {
      acceptedIsbns = body.identifiers.isbn.join(',');
      clear(output, notice('warn', `${warning} Correct it, or press Save again to keep it as typed.`));
      return;
    }
    const answer = await api(`/api/v1/covers/${cover.id}`, { method: 'PATCH', json: body, auth: true });
    if (!answer.ok) {
      clear(output, errorNotice('Not saved:', answer));
      return;
    }
    await rerender(notice('ok', 'Saved. Every lookup follows the change at once.'));
  });
  return form;
}

function replaceForm(cover) {
  const output = h('div', { id: 'replace-result', 'aria-live': 'polite' });
  const input = h('input', { type: 'file', id: 'replace-file', accept: 'image/*', 'aria-describedby': 'replace-help' });
  const form = h(
    'form',
    { id: 'replace-form' },
    h('p', { class: 'small muted', id: 'replace-help' }, 'The new image becomes a new cover that the edition and identifiers serve from now on. This cover keeps its own address and image, and stays in the history.'),
    h('div', { class: 'row' }, h('div', { class: 'field' }, h('label', { for: 'replace-file' }, 'New image'), input), h('button', { type: 'submit' }, 'Replace the image')),
    output,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = input.files?.[0];
    if (!file) {
      clear(output, notice('error', 'Choose the new image first.'));
      input.focus();
      return;
    }
    const body = new FormData();
    body.append('data', file, file.name);
    const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Sending the new image' });
    clear(output, bar);
    const answer = await upload(`/api/v1/covers/${cover.id}/replace`, body, (share) => (bar.value = share));
    if (!answer.ok) {
      clear(output, errorNotice('Not replaced:', answer));
      return;
    }
    location.assign(`/ui/cover/${answer.data.id}?replaces=${cover.id}`);
  });
  return form;
}

function deleteControl(cover, rerender) {
  const output = h('div', { id: 'delete-result', 'aria-live': 'polite' });
  async function remove() {
    const sure = await confirmDialog({
      title: `Delete cover ${cover.id}?`,
      text: 'It stops being served at once, by its id and by every identifier. This cannot be undone from this page.',
      confirm: `Delete cover ${cover.id}`,
      keep: 'Keep it',
    });
    if (!sure) return;
    const answer = await api(`/api/v1/covers/${cover.id}`, { method: 'DELETE', auth: true });
    if (!answer.ok) {
      clear(output, errorNotice('Not deleted:', answer));
      return;
    }
    await rerender();
  }
  return h('div', {}, h('button', { type: 'button', class: 'bad', onclick: remove }, 'Delete this cover…'), output);
}

/** The panels an administrator gets below the cover's facts. */
export function editPanels(cover, rerender) {
  return [
    h('section', { class: 'panel', 'aria-labelledby': 'edit-title-heading' }, h('h2', { id: 'edit-title-heading' }, 'Correct this cover'), editForm(cover, rerender)),
    h('section', { class: 'panel', 'aria-labelledby': 'replace-title' }, h('h2', { id: 'replace-title' }, 'Replace the image'), replaceForm(cover)),
    h('section', { class: 'panel', 'aria-labelledby': 'delete-title' }, h('h2', { id: 'delete-title' }, 'Delete'), deleteControl(cover, rerender)),
  ];
}
