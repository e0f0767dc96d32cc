// Many book covers at once: a selection of files or a whole folder of scans named by ISBN. Each file's ISBN is read
// from its name and can be corrected before sending; files are sent one after another, each with its own progress
// and result. Likely duplicates (same ISBN or same image twice in the batch, an ISBN that already has a cover, a
// mistyped ISBN) are flagged and left unticked, so nothing doubtful is sent without the person choosing to.
import { api, clear, errorCode, errorText, formatBytes, getRole, getToken, h, isbnFromFileName, isbnWarning, notice, upload } from '../lib.js';

const IMAGE_NAME = /\.(jpe?g|png|gif|webp|avif)$/i;

/** Every file of a drop, folders walked (the browser hands a dropped folder over as an entry, not as files). */
async function droppedFiles(transfer) {
  const entries = [...(transfer.items ?? [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 0) return [...(transfer.files ?? [])];
  const files = [];
  async function walk(entry) {
    if (entry.isFile) files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    else if (entry.isDirectory) {
      const reader = entry.createReader();
      // readEntries answers in pieces; an empty piece is the end.
      for (let batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject)); batch.length; batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject))) {
        for (const child of batch) await walk(child);
      }
    }
  }
  for (const entry of entries) await walk(entry);
  return files;
}

/** SHA-256 of a file in hex, or undefined where the browser offers no crypto (pages not served over HTTPS). */
async function fingerprint(file) {
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The cover already served (or, for an administrator, waiting) under an ISBN, or undefined. */
async function existingCover(isbn) {
  if (getRole() === 'admin') {
    const found = await api(`/api/v1/covers?limit=1&q=${encodeURIComponent(`isbn:${isbn}`)}`, { auth: true });
    return found.ok ? found.data.covers[0] : undefined;
  }
  const found = await api(`/b/isbn/${encodeURIComponent(isbn)}.json`);
  return found.ok && found.data?.id ? found.data : undefined;
}

export function batchPanel() {
  const rows = [];
  const body = h('tbody', {});
  const table = h(
    'div',
    { class: 'table-wrap', hidden: true },
    h('table', { class: 'batch', id: 'batch' }, h('caption', { class: 'visually-hidden' }, 'Files to upload'), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Send'), h('th', { scope: 'col' }, 'File'), h('th', { scope: 'col' }, 'ISBN'), h('th', { scope: 'col' }, 'Result'))), body),
  );
  const summary = h('div', { id: 'batch-summary', 'aria-live': 'polite' });
  const sendButton = h('button', { type: 'button', id: 'batch-upload', hidden: true, onclick: sendAll }, 'Send the ticked files');
  const againButton = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: startAgain }, 'Clear the list');
  const filesInput = h('input', { type: 'file', id: 'batch-files', multiple: true, accept: 'image/*', onchange: () => addFiles([...filesInput.files]) });
  const folderInput = h('input', { type: 'file', id: 'batch-folder', webkitdirectory: true, onchange: () => addFiles([...folderInput.files]) });
  const drop = h(
    'div',
    { class: 'drop', id: 'batch-drop' },
    h('p', { class: 'small' }, 'Drop image files or a folder of scans here, or:'),
    h('div', { class: 'row' }, h('div', { class: 'field' }, h('label', { for: 'batch-files' }, 'Choose files'), filesInput), h('div', { class: 'field' }, h('label', { for: 'batch-folder' }, 'Choose a folder'), folderInput)),
  );
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    addFiles(await droppedFiles(event.dataTransfer));
  });

  /** The row's flags, redrawn whenever its ISBN changes: ticked only when nothing looks wrong. */
  async function check(row) {
    const isbn = row.isbn.value.trim();
    const flags = [];
    if (!isbn) flags.push('No ISBN in the file name: type one.');
    else {
      const warning = isbnWarning(isbn);
      if (warning) flags.push(warning);
    }
    const twin = rows.find((other) => other !== row && other.index < row.index && ((isbn && other.isbn.value.trim() === isbn) || (row.sha256 && other.sha256 === row.sha256)));
    if (twin) flags.push(twin.sha256 && twin.sha256 === row.sha256 ? `The same image as ${twin.file.name}.` : `The same ISBN as ${twin.file.name}.`);
    clear(row.result, flags.length ? h('span', { class: 'flag' }, flags.join(' ')) : h('span', { class: 'muted' }, 'Ready'));
    row.send.checked = flags.length === 0;
    if (flags.length || !isbn) return;
    const existing = await existingCover(isbn.replace(/[\s-]/g, ''));
    if (existing && row.isbn.value.trim() === isbn && !row.done) {
      clear(row.result, h('span', { class: 'flag' }, 'This ISBN already has ', h('a', { href: `/ui/cover/${existing.id}` }, `cover ${existing.id}`), '. Tick Send to add this one as its newest cover.'));
      row.send.checked = false;
    }
  }

  async function addFiles(files) {
    const images = files.filter((file) => IMAGE_NAME.test(file.name) || file.type.startsWith('image/'));
    const skipped = files.length - images.length;
    for (const file of images) {
      const index = rows.length;
      const isbnId = `batch-isbn-${index}`;
      const row = {
        index,
        file,
        isbn: h('input', { type: 'text', id: isbnId, value: isbnFromFileName(file.name), autocomplete: 'off', spellcheck: 'false', 'aria-label': `ISBN of ${file.name}` }),
        send: h('input', { type: 'checkbox', 'aria-label': `Send ${file.name}` }),
        result: h('td', { class: 'small' }),
        sha256: await fingerprint(file),
      };
      row.isbn.addEventListener('change', () => check(row));
      row.element = h('tr', {}, h('td', {}, row.send), h('td', {}, h('span', { class: 'file-name' }, file.name), h('br'), h('span', { class: 'small muted' }, formatBytes(file.size))), h('td', {}, row.isbn), row.result);
      rows.push(row);
      body.append(row.element);
    }
    filesInput.value = '';
    folderInput.value = '';
    table.hidden = rows.length === 0;
    sendButton.hidden = againButton.hidden = rows.length === 0;
    await Promise.all(rows.filter((row) => !row.examined).map((row) => ((row.examined = true), check(row))));
    clear(summary, skipped ? notice('info', `${skipped} file${skipped === 1 ? ' is' : 's are'} not an image and left out.`) : null);
  }

  async function sendAll() {
    if (!getToken()) {
      clear(summary, notice('error', 'Sign in first: uploading needs the admin token or an upload key.'));
      return;
    }
    const chosen = rows.filter((row) => row.send.checked && !row.done);
    if (chosen.length === 0) {
      clear(summary, notice('error', 'Tick Send beside the files to upload.'));
      return;
    }
    sendButton.disabled = true;
    let sent = 0;
    let failed = 0;
    for (const row of chosen) {
      const bar = h('progress', { max: 1, value: 0, 'aria-label': `Sending ${row.file.name}` });
      clear(row.result, bar);
      const form = new FormData();
      if (row.isbn.value.trim()) form.append('isbn', row.isbn.value.trim());
      form.append('data', row.file, row.file.name);
      const answer = await upload('/b/upload2', form, (share) => (bar.value = share));
      if (!answer.ok) {
        failed += 1;
        clear(row.result, h('span', { class: 'flag' }, errorText(answer)), h('br'), h('span', { class: 'muted' }, errorCode(answer)));
        continue;
      }
      sent += 1;
      row.done = true;
      row.send.disabled = true;
      row.isbn.readOnly = true;
      const { id, status } = answer.data;
      clear(row.result, h('a', { href: `/ui/cover/${id}` }, `Cover ${id}`), status === 'pending' ? ' · waits for a moderator' : ' · uploaded');
    }
    sendButton.disabled = false;
    clear(summary, notice(failed ? 'warn' : 'ok', `${sent} uploaded${failed ? `, ${failed} refused (see each file’s result)` : ''}.`));
  }

  function startAgain() {
    rows.length = 0;
    body.replaceChildren();
    table.hidden = sendButton.hidden = againButton.hidden = true;
    clear(summary);
  }

  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'batch-title' },
    h('h2', { id: 'batch-title' }, 'Many book covers at once'),
    h('p', { class: 'small muted' }, 'For scans named by their ISBN: ', h('code', {}, '9780385472579.jpg'), ', ', h('code', {}, '0-385-47257-9.png'), ' or ', h('code', {}, '0385472579_back.jpg'), ' (the part before _ is read). Check each ISBN, then upload.'),
    drop,
    table,
    h('div', { class: 'row actions' }, sendButton, againButton),
    summary,
  );
}
