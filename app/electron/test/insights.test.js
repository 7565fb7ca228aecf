'use strict';
// The insights pages in a real browser (Chromium, playwright-core) against a real `chatstats run` on demo data:
// the overview (the landing page), a person's page and the yearly review draw their charts with exactly the
// API's numbers; a click on a bar lists the messages behind it and opens one; a message written to the demo
// source changes the overview without a reload. Screenshots of each page, light and dark, go to
// test-results/screenshots/insights-*.png.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { after, before, describe, it } = require('node:test');

const { findBackendCommand, REPO_ROOT } = require('../sidecar');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const COMMAND = findBackendCommand();
const PYTHON = process.env.CHATSTATS_PYTHON || path.join(path.dirname(COMMAND), 'python');
const WRITER = path.join(__dirname, 'helpers', 'write_source.py');
const SHOTS = path.join(REPO_ROOT, 'test-results', 'screenshots');
const VIEWPORT = { width: 1280, height: 900 };

function skipReason() {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}: install chromium: apt-get install chromium`;
  if (path.isAbsolute(COMMAND) && !fs.existsSync(COMMAND)) return `no backend at ${COMMAND}: run \`make install\``;
  if (!fs.existsSync(path.join(REPO_ROOT, 'node_modules', 'chart.js'))) return 'chart.js is not installed: npm ci';
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed: npm install --ignore-scripts';
  }
  return false;
}

/** `chatstats run` (import the demo source, then the API alone with live sync): resolves with its ready line. */
function startBackend(env, logs) {
  const child = spawn(COMMAND, ['run', '--demo-messages', '3000', '--demo-rate', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const keep = (line) => { logs.push(line); if (logs.length > 200) logs.shift(); };
  readline.createInterface({ input: child.stderr }).on('line', keep);
  const ready = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line);
      try {
        const status = JSON.parse(line);
        if (status.event === 'ready') resolve(status);
      } catch { /* a log line */ }
    });
    exited.then((code) => reject(new Error(`chatstats run exited with ${code}:\n${logs.slice(-40).join('\n')}`)));
  });
  return { child, ready, exited };
}

function backendEnv(dataDir) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CHATSTATS_')));
  return { ...env, CHATSTATS_DATA_DIR: dataDir, CHATSTATS_LOG_LEVEL: 'INFO' };
}

/** helpers/write_source.py kept running: one JSON command in, one JSON answer out. */
function startWriter(env) {
  const child = spawn(PYTHON, [WRITER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const answers = [];
  const waiting = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const answer = JSON.parse(line);
    (waiting.shift() || ((a) => answers.push(a)))(answer);
  });
  const next = () => (answers.length ? Promise.resolve(answers.shift()) : new Promise((resolve) => waiting.push(resolve)));
  return {
    next,
    async send(command) {
      child.stdin.write(`${JSON.stringify(command)}\n`);
      const answer = await next();
      assert.ok(answer.ok, `writer ${command.op}: ${answer.error}`);
      return answer;
    },
    close() { child.stdin.end(); setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 3000).unref(); },
  };
}

describe('insights in Chromium against chatstats run (demo data)', { skip: skipReason(), timeout: 180000 }, () => {
  let backend;
  let browser;
  let page;
  let ready;
  let dataDir;
  let writer;
  const logs = [];
  const pageErrors = [];

  const api = async (apiPath) => {
    const response = await fetch(new URL(apiPath, ready.url), { headers: { Authorization: `Bearer ${ready.token}` } });
    assert.equal(response.status, 200, `${apiPath}: ${response.status}`);
    return response.json();
  };
  /** The numbers a chart on the page draws, per dataset. */
  const chartData = (view, name) => page.evaluate(([root, chartName]) => {
    const canvas = document.querySelector(`#view-${root} canvas[data-chart="${chartName}"]`);
    const chart = canvas && window.Chart.getChart(canvas);
    return chart ? { labels: chart.data.labels, datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })) } : null;
  }, [view, name]);
  /** The page light and dark, tall enough to hold the whole view (it scrolls inside the window). */
  const shots = async (name) => {
    await page.setViewportSize({ width: VIEWPORT.width, height: 2600 });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      await page.screenshot({ path: path.join(SHOTS, `insights-${name}-${scheme}.png`) });
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize(VIEWPORT);
  };
  const figure = async (view, key) => (await page.locator(`#view-${view} .card[data-figure="${key}"] .card-value`).textContent()).trim();
  const asNumber = (text) => Number(text.replace(/[^\d]/g, ''));

  before(async () => {
    const { chromium } = require('playwright-core');
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync('/tmp/cs-'); // short: the redis socket path has a length limit
    const env = backendEnv(dataDir);
    const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    backend = startBackend(env, logs);
    try {
      ready = await backend.ready;
    } catch (error) {
      await launching.then((b) => b.close(), () => {});
      throw error;
    }
    writer = startWriter(env);
    assert.ok((await writer.next()).ready);
    browser = await launching;
    page = await browser.newPage({ viewport: VIEWPORT });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (writer) writer.close();
    if (backend && backend.child.exitCode === null) {
      backend.child.kill('SIGTERM');
      await Promise.race([backend.exited, new Promise((resolve) => setTimeout(resolve, 10000))]);
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('lands on the overview, whose charts and figures carry the API numbers', async () => {
    await page.goto(ready.app_url);
    await page.locator('#view-overview canvas[data-chart="activity"]').waitFor();
    const o = await api('/api/insights/overview?period=all&limit=15');
    assert.ok(o.messages.total > 1000, `the demo has messages: ${o.messages.total}`);
    assert.equal(asNumber(await figure('overview', 'messages')), o.messages.total);
    assert.equal(asNumber(await figure('overview', 'people')), o.people);
    const activity = await chartData('overview', 'activity');
    assert.deepEqual(activity.labels, o.activity.points.map((p) => p.bucket));
    assert.deepEqual(activity.datasets[0].data, o.activity.points.map((p) => p.sent));
    assert.deepEqual(activity.datasets[1].data, o.activity.points.map((p) => p.received));
    const people = await chartData('overview', 'people');
    assert.deepEqual(people.labels, o.top_people.slice(0, 10).map((p) => p.name));
    assert.deepEqual(people.datasets[0].data.map((n, i) => n + people.datasets[1].data[i]),
      o.top_people.slice(0, 10).map((p) => p.messages));
    const cells = await page.locator('#view-overview .heat-cell').evaluateAll((nodes) => nodes.map((n) => Number(n.dataset.count)));
    assert.deepEqual(cells, o.heatmap.cells.flat());
    const rows = await page.locator('#view-overview .people-table tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.contactId)));
    assert.deepEqual(rows, o.top_people.map((p) => p.contact_id));
    const lightText = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--text').trim());
    await shots('overview');
    // in dark mode the charts take the dark palette (legend and axis text light, not the light theme's)
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => window.Chart.getChart(document.querySelector('#view-overview canvas[data-chart="activity"]'))
      .options.plugins.legend.labels.color === getComputedStyle(document.documentElement).getPropertyValue('--text').trim());
    const darkText = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--text').trim());
    assert.notEqual(darkText, lightText, 'the dark palette has its own text colour');
    // the heatmap shades its cells (set through the CSSOM: the CSP refuses style attributes)
    const shades = await page.locator('#view-overview .heat-cell').evaluateAll((cells) => cells.map((c) => c.style.getPropertyValue('--heat')));
    assert.ok(shades.filter((v) => Number(v) > 0).length > 20, `heat shades: ${shades.slice(0, 30)}`);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('drills down from a bar to its messages and opens one in its chat', async () => {
    const o = await api('/api/insights/overview?period=all&limit=15');
    const index = o.activity.points.length - 1;
    const last = o.activity.points[index];
    await page.evaluate((i) => {
      const chart = window.Chart.getChart(document.querySelector('canvas[data-chart="activity"]'));
      chart.options.onClick({}, [{ index: i, datasetIndex: 0 }], chart);
    }, index);
    const items = page.locator('#view-overview .drilldown .drill-item');
    await items.first().waitFor();
    const expected = await api(`/api/insights/messages?since_ms=${last.start_ms}&until_ms=${last.end_ms}&limit=200`);
    assert.equal(await items.count(), expected.messages.length);
    assert.equal(expected.messages.length, Math.min(200, last.messages));
    const first = expected.messages[0];
    await items.first().click();
    await page.locator(`#messages li.msg.highlight`).waitFor();
    assert.equal(await page.locator('.chat-item[aria-selected="true"]').getAttribute('data-chat-id'), String(first.chat_id));
  });

  it("shows a person's page from the conversation header and the overview, with the API numbers", async () => {
    const o = await api('/api/insights/overview?period=all&limit=15');
    const top = o.top_people[0];
    await page.goto(`${ready.url}/app/#/person/${top.contact_id}`);
    await page.getByRole('heading', { name: top.name }).waitFor();
    await page.locator('#view-profile canvas[data-chart="activity"]').waitFor();
    const p = await api(`/api/insights/people/${top.contact_id}?period=all`);
    assert.equal(p.messages.total, top.messages);
    assert.equal(asNumber(await figure('profile', 'messages')), p.messages.total);
    const activity = await chartData('profile', 'activity');
    assert.deepEqual(activity.datasets[0].data, p.activity.points.map((x) => x.sent));
    assert.deepEqual(activity.datasets[1].data, p.activity.points.map((x) => x.received));
    const emoji = await page.locator('#view-profile .terms').first().locator('.term').allTextContents();
    assert.deepEqual(emoji, p.top_emoji.map((e) => e.value));
    await shots('person');

    // the chat header links to the same page
    await page.getByRole('button', { name: 'Open chat' }).click();
    await page.locator('#conversation-insights:not([hidden])').waitFor();
    await page.locator('#conversation-insights').click();
    await page.getByRole('heading', { name: top.name }).waitFor();
  });

  it('shows the yearly review with the API numbers', async () => {
    const { years } = await api('/api/insights/years');
    const year = years[years.length - 1];
    await page.getByRole('link', { name: 'Year in review' }).click();
    await page.getByRole('heading', { name: `Your ${year} in messages` }).waitFor();
    await page.locator('#view-year canvas[data-chart="months"]').waitFor();
    const y = await api(`/api/insights/years/${year}`);
    assert.equal(asNumber(await figure('year', 'messages')), y.messages.total);
    const months = await chartData('year', 'months');
    const total = months.datasets[0].data.reduce((a, b) => a + b, 0) + months.datasets[1].data.reduce((a, b) => a + b, 0);
    assert.equal(total, y.messages.total);
    for (const point of y.activity.points) {
      const month = Number(point.bucket.slice(5, 7)) - 1;
      assert.equal(months.datasets[0].data[month], point.sent);
    }
    await shots('year');
  });

  it('counts a new message on the overview without a reload', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.locator('#view-overview canvas[data-chart="activity"]').waitFor();
    const before = asNumber(await figure('overview', 'messages'));
    const chatId = (await api('/api/insights/overview?period=all')).top_people[0].chat_ids[0];
    const started = Date.now();
    await writer.send({ op: 'message', chat_id: chatId, text: 'one more for the overview', from_me: true });
    await page.waitForFunction((n) => {
      const text = document.querySelector('#view-overview .card[data-figure="messages"] .card-value')?.textContent || '';
      return Number(text.replace(/[^\d]/g, '')) === n;
    }, before + 1, { timeout: 10000 });
    console.log(`# the overview counted the new message ${Date.now() - started} ms after the write`);
    assert.deepEqual(pageErrors, []);
  });
});
