// Pieces the insights pages share: the period picker, figure cards, the people list, the drill-down list of
// the messages behind a figure, and the link to the metric definitions.

import { get } from './api.js';
import { axes, chartFigure, palette } from './charts.js';
import { clear, h } from './dom.js';
import { cleanText, formatDate, formatFull } from './format.js';
import { href } from './router.js';

export const PERIODS = [['30d', 'Last 30 days'], ['this_year', 'This year'], ['last_year', 'Last year'], ['all', 'All time']];

export const number = (n) => (n == null ? '–' : Number(n).toLocaleString());
export const percent = (x) => (x == null ? '–' : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`);

export function duration(seconds) {
  if (seconds == null) return '–';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

export function trend(value) {
  if (value == null) return null;
  const up = value >= 0;
  return h('span', { class: `trend ${up ? 'up' : 'down'}`, title: 'against the period of the same length before' },
    `${up ? '▲' : '▼'} ${Math.abs(value * 100).toFixed(0)}%`);
}

/** Replace a view's content; null and false children are skipped. */
export function fill(node, ...children) {
  clear(node).append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

/** Period buttons; `onChange(preset)` when another is chosen. */
export function periodPicker(current, onChange) {
  return h('div', { class: 'period-picker', role: 'group', 'aria-label': 'Period' },
    PERIODS.map(([value, label]) => h('button', {
      type: 'button', 'aria-pressed': String(value === current), dataset: { period: value },
      onclick: () => onChange(value),
    }, label)));
}

export function header(title, subtitle, ...extra) {
  return h('header', { class: 'insights-header' },
    h('div', {}, h('h1', {}, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    h('div', { class: 'insights-tools' }, extra,
      h('a', { href: href('metrics'), class: 'metrics-link', title: 'How each number is computed' }, 'Definitions')));
}

/** A row of figure cards: [label, value, note?, key?] each. */
export function cards(items) {
  return h('section', { class: 'cards', 'aria-label': 'Key figures' }, items.filter(Boolean).map(([label, value, note, key]) =>
    h('div', { class: 'card', dataset: { figure: key || label } },
      h('div', { class: 'card-value' }, value), h('div', { class: 'card-label' }, label),
      note ? h('div', { class: 'card-note muted' }, note) : null)));
}

export function section(title, ...children) {
  return h('section', { class: 'insights-section', 'aria-label': title }, h('h2', {}, title), children);
}

/** People ranked: names link to their page; a click on a row's count shows the messages. */
export function peopleTable(people, { onMessages } = {}) {
  if (!people.length) return h('p', { class: 'empty' }, 'No one-to-one messages in this period.');
  return h('table', { class: 'people-table' },
    h('thead', {}, h('tr', {}, ['#', 'Person', 'Messages', 'Sent', 'Received', 'Share', 'Trend', 'Last message']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, people.map((p, i) => h('tr', { dataset: { contactId: p.contact_id } },
      h('td', {}, String(i + 1)),
      h('td', {}, h('a', { href: href('person', p.contact_id) }, p.name)),
      h('td', {}, onMessages ? h('button', { type: 'button', class: 'link', onclick: () => onMessages(p) }, number(p.messages))
        : number(p.messages)),
      h('td', {}, number(p.sent)), h('td', {}, number(p.received)), h('td', {}, percent(p.share)),
      h('td', {}, trend(p.trend) || '–'), h('td', {}, formatDate(p.last_message_at))))));
}

export function termList(title, terms) {
  return h('div', { class: 'terms' }, h('h3', {}, title),
    terms.length ? h('ol', {}, terms.map((t) => h('li', {}, h('span', { class: 'term' }, t.value), h('span', { class: 'muted' }, ` ${t.count}`))))
      : h('p', { class: 'muted' }, 'None in this period.'));
}

/** The drill-down: a list of the messages behind a figure, each opening its chat at that message. */
export class DrillDown {
  constructor({ onOpenMessage }) {
    this.onOpenMessage = onOpenMessage;
    this.node = h('section', { class: 'drilldown', 'aria-label': 'Messages behind the figure', hidden: true });
  }

  async show(title, query) {
    clear(this.node).hidden = false;
    this.node.append(h('h2', {}, title), h('p', { class: 'muted' }, 'Loading…'));
    this.node.scrollIntoView({ block: 'nearest' });
    const data = await get('/api/insights/messages', { limit: 200, ...query });
    clear(this.node).append(
      h('header', {}, h('h2', {}, title),
        h('button', { type: 'button', 'aria-label': 'Close', onclick: () => { this.node.hidden = true; } }, 'Close')),
      data.messages.length ? h('ol', { class: 'drill-list' }, data.messages.map((m) => h('li', {},
        h('button', { type: 'button', class: 'drill-item', dataset: { messageId: m.message_id },
          onclick: () => this.onOpenMessage(m.chat_id, m.message_id) },
        h('span', { class: 'drill-meta muted' }, `${formatFull(m.sent_at)} · ${m.chat_name} · ${m.sender}`),
        h('span', { class: 'drill-text' }, cleanText(m.text) || '(no text)'))))) : h('p', { class: 'empty' }, 'No messages.'),
      data.truncated ? h('p', { class: 'muted' }, 'The first 200 are shown.') : null);
  }
}

// Sent and received messages per day, week or month; a bar opens the messages behind it (within `scope`).
export function activityChart(stats, drill, { scope = {}, height = 240 } = {}) {
  const colors = palette();
  const points = stats.activity.points;
  return chartFigure(`Messages per ${stats.activity.bucket}`, 'activity', {
    type: 'bar',
    data: {
      labels: points.map((p) => p.bucket),
      datasets: [
        { label: 'Sent', data: points.map((p) => p.sent), backgroundColor: colors.sent, role: 'sent', stack: 'm' },
        { label: 'Received', data: points.map((p) => p.received), backgroundColor: colors.received, role: 'received', stack: 'm' },
      ],
    },
    options: { scales: axes({ day: 'Day', week: 'Week starting', month: 'Month' }[stats.activity.bucket], 'Messages', { stacked: true }) },
  }, { onPick: (i) => drill.show(`Messages of the ${stats.activity.bucket} of ${points[i].bucket}`,
    { ...scope, since_ms: points[i].start_ms, until_ms: points[i].end_ms }), height });
}
