// The deep view: an image opened in OpenSeadragon (served by Jacket itself from the npm package, no CDN), fed by the
// image's IIIF info.json, so the viewer asks for the tiles it needs as the reader zooms. Also the ready-made
// <img srcset> snippet for putting a cover on a web page at the widths pages ask for.
import { h } from './lib.js';

const VIEWER = '/ui/vendor/openseadragon/';
/** Widths a page typically wants (1×, 2× and 4× of a 180 px slot); never wider than the original. */
const SRCSET_WIDTHS = [180, 360, 720];

let viewerScript;

/** OpenSeadragon, loaded once, on first use: most visitors never zoom, and it is the largest script here. */
function openSeadragon() {
  viewerScript ??= new Promise((resolve, reject) => {
    // OpenSeadragon adds an inline <style> (no focus outline on touch screens) unless one marked like this exists;
    // the CSP refuses inline styles, so the marker is empty and the rule lives in style.css.
    document.head.append(h('style', { 'data-openseadragon-mobile-css': 'true' }));
    const script = h('script', { src: `${VIEWER}openseadragon.min.js` });
    script.addEventListener('load', () => resolve(window.OpenSeadragon));
    script.addEventListener('error', () => reject(new Error('The viewer could not be loaded.')));
    document.head.append(script);
  });
  return viewerScript;
}

/** The base URI of a IIIF image (`cover-12`, `caa-34`) on this server. */
export function iiifBase(identifier) {
  return new URL(`/iiif/3/${identifier}`, location.origin).toString();
}

/** Open the image in the viewer inside `slot` (replacing what it showed). */
export async function openDeepView(slot, identifier, label) {
  const element = h('div', { class: 'deep-view', role: 'img', 'aria-label': `${label}, zoomable: drag to pan, scroll or pinch to zoom` });
  slot.replaceChildren(element);
  try {
    const OpenSeadragon = await openSeadragon();
    OpenSeadragon({ element, tileSources: `${iiifBase(identifier)}/info.json`, prefixUrl: `${VIEWER}images/`, showNavigator: true, navigatorPosition: 'BOTTOM_RIGHT' });
  } catch (error) {
    slot.replaceChildren(h('p', { class: 'error' }, error.message));
  }
}

/** A panel with a button that opens the image in the deep view. */
export function deepViewPanel(identifier, label) {
  const slot = h('div', { class: 'deep-view-slot' });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'deep-view-title' },
    h('h2', { id: 'deep-view-title' }, 'Deep view'),
    h('p', { class: 'small muted' }, 'The original, zoomable, through the IIIF Image API: ', h('a', { href: `${iiifBase(identifier)}/info.json` }, h('code', {}, `/iiif/3/${identifier}/info.json`)), '.'),
    h('button', { type: 'button', onclick: () => openDeepView(slot, identifier, label) }, 'Open the zoomable view'),
    slot,
  );
}

/** `<img srcset>` markup for a cover of `width` pixels, at the usual widths, from the IIIF dialect. */
export function srcsetSnippet(identifier, width, alt) {
  const widths = SRCSET_WIDTHS.filter((candidate) => candidate < width);
  if (widths.length < SRCSET_WIDTHS.length) widths.push(width);
  const url = (w) => `${iiifBase(identifier)}/full/${w},/0/default.jpg`;
  const srcset = widths.map((w) => `${url(w)} ${w}w`).join(',\n            ');
  return `<img src="${url(widths[Math.min(1, widths.length - 1)])}"\n     srcset="${srcset}"\n     sizes="180px" alt="${alt.replaceAll('"', '&quot;')}">`;
}
