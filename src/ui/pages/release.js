import { deepViewPanel } from '../deep-view.js';
import { api, clear, errorNotice, h, MBID_PATTERN, notice, setTitle } from '../lib.js';

/**
 * A release's images through the Cover Art Archive API itself: `/release/{mbid}` answers 307 to the release's
 * index.json, which fetch follows. An MBID that is not a release may be a release group, whose listing is its chosen
 * release's index.json.
 */
async function listing(kind, mbid) {
  return api(`/${kind}/${mbid}`, { headers: { accept: 'application/json' } });
}

function releaseMbidOf(index) {
  const match = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i.exec(index.release ?? '');
  return match ? match[1].toLowerCase() : undefined;
}

function typeBadges(types) {
  return types.length ? types.map((type) => h('span', { class: 'badge' }, type)) : h('span', { class: 'badge' }, 'untyped');
}

/** A path on this server, shown short (the host is said once at the top) and linked in full. */
function pathLink(path) {
  return h('a', { href: path }, h('code', {}, path));
}

function fileLink(url, label = 'file') {
  return url ? h('a', { href: url }, label) : '—';
}

function sizeTable(rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'urls sizes' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Size'), h('th', { scope: 'col' }, 'Cover Art Archive API'), h('th', { scope: 'col' }, 'File'))),
      h('tbody', {}, rows.map(([label, path, file]) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, pathLink(path)), h('td', {}, fileLink(file))))),
    ),
  );
}

function imageCard(mbid, image, position) {
  const id = String(image.id);
  const thumb = image.thumbnails?.['250'] ?? image.thumbnails?.small ?? image.image;
  const base = `/release/${mbid}/${id}`;
  const picture = h('img', { src: thumb, alt: `${image.types.join(', ') || 'Image'} (image ${position} of release ${mbid})`, loading: 'lazy' });
  // Under moderation a pending image is listed (approved: false) but its files answer 404 until approved.
  if (!image.approved) picture.addEventListener('error', () => picture.replaceWith(h('span', { class: 'small muted' }, 'Not served until a moderator approves it.')));
  return h(
    'li',
    { class: 'image-card' },
    h('a', { href: image.image }, picture),
    h(
      'div',
      {},
      h('h3', {}, `${position}. Image ${id}`),
      h('div', {}, typeBadges(image.types), image.approved ? null : h('span', { class: 'badge pending' }, 'awaiting approval')),
      image.comment ? h('p', { class: 'small' }, image.comment) : null,
    ),
    sizeTable([
      ['Original', base, image.image],
      ['250 px', `${base}-250`, image.thumbnails?.['250']],
      ['500 px', `${base}-500`, image.thumbnails?.['500']],
      ['1200 px', `${base}-1200`, image.thumbnails?.['1200']],
    ]),
  );
}

function frontPanel(title, mbid, index, kind) {
  const front = index.images.find((image) => image.front);
  const base = `/${kind}/${mbid}/front`;
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'front-title' },
    h('h2', { id: 'front-title' }, title),
    front
      ? h(
          'div',
          { class: 'release-front' },
          h('a', { href: front.image }, h('img', { src: front.thumbnails?.['500'] ?? front.image, alt: `Front cover of ${kind === 'release' ? 'release' : 'release group'} ${mbid}` })),
          h(
            'div',
            {},
            h('p', {}, `Image ${front.id}`, front.comment ? ` — ${front.comment}` : ''),
            sizeTable([
              ['Original', base, front.image],
              ['250 px', `${base}-250`, front.thumbnails?.['250']],
              ['500 px', `${base}-500`, front.thumbnails?.['500']],
              ['1200 px', `${base}-1200`, front.thumbnails?.['1200']],
            ]),
          ),
        )
      : h('p', { class: 'muted' }, 'No image is typed Front.'),
  );
}

/** The front (else the first served image) opened zoomable, through the IIIF Image API. */
function deepViewOfFront(index) {
  const image = index.images.find((candidate) => candidate.front && candidate.approved) ?? index.images.find((candidate) => candidate.approved);
  return image ? deepViewPanel(`caa-${image.id}`, `Image ${image.id}`) : null;
}

export async function render(main, rawMbid) {
  const mbid = rawMbid.toLowerCase();
  setTitle(`Release ${mbid}`);
  if (!MBID_PATTERN.test(mbid)) {
    clear(main, h('h1', {}, 'Release'), notice('error', `“${rawMbid}” is not a MusicBrainz id (a UUID such as 76df3287-6cda-33eb-8e9a-044b5e15ffdd).`));
    return;
  }
  clear(main, h('p', { class: 'muted' }, 'Loading…'));
  const release = await listing('release', mbid);
  if (release.ok && release.data?.images) {
    const index = release.data;
    const canonical = releaseMbidOf(index) ?? mbid;
    clear(
      main,
      h('h1', {}, 'Release ', h('span', { class: 'mono' }, canonical)),
      canonical !== mbid ? notice('info', `${mbid} was merged into this release.`) : null,
      h('p', {}, h('a', { href: index.release }, 'This release on MusicBrainz'), ' · ', h('a', { href: `/release/${mbid}` }, 'index.json')),
      h('p', { class: 'small muted' }, 'Paths below are on ', h('code', {}, location.origin), '; each answers 307 to its file.'),
      frontPanel('Front', canonical, index, 'release'),
      deepViewOfFront(index),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'images-title' },
        h('h2', { id: 'images-title' }, `Images in order (${index.images.length})`),
        index.images.length ? h('ol', { class: 'images' }, index.images.map((image, i) => imageCard(canonical, image, i + 1))) : h('p', { class: 'muted' }, 'This release has no images.'),
      ),
    );
    return;
  }
  if (release.status !== 404) {
    clear(main, h('h1', {}, 'Release'), errorNotice('', release));
    return;
  }
  const group = await listing('release-group', mbid);
  if (group.ok && group.data?.images) {
    const index = group.data;
    const chosen = releaseMbidOf(index);
    clear(
      main,
      h('h1', {}, 'Release group ', h('span', { class: 'mono' }, mbid)),
      h('p', { class: 'small muted' }, 'Paths below are on ', h('code', {}, location.origin), '; each answers 307 to its file.'),
      h('p', {}, 'The group shows the front of its chosen release', chosen ? [': ', h('a', { href: `/ui/release/${chosen}` }, h('span', { class: 'mono' }, chosen))] : '', '.'),
      frontPanel('The release group’s chosen front', mbid, index, 'release-group'),
    );
    return;
  }
  clear(
    main,
    h('h1', {}, 'Release ', h('span', { class: 'mono' }, mbid)),
    notice('info', `No release or release group ${mbid} has cover art here.`),
    h('p', {}, h('a', { href: '/ui/upload' }, 'Upload an image for this release'), ' · ', h('a', { href: '/' }, 'Search again')),
  );
}
