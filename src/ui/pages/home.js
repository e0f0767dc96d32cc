import { api, CATEGORY_OF_OLID, clear, getRole, h, MBID_PATTERN, notice, OLID_PATTERN, setTitle } from '../lib.js';

const SCHEMES = [
  ['auto', 'Any identifier'],
  ['isbn', 'ISBN'],
  ['olid', 'Open Library id (OLID)'],
  ['oclc', 'OCLC number'],
  ['lccn', 'LCCN'],
  ['mbid', 'MusicBrainz id (MBID)'],
  ['id', 'Cover id'],
  ['goodreads', 'Goodreads id'],
  ['librarything', 'LibraryThing id'],
];
const LABELS = Object.fromEntries(SCHEMES);

/** The lookups an entry could mean. Digits alone are ambiguous (cover id, OCLC, ISBN), so each is tried. */
function candidates(raw, scheme) {
  const value = raw.trim();
  if (scheme !== 'auto') return [{ scheme, value }];
  if (MBID_PATTERN.test(value)) return [{ scheme: 'mbid', value }];
  if (OLID_PATTERN.test(value)) return [{ scheme: 'olid', value }];
  const prefixed = /^(isbn|oclc|lccn|olid|mbid|id|goodreads|librarything)\s*:\s*(.+)$/i.exec(value);
  if (prefixed) return candidates(prefixed[2], prefixed[1].toLowerCase());
  const compact = value.replace(/[\s-]/g, '');
  const found = [];
  if (/^\d{9}[\dX]$/i.test(compact) || /^97[89]\d{10}$/.test(compact)) found.push({ scheme: 'isbn', value: compact });
  if (/^\d{1,15}$/.test(compact) && compact.length < 10) found.push({ scheme: 'id', value: compact });
  if (/^(\(ocolc\)|ocm|ocn|on)?\d{1,15}$/i.test(compact)) found.push({ scheme: 'oclc', value: compact });
  const spaceless = value.replace(/\s/g, '');
  if (/^[a-z]{0,3}\d{2,4}-\d{1,6}$/i.test(spaceless) || /^[a-z]{0,3}\d{8,10}$/i.test(spaceless)) found.push({ scheme: 'lccn', value: spaceless });
  return found;
}

async function lookup({ scheme, value }) {
  if (scheme === 'mbid') return { release: value.toLowerCase() };
  let category = 'b';
  if (scheme === 'olid') category = CATEGORY_OF_OLID[value.trim().slice(-1).toUpperCase()] ?? 'b';
  // Identifier .json answers 302 to the cover's /b/id/N.json; fetch follows it.
  const result = await api(`/${category}/${scheme}/${encodeURIComponent(value.trim())}.json`);
  if (result.ok && result.data?.id) return { cover: result.data };
  if (result.status === 403 || result.status === 429) return { limited: result };
  return undefined;
}

/** The public lookups skip covers not yet served; an administrator is told of one instead of being invited to upload a duplicate. */
async function unservedCover(tries) {
  if (getRole() !== 'admin') return undefined;
  for (const { scheme, value } of tries) {
    if (!['isbn', 'oclc', 'lccn', 'goodreads', 'librarything'].includes(scheme)) continue;
    const result = await api(`/api/v1/covers?limit=1&q=${encodeURIComponent(`${scheme}:${value.trim()}`)}`, { auth: true });
    if (result.ok && result.data.covers.length > 0) return result.data.covers[0];
  }
  return undefined;
}

async function search(event, input, select, output) {
  event.preventDefault();
  const raw = input.value.trim();
  if (!raw) {
    clear(output, notice('error', 'Type an identifier to search for: an ISBN, OLID, OCLC number, LCCN, MBID or cover id.'));
    input.focus();
    return;
  }
  const tries = candidates(raw, select.value);
  if (tries.length === 0) {
    clear(output, notice('error', `“${raw}” does not look like an ISBN, OLID, OCLC number, LCCN, MBID or cover id. Choose the kind of identifier to search anyway.`));
    return;
  }
  if (tries.length === 1 && tries[0].scheme === 'mbid') {
    location.assign(`/ui/release/${encodeURIComponent(tries[0].value.toLowerCase())}`);
    return;
  }
  clear(output, h('p', { class: 'muted' }, 'Searching…'));
  const answers = await Promise.all(tries.map(lookup));
  const hits = [];
  for (const [index, answer] of answers.entries()) if (answer?.cover) hits.push({ ...tries[index], cover: answer.cover });
  const limited = answers.find((answer) => answer?.limited);
  if (hits.length === 0) {
    const waiting = await unservedCover(tries);
    if (waiting) {
      clear(
        output,
        notice('info', `Cover ${waiting.id} for “${raw}” is here but not served: it is ${waiting.status === 'pending' ? 'waiting for a moderator' : 'rejected'}. `, h('a', { href: `/ui/cover/${waiting.id}` }, `See cover ${waiting.id}`)),
      );
      return;
    }
    const tried = tries.map((entry) => LABELS[entry.scheme]).join(', ');
    clear(
      output,
      limited
        ? notice('warn', 'The server is limiting identifier lookups from this address for now; try again in a few minutes, or look up by cover id.')
        : notice('info', `No cover found for “${raw}” (tried: ${tried}).`, ' ', h('a', { href: '/ui/upload' }, 'Upload one')),
    );
    return;
  }
  clear(
    output,
    h('p', { class: 'muted', id: 'results-title' }, hits.length === 1 ? 'One cover found.' : `${hits.length} covers found.`),
    h(
      'ul',
      { class: 'results', 'aria-labelledby': 'results-title' },
      hits.map((hit) =>
        h(
          'li',
          { class: 'result' },
          h('img', { src: `/b/id/${hit.cover.id}-M.jpg`, alt: `Cover ${hit.cover.id}, found by ${LABELS[hit.scheme]} ${hit.value}`, width: 72 }),
          h(
            'div',
            {},
            h('strong', {}, h('a', { href: `/ui/cover/${hit.cover.id}` }, `Cover ${hit.cover.id}`)),
            h('div', { class: 'small muted' }, `${LABELS[hit.scheme]} ${hit.value}`, hit.cover.olid ? ` · edition ${hit.cover.olid}` : '', ` · ${hit.cover.width}×${hit.cover.height}`),
          ),
        ),
      ),
    ),
  );
}

export async function render(main) {
  setTitle('Home');
  const input = h('input', { type: 'search', id: 'q', name: 'q', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. 9780385472579, OL7353617M, 76a4e5f1-…' });
  const select = h('select', { id: 'scheme', name: 'scheme' }, SCHEMES.map(([value, label]) => h('option', { value }, label)));
  const output = h('div', { id: 'search-results', 'aria-live': 'polite' });
  const grid = h('div', { id: 'recent' }, h('p', { class: 'muted' }, 'Loading…'));
  clear(
    main,
    h(
      'section',
      { class: 'intro' },
      h('h1', {}, 'Jacket cover server'),
      h(
        'p',
        { class: 'lede' },
        'Book covers, author photos and music release art from one catalogue, served through the APIs catalogue software already calls: the Open Library Covers API, LibraryThing-style keyed covers and the Cover Art Archive.',
      ),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'search-title' },
      h('h2', { id: 'search-title' }, 'Find a cover'),
      h(
        'form',
        { class: 'search', role: 'search', onsubmit: (event) => search(event, input, select, output) },
        h('div', { class: 'field' }, h('label', { for: 'q' }, 'Identifier'), input),
        h('div', { class: 'field' }, h('label', { for: 'scheme' }, 'Kind'), select),
        h('button', { type: 'submit' }, 'Search'),
      ),
      output,
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'recent-title' }, h('h2', { id: 'recent-title' }, 'Recent covers'), grid),
  );
  const recent = await api('/b/query?details=true&limit=24');
  if (!recent.ok || !Array.isArray(recent.data)) {
    clear(grid, notice('error', 'The recent covers could not be loaded.'));
    return;
  }
  if (recent.data.length === 0) {
    clear(grid, h('p', { class: 'muted' }, 'No covers yet. ', h('a', { href: '/ui/upload' }, 'Upload the first one.')));
    return;
  }
  clear(
    grid,
    h(
      'ul',
      { class: 'covers' },
      recent.data.map((cover) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: `/ui/cover/${cover.id}` },
            h('div', { class: 'frame' }, h('img', { src: `/b/id/${cover.id}-M.jpg`, alt: `Cover ${cover.id}${cover.olid ? ` of ${cover.olid}` : ''}`, loading: 'lazy' })),
            h('div', { class: 'caption' }, `Cover ${cover.id}`, cover.olid ? ` · ${cover.olid}` : ''),
          ),
        ),
      ),
    ),
  );
}
