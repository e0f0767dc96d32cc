import { onSessionChange, toggleSignIn } from '../app.js';
import { api, clear, errorNotice, formatBytes, getToken, h, isbnWarning, MBID_PATTERN, notice, OLID_PATTERN, setTitle } from '../lib.js';
import { batchPanel } from './upload-batch.js';

const ACCEPTED = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif'];
const BOOK_IDENTIFIERS = [
  ['isbn', 'ISBN', 'ISBN-10 or ISBN-13; several separated by commas'],
  ['oclc', 'OCLC number', ''],
  ['lccn', 'LCCN', ''],
  ['goodreads', 'Goodreads id', ''],
  ['librarything', 'LibraryThing id', ''],
];
// Cover Art Archive types, in the archive's own order.
const CAA_TYPES = ['Front', 'Back', 'Booklet', 'Medium', 'Obi', 'Spine', 'Track', 'Other', 'Tray', 'Sticker', 'Poster', 'Liner', 'Watermark', 'Raw/Unedited', 'Matrix/Runout', 'Top', 'Bottom'];

function field(id, label, help, attributes = {}) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('input', { type: 'text', id, name: id, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': help ? `${id}-help` : undefined, ...attributes }),
    help ? h('span', { class: 'help', id: `${id}-help` }, help) : null,
  );
}

function signInNotice() {
  if (getToken()) return null;
  return notice('info', 'Uploading needs the admin token or an upload key. ', h('button', { type: 'button', class: 'secondary', onclick: () => toggleSignIn(true) }, 'Sign in'));
}

let listening = false;

export async function render(main) {
  setTitle('Upload');
  if (!listening) onSessionChange(() => render(main));
  listening = true;
  const prefillMbid = new URLSearchParams(location.search).get('mbid') ?? '';
  let chosenFile;

  const fileInput = h('input', { type: 'file', id: 'file', name: 'file', accept: ACCEPTED.join(','), 'aria-describedby': 'file-help' });
  const preview = h('div', { class: 'preview', id: 'preview', 'aria-live': 'polite' });
  const drop = h(
    'div',
    { class: 'drop', id: 'drop' },
    h('label', { for: 'file' }, 'Drop an image here, or choose a file'),
    fileInput,
    h('span', { class: 'help small muted', id: 'file-help' }, 'JPEG, PNG, GIF, WebP or AVIF.'),
  );
  const result = h('div', { id: 'upload-result' });

  function choose(file) {
    chosenFile = file;
    if (!file) {
      clear(preview);
      return;
    }
    const url = URL.createObjectURL(file);
    const image = h('img', { src: url, alt: `Preview of ${file.name}` });
    image.addEventListener('error', () => image.replaceWith(h('span', { class: 'small muted' }, 'This browser cannot show the file as an image; the server checks it on upload.')));
    const details = h('div', { class: 'small' }, h('strong', {}, file.name), h('br'), `${formatBytes(file.size)} · ${file.type || 'unknown type'}`);
    image.addEventListener('load', () => details.append(h('br'), `${image.naturalWidth} × ${image.naturalHeight} px`));
    clear(preview, image, details);
  }

  fileInput.addEventListener('change', () => choose(fileInput.files?.[0]));
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer?.files?.[0];
    if (file) {
      // Keep the input in step so the form (and assistive technology) shows the dropped file.
      const transfer = new DataTransfer();
      transfer.items.add(file);
      fileInput.files = transfer.files;
      choose(file);
    }
  });

  const kindRadios = [
    ['book', 'Book edition'],
    ['author', 'Author photo'],
    ['release', 'Music release'],
  ].map(([value, label], index) =>
    h('label', {}, h('input', { type: 'radio', name: 'kind', value, checked: prefillMbid ? value === 'release' : index === 0, onchange: () => showKind(value) }), label),
  );

  const bookFields = h(
    'div',
    { id: 'book-fields', class: 'grid-fields' },
    field('title', 'Title', 'optional; found by the collection search'),
    field('author', 'Author', 'optional; several separated by semicolons'),
    field('olid', 'Open Library edition', 'optional, e.g. OL7353617M'),
    BOOK_IDENTIFIERS.map(([name, label, help]) => field(name, label, help)),
  );
  const authorFields = h('div', { id: 'author-fields', class: 'grid-fields', hidden: true }, field('author-olid', 'Open Library author', 'e.g. OL229501A'));
  const typeBoxes = CAA_TYPES.map((type) => h('label', {}, h('input', { type: 'checkbox', name: 'types', value: type }), type));
  const releaseFields = h(
    'div',
    { id: 'release-fields', hidden: true, class: 'stack' },
    h('div', { class: 'grid-fields' }, field('mbid', 'MusicBrainz release id (MBID)', '', { value: prefillMbid }), field('comment', 'Comment', 'optional')),
    h('fieldset', {}, h('legend', {}, 'Types'), h('div', { class: 'choices' }, typeBoxes)),
  );

  function showKind(kind) {
    bookFields.hidden = kind !== 'book';
    authorFields.hidden = kind !== 'author';
    releaseFields.hidden = kind !== 'release';
  }
  if (prefillMbid) showKind('release');

  // The server keeps an ISBN with a wrong check digit as typed, so a slip of the finger is caught here instead.
  const isbnInput = bookFields.querySelector('#isbn');
  const isbnNote = h('span', { class: 'flag small', id: 'isbn-warning', role: 'status' });
  isbnInput.after(isbnNote);
  isbnInput.setAttribute('aria-describedby', 'isbn-help isbn-warning');
  let acceptedIsbn;
  isbnInput.addEventListener('input', () => (isbnNote.textContent = isbnInput.value.trim() ? (isbnWarning(isbnInput.value) ?? '') : ''));

  // After a success nothing of the sent cover stays in the form: a second click would otherwise upload a duplicate.
  function resetAfterSuccess(kind) {
    fileInput.value = '';
    choose(undefined);
    if (kind === 'release') return; // more images of the same release usually follow
    for (const input of main.querySelectorAll('#book-fields input, #author-fields input')) input.value = '';
    isbnNote.textContent = '';
  }

  async function submit(event) {
    event.preventDefault();
    const kind = main.querySelector('input[name="kind"]:checked').value;
    const fail = (message, focus) => {
      clear(result, typeof message === 'string' ? notice('error', message) : message);
      if (focus) focus.focus();
      else result.scrollIntoView({ block: 'nearest' });
    };
    if (!getToken()) return fail('Sign in first: uploading needs the admin token or an upload key.', document.getElementById('signin-toggle'));
    if (!chosenFile) return fail('Choose an image file to upload (or drop one on the box).', fileInput);
    const submitButton = event.submitter ?? main.querySelector('button[type="submit"]');
    const body = new FormData();
    let path;
    if (kind === 'release') {
      const mbid = main.querySelector('#mbid').value.trim().toLowerCase();
      if (!MBID_PATTERN.test(mbid)) return fail('The MusicBrainz id must be a UUID such as 76df3287-6cda-33eb-8e9a-044b5e15ffdd.', main.querySelector('#mbid'));
      const types = [...main.querySelectorAll('input[name="types"]:checked')].map((box) => box.value);
      body.append('file', chosenFile, chosenFile.name);
      body.append('types', types.join(','));
      const comment = main.querySelector('#comment').value.trim();
      if (comment) body.append('comment', comment);
      path = `/api/v1/releases/${mbid}/images`;
    } else if (kind === 'author') {
      const olid = main.querySelector('#author-olid').value.trim();
      if (!/^OL[1-9]\d*A$/i.test(olid)) return fail('An author photo needs the author’s Open Library id, such as OL229501A.', main.querySelector('#author-olid'));
      body.append('olid', olid);
      body.append('data', chosenFile, chosenFile.name);
      path = '/a/upload2';
    } else {
      const olid = main.querySelector('#olid').value.trim();
      if (olid && !(OLID_PATTERN.test(olid) && /M$/i.test(olid))) return fail('The edition id must look like OL7353617M (or stay empty).', main.querySelector('#olid'));
      if (olid) body.append('olid', olid);
      const isbn = isbnInput.value.trim();
      const warning = isbn ? isbnWarning(isbn) : undefined;
      if (warning && acceptedIsbn !== isbn) {
        acceptedIsbn = isbn;
        return fail(notice('warn', `${warning} Correct it, or press Upload again to send it as typed.`), isbnInput);
      }
      const title = main.querySelector('#title').value.trim();
      if (title) body.append('title', title);
      for (const name of main.querySelector('#author').value.split(';').map((part) => part.trim()).filter(Boolean)) body.append('author', name);
      for (const [name] of BOOK_IDENTIFIERS) {
        const value = main.querySelector(`#${name}`).value.trim();
        if (value) body.append(name, value);
      }
      body.append('data', chosenFile, chosenFile.name);
      path = '/b/upload2';
    }
    submitButton.disabled = true;
    clear(result, h('p', { class: 'muted', role: 'status' }, 'Uploading…'));
    const answer = await api(path, { method: 'POST', body, auth: true });
    submitButton.disabled = false;
    if (!answer.ok) {
      const hint = answer.status === 401 ? ' Sign in again with a valid token or key.' : answer.status === 403 ? ' This credential may not upload.' : '';
      const refusal = errorNotice('The server refused the upload:', answer);
      if (hint) refusal.append(h('p', {}, hint.trim()));
      return fail(refusal);
    }
    resetAfterSuccess(kind);
    if (kind === 'release') {
      const mbid = main.querySelector('#mbid').value.trim().toLowerCase();
      const imageId = answer.data?.id;
      const imageStatus = answer.data?.status ?? 'approved';
      clear(
        result,
        notice(
          imageStatus === 'pending' ? 'warn' : 'ok',
          h('p', {}, `Uploaded as image ${imageId}. `, h('a', { href: `/ui/release/${mbid}`, id: 'result-link' }, 'See the release')),
          imageStatus === 'pending'
            ? h(
                'p',
                { id: 'moderation-status' },
                'It waits for a moderator: listed on the release as awaiting approval, but not served until approved. Status: ',
                h('strong', {}, 'pending'),
                ' ',
                h('button', { type: 'button', class: 'secondary', onclick: (e) => refreshStatus(`/api/v1/images/${imageId}/status`, e.currentTarget.parentElement) }, 'Check again'),
              )
            : null,
        ),
      );
      return;
    }
    const id = answer.data.id;
    const status = answer.data.status ?? 'approved';
    clear(
      result,
      notice(
        status === 'pending' ? 'warn' : 'ok',
        h('p', {}, `Uploaded as cover ${id}. `, h('a', { href: `/ui/cover/${id}`, id: 'result-link' }, `View cover ${id}`)),
        status === 'pending'
          ? h('p', { id: 'moderation-status' }, 'It waits for a moderator and is not served until approved. Status: ', h('strong', {}, 'pending'), ' ', h('button', { type: 'button', class: 'secondary', onclick: (e) => refreshStatus(`/api/v1/covers/${id}/status`, e.currentTarget.parentElement) }, 'Check again'))
          : null,
      ),
    );
    result.querySelector('a')?.focus();
  }

  async function refreshStatus(path, paragraph) {
    const answer = await api(path);
    const status = answer.ok ? answer.data.status : 'unknown';
    paragraph.querySelector('strong').textContent = status;
  }

  clear(
    main,
    h('h1', {}, 'Upload covers'),
    signInNotice(),
    h('h2', { class: 'visually-hidden' }, 'One cover'),
    h(
      'form',
      { class: 'panel', id: 'upload-form', novalidate: true, onsubmit: submit },
      h('fieldset', {}, h('legend', {}, 'Image'), drop, preview),
      h('fieldset', {}, h('legend', {}, 'What is it a cover of?'), h('div', { class: 'choices' }, kindRadios)),
      h('fieldset', {}, h('legend', {}, 'Identifiers'), bookFields, authorFields, releaseFields),
      h('button', { type: 'submit' }, 'Upload'),
    ),
    result,
    batchPanel(),
  );
}
