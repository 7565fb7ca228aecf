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
  const box = h('div', { class: 'chart-box' }, canvas);
  box.style.height = `${height}px`; // through the CSSOM: the page's CSP refuses style attributes
  const figure = h('figure', { class: 'chart' }, h('figcaption', {}, title), box);
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
  applyTheme(chart);
  chart.update('none');
  charts.set(canvas, chart);
  return figure;
}

/** Colours of a chart from the page's current scheme: datasets say their `role` (sent, received, series). */
function applyTheme(chart) {
  const colors = palette();
  for (const scale of Object.values(chart.options.scales || {})) {
    if (scale.grid) scale.grid.color = colors.line;
    if (scale.ticks) scale.ticks.color = colors.muted;
    if (scale.title) scale.title.color = colors.text;
  }
  if (chart.options.plugins?.legend?.labels) chart.options.plugins.legend.labels.color = colors.text;
  for (const dataset of chart.data.datasets) {
    if (dataset.role === 'sent' || dataset.role === 'received') dataset.backgroundColor = colors[dataset.role];
    if (Array.isArray(dataset.roles)) dataset.backgroundColor = dataset.roles.map((role) => colors[role]);
  }
}

// light <-> dark while a page is open: recolour the charts in place
window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', () => {
  for (const chart of charts.values()) {
    applyTheme(chart);
    chart.update('none');
  }
});

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

/** A heatmap cell; its shade goes through the CSSOM (the page's CSP refuses style attributes). */
function heatCell(shade, attrs) {
  const cell = h('button', attrs);
  cell.style.setProperty('--heat', String(shade));
  return cell;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Hour x weekday heatmap as a grid of cells (a tooltip and a click on each). */
export function heatmapFigure(title, heatmap, { onPick } = {}) {
  const max = heatmap.max || 1;
  const rows = heatmap.cells.map((hours, day) => h('div', { class: 'heat-row', role: 'row' },
    h('span', { class: 'heat-label', role: 'rowheader' }, WEEKDAYS[day]),
    hours.map((count, hour) => heatCell(count ? 0.12 + 0.88 * (count / max) : 0, {
      type: 'button', class: 'heat-cell', role: 'gridcell', dataset: { weekday: day, hour, count },
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
