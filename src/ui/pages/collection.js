// The collection: every cover (pending ones too) for an administrator, newest first, filtered and searched by title,
// author or any identifier. The filters live in the page address, so a search can be bookmarked and Back works.
import { administratorsOnly, onSessionChange } from '../app.js';
import { api, clear, errorNotice, getToken, h, notice, setTitle } from '../lib.js';

const PAGE_SIZE = 24;
const SHOW = [
  ['', 'All covers, newest first'],
  ['pending', 'Waiting for moderation'],
  ['rejected', 'Rejected'],
  ['none', 'Without identifiers'],
  ['modified', 'Recently changed'],
];
const KINDS = [
  ['', 'Any kind'],
  ['b', 'Book editions'],
  ['a', 'Authors'],
  ['w', 'Works'],
];

function readState() {
  const params = new URLSearchParams(location.search);
  return { q: params.get('q') ?? '', show: params.get('show') ?? '', category: params.get('category') ?? '', page: Math.max(1, Number(params.get('page')) || 1) };
}

function pageAddress(state) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(state)) if (value && !(name === 'page' && value === 1)) params.set(name, String(value));
  const query = params.toString();
  return `/ui/collection${query ? `?${query}` : ''}`;
}

/** The API call for a state: the "show" choice is a status, the no-identifiers filter or a sort order. */
function apiAddress(state) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String((state.page - 1) * PAGE_SIZE) });
  if (state.q) params.set('q', state.q);
  if (state.category) params.set('category', state.category);
  if (state.show === 'pending' || state.show === 'rejected') params.set('status', state.show);
  if (state.show === 'none') params.set('identifiers', 'none');
  if (state.show === 'modified') params.set('sort', 'modified');
  return `/api/v1/covers?${params}`;
}

/** Approved covers are public images; the others only come through the administrator's call. */
function thumbnail(cover) {
  const alt = cover.title ? `Cover of ${cover.title}` : `Cover ${cover.id}`;
  if (cover.status === 'approved') return h('img', { src: `/${cover.category}/id/${cover.id}-M.jpg`, alt, loading: 'lazy' });
  const frame = h('span', { class: 'small muted' }, 'Not served');
  fetch(`/api/v1/moderation/${cover.id}/image`, { headers: { authorization: `Bearer ${getToken()}` } }).then(async (response) => {
    if (response.ok) frame.replaceWith(h('img', { src: URL.createObjectURL(await response.blob()), alt }));
  });
  return frame;
}

function card(cover) {
  const isbn = cover.identifiers.find((identifier) => identifier.scheme === 'isbn');
  return h(
    'li',
    {},
    h(
      'a',
      { href: `/ui/cover/${cover.id}` },
      h('div', { class: 'frame' }, thumbnail(cover)),
      h('div', { class: 'caption' }, h('strong', { class: 'title' }, cover.title ?? `Cover ${cover.id}`), cover.authors?.length ? h('span', {}, cover.authors.join('; ')) : null, h('span', {}, isbn ? `ISBN ${isbn.value}` : cover.olid ?? (cover.identifiers.length ? '' : 'No identifiers'))),
    ),
    cover.status === 'approved' ? null : h('span', { class: `badge ${cover.status}` }, cover.status === 'pending' ? 'waiting' : cover.status),
  );
}

function select(id, label, options, value) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('select', { id, name: id }, options.map(([optionValue, text]) => h('option', { value: optionValue, selected: optionValue === value }, text))));
}

let listening = false;

export async function render(main) {
  setTitle('Collection');
  if (!listening) onSessionChange(() => render(main));
  listening = true;
  const header = [h('h1', {}, 'Collection'), h('p', { class: 'lede' }, 'Every cover in the catalogue, including those waiting for moderation. Search by title, author or any identifier.')];
  if (!administratorsOnly(main, header, 'The collection is for administrators.')) return;
  const state = readState();
  const search = h('input', { type: 'search', id: 'collection-q', name: 'q', value: state.q, autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. Walden, Thoreau, 9780385472579, oclc:32738417' });
  const form = h(
    'form',
    { class: 'filters', role: 'search', id: 'collection-form' },
    h('div', { class: 'field' }, h('label', { for: 'collection-q' }, 'Title, author or identifier'), search),
    select('collection-show', 'Show', SHOW, state.show),
    select('collection-kind', 'Kind', KINDS, state.category),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.assign(pageAddress({ q: search.value.trim(), show: form.querySelector('#collection-show').value, category: form.querySelector('#collection-kind').value, page: 1 }));
  });
  // A changed filter applies at once; the search box waits for Enter or the button.
  for (const control of form.querySelectorAll('select')) control.addEventListener('change', () => form.requestSubmit());
  const results = h('div', { id: 'collection-results', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  clear(main, header, h('section', { class: 'panel', 'aria-label': 'Search and filters' }, form), results);

  const answer = await api(apiAddress(state), { auth: true });
  if (!answer.ok) {
    clear(results, errorNotice('', answer));
    return;
  }
  const { total, totalExact, covers } = answer.data;
  if (covers.length === 0) {
    clear(results, notice('info', state.q ? `No cover matches “${state.q}”.` : 'No cover matches these filters.'));
    return;
  }
  const first = (state.page - 1) * PAGE_SIZE + 1;
  const last = first + covers.length - 1;
  const count = `Covers ${first}–${last} of ${totalExact ? total : `more than ${total}`}`;
  const more = last < total;
  clear(
    results,
    h('p', { class: 'muted', id: 'collection-count' }, count),
    h('ul', { class: 'covers collection', 'aria-labelledby': 'collection-count' }, covers.map(card)),
    h(
      'nav',
      { class: 'row paging', 'aria-label': 'Pages' },
      state.page > 1 ? h('a', { class: 'button secondary', href: pageAddress({ ...state, page: state.page - 1 }), rel: 'prev' }, 'Previous page') : null,
      more ? h('a', { class: 'button secondary', href: pageAddress({ ...state, page: state.page + 1 }), rel: 'next' }, 'Next page') : null,
    ),
  );
}
