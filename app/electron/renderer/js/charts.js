// Charts of the insights pages: Chart.js (served by the backend at /app/vendor/chart.js/) with axes, labels,
// tooltips and the page's colours, light or dark. Each chart keeps its numbers on the canvas, so the browser
// test can compare them with the API's.

import { h } from './dom.js';

const charts = new Map(); // canvas -> Chart

export const chartLibrary = () => window.Chart || null;

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function palette() {
  return {
    text: css('--text'), muted: css('--muted'), line: css('--line'), sent: css('--me'), received: css('--received'),
    accent: css('--accent'), series: [css('--me'), css('--received'), css('--ok'), css('--warn'), css('--bad'),
      css('--accent'), '#8e5bd6', '#d65b9e', '#3fb7c4', '#9aa13a'],
  };
}

/** A placeholder that says why there is no chart. */
function missing() {
  return h('p', { class: 'muted chart-missing' },
    'Charts need chart.js: run `make install-node` (or `npm ci`) and reload. The numbers are below.');
}

/**
 * A chart in a titled figure. `config` is Chart.js's; `onPick(index)` is called when a bar, point or
 * slice is clicked (the drill-down).
 */
export function chartFigure(title, name, config, { onPick, height = 220 } = {}) {
  const canvas = h('canvas', { role: 'img', 'aria-label': title, dataset: { chart: name } });
  const figure = h('figure', { class: 'chart' }, h('figcaption', {}, title),
    h('div', { class: 'chart-box', style: `height:${height}px` }, canvas));
  const Chart = chartLibrary();
  if (!Chart) {
    figure.append(missing());
    return figure;
  }
  const colors = palette();
  Chart.defaults.color = colors.muted;
  Chart.defaults.borderColor = colors.line;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const chart = new Chart(canvas, {
    ...config,
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: 'nearest', intersect: true },
      plugins: { legend: { labels: { color: colors.text, boxWidth: 12 } }, tooltip: { enabled: true } },
      onClick: (_event, elements) => { if (onPick && elements.length) onPick(elements[0].index, elements[0].datasetIndex); },
      onHover: (event, elements) => { event.native.target.style.cursor = onPick && elements.length ? 'pointer' : 'default'; },
      ...config.options,
    },
  });
  charts.set(canvas, chart);
  return figure;
}

/** Axes with titles, in the page's colours. */
export function axes(xTitle, yTitle, { stacked = false, horizontal = false } = {}) {
  const colors = palette();
  const axis = (title, isValue) => ({
    stacked, title: { display: true, text: title, color: colors.text },
    grid: { color: colors.line, display: isValue }, ticks: { color: colors.muted, precision: 0 },
    beginAtZero: isValue,
  });
  return horizontal ? { x: axis(yTitle, true), y: axis(xTitle, false) } : { x: axis(xTitle, false), y: axis(yTitle, true) };
}

/** Destroy the charts of a view before it is rebuilt (Chart.js holds listeners on its canvas). */
export function destroyCharts(root) {
  for (const [canvas, chart] of charts) {
    if (!canvas.isConnected || root.contains(canvas)) {
      chart.destroy();
      charts.delete(canvas);
    }
  }
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Hour x weekday heatmap as a grid of cells (a tooltip and a click on each). */
export function heatmapFigure(title, heatmap, { onPick } = {}) {
  const max = heatmap.max || 1;
  const rows = heatmap.cells.map((hours, day) => h('div', { class: 'heat-row', role: 'row' },
    h('span', { class: 'heat-label', role: 'rowheader' }, WEEKDAYS[day]),
    hours.map((count, hour) => h('button', {
      type: 'button', class: 'heat-cell', role: 'gridcell', dataset: { weekday: day, hour, count },
      style: `--heat:${count ? 0.12 + 0.88 * (count / max) : 0}`,
      title: `${WEEKDAYS[day]} ${String(hour).padStart(2, '0')}:00–${String(hour).padStart(2, '0')}:59: ${count} messages`,
      'aria-label': `${WEEKDAYS[day]} ${hour}:00, ${count} messages`,
      onclick: onPick && count ? () => onPick(day, hour) : undefined,
    }))));
  const hoursAxis = h('div', { class: 'heat-row heat-axis', 'aria-hidden': 'true' }, h('span', { class: 'heat-label' }),
    Array.from({ length: 24 }, (_, hour) => h('span', { class: 'heat-tick' }, hour % 3 ? '' : String(hour))));
  return h('figure', { class: 'chart heatmap' }, h('figcaption', {}, title),
    h('div', { class: 'heat-grid', role: 'grid', 'aria-label': title, dataset: { chart: 'heatmap' } }, rows, hoursAxis),
    h('p', { class: 'muted small' }, 'Local time; hour of day across, weekday down. Darker: more messages.'));
}
