// What the collection holds and how it is used, from the server's own counters (GET /api/v1/stats), for administrators.
import { administratorsOnly, onSessionChange } from '../app.js';
import { barList, columnChart } from '../charts.js';
import { api, clear, errorNotice, h, setTitle } from '../lib.js';

const KIND_NAMES = { b: 'Book editions', a: 'Authors', w: 'Works' };
const STATE_NAMES = { approved: 'Served', pending: 'Waiting for moderation', rejected: 'Rejected', deleted: 'Deleted' };

function dayLabel(day) {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

function sum(rows, pick) {
  const totals = new Map();
  for (const row of rows) totals.set(pick(row), (totals.get(pick(row)) ?? 0) + row.count);
  return totals;
}

function catalogueCharts(covers) {
  const byKind = sum(covers.filter((row) => !row.deleted), (row) => row.category);
  const byState = sum(covers, (row) => (row.deleted ? 'deleted' : row.status));
  return h(
    'div',
    { class: 'two-col' },
    barList({ id: 'covers-by-kind', title: 'Covers by kind', rows: Object.entries(KIND_NAMES).map(([kind, label]) => ({ label, value: byKind.get(kind) ?? 0 })) }),
    barList({
      id: 'covers-by-state',
      title: 'Covers by state',
      rows: Object.entries(STATE_NAMES).map(([state, label]) => ({ label, value: byState.get(state) ?? 0, className: `state-${state}` })),
    }),
  );
}

function usageChart(days) {
  const requests = days.map((day) => day.requests);
  const renditions = days.map((day) => day.renditions);
  const total = (values) => values.reduce((a, b) => a + b, 0).toLocaleString();
  return columnChart({
    id: 'usage-chart',
    title: 'Requests and new sizes made, per day (last 30 days)',
    summary: `In these 30 days: ${total(requests)} image requests answered and ${total(renditions)} new sizes made from originals. Today: ${requests.at(-1).toLocaleString()} requests.`,
    labels: days.map((day) => dayLabel(day.day)),
    labelHeading: 'Day',
    series: [
      { name: 'Requests', values: requests, className: 'series-a' },
      { name: 'New sizes made', values: renditions, className: 'series-b' },
    ],
    // A tick each week, and today.
    tick: (label, index) => (index % 7 === days.length % 7 || index === days.length - 1 ? label : ''),
  });
}

function topCovers(list) {
  if (list.length === 0) return h('p', { class: 'muted' }, 'No cover has been requested in the last 30 days.');
  return barList({
    id: 'top-covers',
    title: 'Most requested covers (last 30 days)',
    rows: list.map((cover) => ({ label: h('a', { href: `/ui/cover/${cover.id}` }, `Cover ${cover.id}`), value: cover.requests })),
  });
}

let listening = false;

export async function render(main) {
  setTitle('Statistics');
  if (!listening) onSessionChange(() => render(main));
  listening = true;
  const header = [h('h1', {}, 'Statistics'), h('p', { class: 'lede' }, 'What the collection holds and how much it is used, counted by this server (all its instances together).')];
  if (!administratorsOnly(main, header, 'Statistics are for administrators.')) return;
  clear(main, header, h('p', { class: 'muted' }, 'Loading…'));
  const answer = await api('/api/v1/stats', { auth: true });
  if (!answer.ok) {
    clear(main, header, errorNotice('', answer));
    return;
  }
  const { days, topCovers: top, covers } = answer.data;
  clear(
    main,
    header,
    h('section', { class: 'panel', 'aria-labelledby': 'catalogue-title' }, h('h2', { id: 'catalogue-title' }, 'The collection'), catalogueCharts(covers)),
    h('section', { class: 'panel', 'aria-labelledby': 'use-title' }, h('h2', { id: 'use-title' }, 'Use'), usageChart(days), h('p', { class: 'small muted' }, 'A request is one cover or release image answered, by any address (cover id, ISBN, key …). A new size is made the first time a size of an image is asked for; later requests get the stored one.')),
    h('section', { class: 'panel', 'aria-labelledby': 'top-title' }, h('h2', { id: 'top-title' }, 'Most requested'), topCovers(top)),
  );
}
