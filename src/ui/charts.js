// Bar charts drawn as inline SVG (no chart library; the CSP allows no inline styles, so colours come from classes in
// style.css). Each chart is a figure whose picture is described in words, with its numbers in a table beside it for
// anyone who does not see the picture.
import { h } from './lib.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) element.setAttribute(name, String(value));
  for (const child of children.flat()) if (child) element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
}

/** A round top for the axis: 1, 2, 5 × a power of ten. */
function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * power).find((top) => top >= value);
}

function dataTable(id, caption, labelHeading, labels, series) {
  return h(
    'details',
    { class: 'chart-data' },
    h('summary', {}, 'Show the numbers'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id },
        h('caption', { class: 'visually-hidden' }, caption),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, labelHeading), series.map((one) => h('th', { scope: 'col' }, one.name)))),
        h('tbody', {}, labels.map((label, index) => h('tr', {}, h('th', { scope: 'row' }, label), series.map((one) => h('td', {}, one.values[index].toLocaleString()))))),
      ),
    ),
  );
}

/**
 * Vertical bars, one group per label (e.g. a day), one bar per series in the group. `tick(label, index)` is the axis
 * text under a group, or '' for none (30 days do not all fit).
 */
export function columnChart({ id, title, summary, labels, labelHeading, series, tick }) {
  const width = 720;
  const height = 220;
  const left = 44;
  const bottom = 24;
  const plot = { width: width - left - 8, height: height - bottom - 10 };
  const top = niceMax(Math.max(...series.flatMap((one) => one.values)));
  const group = plot.width / labels.length;
  const bar = Math.max(1, (group * 0.8) / series.length);
  const y = (value) => 10 + plot.height - (value / top) * plot.height;
  const grid = [0, 0.5, 1].map((share) =>
    svg('g', { class: 'grid' }, svg('line', { x1: left, x2: width - 8, y1: y(top * share), y2: y(top * share) }), svg('text', { x: left - 6, y: y(top * share) + 4, 'text-anchor': 'end' }, (top * share).toLocaleString())),
  );
  const bars = labels.map((label, index) =>
    svg(
      'g',
      {},
      series.map((one, which) => svg('rect', { class: one.className, x: left + index * group + group * 0.1 + which * bar, y: y(one.values[index]), width: bar, height: Math.max(0, y(0) - y(one.values[index])) }, svg('title', {}, `${label}: ${one.values[index].toLocaleString()} ${one.name.toLowerCase()}`))),
      tick(label, index) ? svg('text', { x: left + index * group + group / 2, y: height - 6, 'text-anchor': 'middle' }, tick(label, index)) : null,
    ),
  );
  return h(
    'figure',
    { class: 'chart', id },
    h('figcaption', { id: `${id}-title` }, title),
    h('div', { class: 'legend' }, series.map((one) => h('span', {}, h('span', { class: `swatch ${one.className}` }), one.name))),
    svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-summary` }, grid, bars),
    h('p', { class: 'small muted', id: `${id}-summary` }, summary),
    dataTable(`${id}-table`, title, labelHeading, labels, series),
  );
}

/** Horizontal bars, one per row, each with its label and number written beside it. */
export function barList({ id, title, rows }) {
  const most = Math.max(1, ...rows.map((row) => row.value));
  return h(
    'figure',
    { class: 'chart', id },
    h('figcaption', {}, title),
    h(
      'ul',
      { class: 'bars' },
      rows.map((row) =>
        h(
          'li',
          {},
          h('span', { class: 'bar-label' }, row.label),
          svg('svg', { viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true', class: 'bar-track' }, svg('rect', { class: row.className ?? 'series-a', x: 0, y: 0, height: 10, width: (row.value / most) * 100 })),
          h('span', { class: 'bar-value' }, row.value.toLocaleString()),
        ),
      ),
    ),
  );
}
