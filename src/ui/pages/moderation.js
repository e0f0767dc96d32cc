import { onSessionChange, toggleSignIn } from '../app.js';
import { api, clear, errorNotice, errorText, formatBytes, formatDate, getToken, h, notice, setTitle } from '../lib.js';

const SCHEME_NAMES = { isbn: 'ISBN', oclc: 'OCLC', lccn: 'LCCN', goodreads: 'Goodreads', librarything: 'LibraryThing' };

/** Pending images are served to nobody, so the moderator's copy comes through an authorised call as a blob. */
async function loadImage(frame, path, alt) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${getToken()}` } });
  if (!response.ok) {
    clear(frame, h('span', { class: 'muted small' }, 'Image unavailable'));
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  clear(frame, h('img', { src: url, alt }));
}

/** Approve/reject buttons and what happens after: the card leaves the queue and the decision is announced. */
function decisionButtons(label, path, announce, item, viewLink) {
  async function decide(action) {
    for (const button of item.querySelectorAll('button')) button.disabled = true;
    const answer = await api(`${path}/${action}`, { method: 'POST', auth: true });
    if (!answer.ok) {
      for (const button of item.querySelectorAll('button')) button.disabled = false;
      announce(errorNotice(`${label}:`, answer));
      return;
    }
    const next = item.nextElementSibling ?? item.previousElementSibling;
    const section = item.closest('section');
    item.remove();
    recount(section);
    announce(notice('ok', `${label} ${answer.data.status}.`, answer.data.status === 'approved' ? [' ', viewLink] : null));
    next?.querySelector('button')?.focus();
  }
  return h(
    'div',
    { class: 'actions' },
    h('button', { type: 'button', class: 'good', onclick: () => decide('approve') }, 'Approve', h('span', { class: 'visually-hidden' }, ` ${label.toLowerCase()}`)),
    h('button', { type: 'button', class: 'bad', onclick: () => decide('reject') }, 'Reject', h('span', { class: 'visually-hidden' }, ` ${label.toLowerCase()}`)),
  );
}

/** After a decision the heading's count follows the list; an emptied list goes, and the page says nothing waits. */
function recount(section) {
  if (!section) return;
  const left = section.querySelectorAll('.queue > li').length;
  const heading = section.querySelector('h2');
  if (heading) heading.textContent = heading.textContent.replace(/\(\d+\)$/, `(${left})`);
  if (left > 0) return;
  const page = section.parentElement;
  section.remove();
  if (page && !page.querySelector('.queue > li')) page.append(h('p', { class: 'panel muted', id: 'queue-empty' }, 'Nothing is waiting for a decision.'));
}

function card(cover, announce) {
  const frame = h('div', { class: 'frame' }, h('span', { class: 'muted small' }, 'Loading image…'));
  loadImage(frame, `/api/v1/moderation/${cover.id}/image`, `Pending cover ${cover.id}${cover.olid ? ` of ${cover.olid}` : ''}`);
  const item = h(
    'li',
    { id: `pending-${cover.id}` },
    frame,
    h('h2', { class: 'small' }, h('a', { href: `/ui/cover/${cover.id}` }, `Cover ${cover.id}`)),
    h(
      'div',
      { class: 'small muted' },
      `${cover.width}×${cover.height} · ${formatBytes(cover.byteSize)} · uploaded ${formatDate(cover.created)}`,
      cover.olid ? h('div', {}, `Edition ${cover.olid}`) : null,
      cover.identifiers.map((identifier) => h('div', {}, `${SCHEME_NAMES[identifier.scheme] ?? identifier.scheme} ${identifier.value}`)),
    ),
  );
  item.append(decisionButtons(`Cover ${cover.id}`, `/api/v1/covers/${cover.id}`, announce, item, h('a', { href: `/ui/cover/${cover.id}` }, 'View it')));
  return item;
}

/** A release image waiting for a decision (Cover Art Archive dialect): listed with approved:false, served to nobody. */
function imageCard(image, announce) {
  const frame = h('div', { class: 'frame' }, h('span', { class: 'muted small' }, 'Loading image…'));
  loadImage(frame, `/api/v1/moderation/images/${image.id}/image`, `Pending ${image.types.join(', ') || 'untyped'} image ${image.id} of release ${image.release}`);
  const item = h(
    'li',
    { id: `pending-image-${image.id}` },
    frame,
    h('h2', { class: 'small' }, h('a', { href: `/ui/release/${image.release}` }, `Image ${image.id}`)),
    h(
      'div',
      { class: 'small muted' },
      `${image.width}×${image.height} · ${formatBytes(image.byteSize)} · uploaded ${formatDate(image.created)}`,
      h('div', {}, 'Release ', h('span', { class: 'mono' }, image.release)),
      h('div', {}, image.types.length ? image.types.map((type) => h('span', { class: 'badge' }, type)) : h('span', { class: 'badge' }, 'untyped')),
      image.comment ? h('div', {}, image.comment) : null,
    ),
  );
  item.append(decisionButtons(`Image ${image.id}`, `/api/v1/images/${image.id}`, announce, item, h('a', { href: `/ui/release/${image.release}` }, 'View the release')));
  return item;
}

let listening = false;

export async function render(main) {
  setTitle('Moderation');
  if (!listening) onSessionChange(() => render(main));
  listening = true;
  const header = [
    h('h1', {}, 'Moderation'),
    h('p', { class: 'lede' }, 'With moderation on, new uploads wait here as pending and are served to nobody until an administrator approves them. Uploaders follow the decision on the cover’s or image’s status.'),
  ];
  if (!getToken()) {
    clear(main, header, notice('info', 'The moderation queue is for administrators. ', h('button', { type: 'button', class: 'secondary', onclick: () => toggleSignIn(true) }, 'Sign in with the admin token')));
    return;
  }
  clear(main, header, h('p', { class: 'muted' }, 'Loading…'));
  const answer = await api('/api/v1/moderation?limit=100', { auth: true });
  if (!answer.ok) {
    clear(main, header, answer.status === 403 ? notice('error', 'This credential is not the admin token: only administrators moderate.') : errorNotice('', answer));
    return;
  }
  const live = h('div', { id: 'moderation-live', 'aria-live': 'polite' });
  const announce = (message) => clear(live, message);
  const { enabled, pending } = answer.data;
  // Servers from before release images were moderated answer without the field.
  const pendingImages = answer.data.pendingImages ?? [];
  clear(
    main,
    header,
    enabled
      ? notice('info', 'Moderation is on: uploads wait for a decision.')
      : notice('warn', 'Moderation is off on this server (JACKET_MODERATION=false): uploads are served at once. Covers and images left pending from before still wait here.'),
    live,
    pending.length
      ? h('section', { 'aria-labelledby': 'queue-title' }, h('h2', { id: 'queue-title' }, `Covers waiting (${pending.length})`), h('ul', { class: 'queue' }, pending.map((cover) => card(cover, announce))))
      : null,
    pendingImages.length
      ? h(
          'section',
          { 'aria-labelledby': 'image-queue-title' },
          h('h2', { id: 'image-queue-title' }, `Release images waiting (${pendingImages.length})`),
          h('p', { class: 'small muted' }, 'Listed in the release’s index.json with approved: false, but never served or chosen as a front until approved. Rejected images leave the listing.'),
          h('ul', { class: 'queue', id: 'image-queue' }, pendingImages.map((image) => imageCard(image, announce))),
        )
      : null,
    pending.length || pendingImages.length ? null : h('p', { class: 'panel muted', id: 'queue-empty' }, 'Nothing is waiting for a decision.'),
  );
}
