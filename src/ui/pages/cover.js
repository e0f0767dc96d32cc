import { onSessionChange } from '../app.js';
import { deepViewPanel, srcsetSnippet } from '../deep-view.js';
import { api, clear, errorNotice, formatBytes, formatDate, getRole, getToken, h, notice, setTitle, urlRow, urlTable } from '../lib.js';
import { editPanels } from './cover-edit.js';

const CATEGORY_NAMES = { b: 'Book edition', a: 'Author', w: 'Work' };
const SCHEME_NAMES = { isbn: 'ISBN', oclc: 'OCLC', lccn: 'LCCN', goodreads: 'Goodreads', librarything: 'LibraryThing' };

function statusBadge(status) {
  return h('span', { class: `badge ${status}` }, status);
}

function openLibraryTable(cover) {
  const { id, category } = cover;
  const isbn = cover.identifiers.find((identifier) => identifier.scheme === 'isbn');
  const rows = [
    urlRow('S', `/${category}/id/${id}-S.jpg`, 'small'),
    urlRow('M', `/${category}/id/${id}-M.jpg`, 'medium'),
    urlRow('L', `/${category}/id/${id}-L.jpg`, 'large'),
    urlRow('Original', `/${category}/id/${id}.jpg`, `${cover.width}×${cover.height}, ${cover.mime}, byte-identical`),
    urlRow('Metadata', `/${category}/id/${id}.json`, 'JSON'),
  ];
  if (cover.olid) rows.push(urlRow('By OLID', `/${category}/olid/${cover.olid}-M.jpg`, 'the edition’s newest cover'));
  if (isbn) rows.push(urlRow('By ISBN', `/${category}/isbn/${isbn.value}-M.jpg`, 'any size: -S, -M, -L'));
  return urlTable(rows);
}

function keyedTable(cover) {
  const isbn = cover.identifiers.find((identifier) => identifier.scheme === 'isbn');
  if (!isbn || cover.category !== 'b') {
    return h('p', { class: 'muted' }, 'Keyed covers are found by ISBN; this cover has none.');
  }
  const row = (size, note) => {
    const path = `/devkey/KEY/${size}/isbn/${isbn.value}`;
    return h('tr', {}, h('th', { scope: 'row' }, size), h('td', {}, h('code', {}, new URL(path, location.origin).toString())), h('td', { class: 'muted small' }, note));
  };
  return h(
    'div',
    {},
    h('p', { class: 'small muted' }, 'Replace KEY with your developer key (', h('a', { href: '/ui/keys' }, 'get one'), ').'),
    urlTable([row('small', 'longest side 75 px'), row('medium', 'longest side 160 px'), row('large', 'longest side 500 px'), row('original', 'as uploaded')]),
  );
}

function historyList(cover, covers) {
  return h(
    'ol',
    { id: 'history-list' },
    covers.map((other) =>
      h(
        'li',
        {},
        other.id === cover.id ? h('strong', {}, `Cover ${other.id} (this one)`) : h('a', { href: `/ui/cover/${other.id}` }, `Cover ${other.id}`),
        ` — uploaded ${formatDate(other.created)} `,
        statusBadge(other.status),
      ),
    ),
  );
}

/**
 * The cover's own events, then every cover of the same edition or identifiers, newest first: the first approved
 * one is what lookups serve. Administrators see them all (pending and replaced ones too); others the edition's.
 */
async function history(cover) {
  const events = [h('li', {}, `Uploaded ${formatDate(cover.created)}`)];
  if (cover.lastModified !== cover.created) events.push(h('li', {}, `Last changed ${formatDate(cover.lastModified)}`));
  events.push(h('li', {}, 'Moderation state: ', statusBadge(cover.status)));
  const parts = [h('ul', {}, events)];
  const note = h('p', { class: 'small muted' }, 'Newest first. Looking up the edition or an identifier shows the newest approved one; every cover keeps its own address.');
  if (getRole() === 'admin') {
    const answer = await api(`/api/v1/covers/${cover.id}/history`, { auth: true });
    if (answer.ok && answer.data.covers.length > 1) parts.push(h('h3', {}, 'Covers of the same book'), note, historyList(cover, answer.data.covers));
  } else if (cover.olid) {
    const others = await api(`/${cover.category}/query?olid=${encodeURIComponent(cover.olid)}&details=true&limit=20`);
    if (others.ok && Array.isArray(others.data) && others.data.length > 1) {
      const covers = others.data.map((other) => ({ id: other.id, created: other.created ?? other.last_modified, status: 'approved' }));
      parts.push(h('h3', {}, `Covers of ${cover.olid}`), note, historyList(cover, covers));
    }
  }
  return parts;
}

async function imageFor(cover) {
  const alt = `Cover ${cover.id}${cover.olid ? ` of ${cover.olid}` : ''}`;
  if (cover.status === 'approved') return h('img', { src: `/${cover.category}/id/${cover.id}-L.jpg`, alt });
  // Not served publicly: an administrator sees it through the moderation call (a Bearer header cannot go on <img>).
  const response = await fetch(`/api/v1/moderation/${cover.id}/image`, { headers: { authorization: `Bearer ${getToken() ?? ''}` } });
  if (!response.ok) return h('p', { class: 'muted' }, 'The image is not served while the cover is not approved.');
  return h('img', { src: URL.createObjectURL(await response.blob()), alt });
}

/** The zoomable original and the markup for putting the cover on a page, both through the IIIF Image API. */
function webPanels(cover) {
  const identifier = `cover-${cover.id}`;
  return [
    deepViewPanel(identifier, `Cover ${cover.id}`),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'srcset-title' },
      h('h2', { id: 'srcset-title' }, 'On a web page'),
      h('p', { class: 'small muted' }, 'Ready to paste: the browser picks the width its screen needs.'),
      h('pre', { class: 'snippet' }, h('code', {}, srcsetSnippet(identifier, cover.width, `Cover ${cover.id}`))),
    ),
  ];
}

let listening = false;

export async function render(main, rawId, message) {
  setTitle(`Cover ${rawId}`);
  if (!listening) onSessionChange(() => render(main, rawId));
  listening = true;
  if (!message) clear(main, h('p', { class: 'muted' }, 'Loading…'));
  const replaced = new URLSearchParams(location.search).get('replaces');
  if (!message && replaced) message = notice('ok', `This cover replaces `, h('a', { href: `/ui/cover/${replaced}` }, `cover ${replaced}`), ': the edition and its identifiers serve this one now.');
  const result = await api(`/api/v1/covers/${encodeURIComponent(rawId)}`, { auth: true });
  if (result.status === 404) {
    // Not served (yet): the uploader still learns where the cover stands.
    const state = await api(`/api/v1/covers/${encodeURIComponent(rawId)}/status`);
    const explanations = {
      pending: 'is waiting for a moderator: it is not served until an administrator approves it.',
      rejected: 'was rejected by a moderator and is not served.',
      deleted: 'was deleted.',
    };
    if (state.ok && explanations[state.data.status]) {
      clear(
        main,
        message,
        h('h1', {}, `Cover ${rawId}`),
        h('p', {}, 'Status: ', statusBadge(state.data.status)),
        notice(state.data.status === 'pending' ? 'warn' : 'info', `Cover ${rawId} ${explanations[state.data.status]}`),
      );
      return;
    }
  }
  if (!result.ok) {
    clear(
      main,
      h('h1', {}, `Cover ${rawId}`),
      result.status === 404 ? notice('info', `There is no cover ${rawId} to show.`) : errorNotice('', result),
      h('p', {}, h('a', { href: '/' }, 'Search for another cover')),
    );
    return;
  }
  const cover = result.data;
  const identifiers = cover.identifiers.length
    ? h('ul', {}, cover.identifiers.map((identifier) => h('li', {}, `${SCHEME_NAMES[identifier.scheme] ?? identifier.scheme} `, h('code', {}, identifier.value))))
    : h('p', { class: 'muted' }, 'No identifiers are attached.');
  const facts = [
    ['Kind', CATEGORY_NAMES[cover.category] ?? cover.category],
    ['Status', statusBadge(cover.status)],
    ['Size', `${cover.width} × ${cover.height} px`],
    ['Format', cover.mime],
    ['File size', formatBytes(cover.byteSize)],
    ['Open Library id', cover.olid ?? '—'],
    ['Uploaded', formatDate(cover.created)],
    ['Last changed', formatDate(cover.lastModified)],
  ];
  if (cover.title) facts.unshift(['Title', cover.title]);
  if (cover.authors?.length) facts.splice(cover.title ? 1 : 0, 0, ['Author', cover.authors.join('; ')]);
  if (cover.author) facts.push(['Uploaded by', cover.author]);
  if (cover.sourceUrl) facts.push(['Source', cover.sourceUrl]);
  const actions = [];
  if (getRole() === 'admin' && cover.status !== 'deleted') {
    for (const [action, label, style] of [['approve', 'Approve', 'good'], ['reject', 'Reject', 'bad']]) {
      if ((action === 'approve' && cover.status === 'approved') || (action === 'reject' && cover.status === 'rejected')) continue;
      actions.push(
        h('button', {
          type: 'button',
          class: style,
          onclick: async () => {
            const decision = await api(`/api/v1/covers/${cover.id}/${action}`, { method: 'POST', auth: true });
            if (decision.ok) render(main, rawId);
            else main.prepend(errorNotice('', decision));
          },
        }, label),
      );
    }
  }
  const admin = getRole() === 'admin';
  clear(
    main,
    message,
    h(
      'div',
      { class: 'cover-layout' },
      h('div', { class: 'image' }, await imageFor(cover)),
      h(
        'div',
        {},
        h('h1', {}, `Cover ${cover.id}`),
        h('section', { class: 'panel', 'aria-labelledby': 'facts-title' }, h('h2', { id: 'facts-title' }, 'Metadata'), h('dl', { class: 'facts' }, facts.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])), actions.length ? h('div', { class: 'row actions' }, actions) : null),
        h('section', { class: 'panel', 'aria-labelledby': 'ids-title' }, h('h2', { id: 'ids-title' }, 'Identifiers'), identifiers),
      ),
    ),
    admin ? editPanels(cover, (done) => render(main, rawId, done ?? notice('ok', `Cover ${cover.id} was deleted.`))) : null,
    cover.status === 'approved' ? webPanels(cover) : null,
    h('section', { class: 'panel', 'aria-labelledby': 'ol-title' }, h('h2', { id: 'ol-title' }, 'Open Library Covers API'), openLibraryTable(cover)),
    h('section', { class: 'panel', 'aria-labelledby': 'keyed-title' }, h('h2', { id: 'keyed-title' }, 'Keyed covers (LibraryThing style)'), keyedTable(cover)),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'caa-title' },
      h('h2', { id: 'caa-title' }, 'Cover Art Archive'),
      h('p', { class: 'muted' }, 'Cover Art Archive URLs belong to music release images; each release page lists its images with every size. Search a release or release group by its MBID on the ', h('a', { href: '/' }, 'home page'), '.'),
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'History'), await history(cover)),
  );
}
