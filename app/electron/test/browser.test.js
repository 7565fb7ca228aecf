'use strict';
// The inbox in a real browser (Debian's Chromium driven by playwright-core) against a real
// `chatstats up --demo`: the chat list and a conversation render; a message written to the demo source
// shows in the open conversation within a second, and so do an edit, a tapback and an unsend; search
// finds the message and opens its chat; Eve streams an answer with citations; the page without a token
// says what to do, and the token leaves the address bar; the chat list holds still under the pointer during a
// burst of live messages; the keyboard walks it; an image on disk shows as a thumbnail; dark mode at 1280 and
// 800 px. Full-page screenshots of each step go to test-results/screenshots/ for a person to look at.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { after, before, describe, it } = require('node:test');

const { Sidecar, findBackendCommand, REPO_ROOT } = require('../sidecar');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const COMMAND = findBackendCommand();
const PYTHON = process.env.CHATSTATS_PYTHON || path.join(path.dirname(COMMAND), 'python');
const WRITER = path.join(__dirname, 'helpers', 'write_source.py');
const SHOTS = path.join(REPO_ROOT, 'test-results', 'screenshots');
const VIEWPORT = { width: 1280, height: 800 };
const LIVE_BUDGET_MS = 1000;

function skipReason() {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}: install chromium: apt-get install chromium`;
  if (path.isAbsolute(COMMAND) && !fs.existsSync(COMMAND)) return `no backend at ${COMMAND}: run \`make install\``;
  if (!fs.existsSync(PYTHON)) return `no Python at ${PYTHON} for the source writer: run \`make install\``;
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed: npm install --ignore-scripts';
  }
  return false;
}

/** The environment of the backend and the writer: ours without CHATSTATS_* settings, on a fresh data dir. */
function backendEnv(dataDir) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CHATSTATS_')));
  // a cold start on a loaded machine may need longer than up's 60 s: CHATSTATS_START_TIMEOUT_S passes through
  const start = process.env.CHATSTATS_START_TIMEOUT_S ? { CHATSTATS_START_TIMEOUT_S: process.env.CHATSTATS_START_TIMEOUT_S } : {};
  return { ...env, ...start, CHATSTATS_DATA_DIR: dataDir, CHATSTATS_LOG_LEVEL: 'INFO' };
}

/** helpers/write_source.py, kept running: one JSON command in, one JSON answer out. */
class SourceWriter {
  constructor(env) {
    this.child = spawn(PYTHON, [WRITER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.answers = [];
    this.waiting = [];
    this.stderr = '';
    this.child.stderr.on('data', (chunk) => { this.stderr += chunk; });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line);
      const waiter = this.waiting.shift();
      if (waiter) waiter(answer);
      else this.answers.push(answer);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  next() {
    if (this.answers.length) return Promise.resolve(this.answers.shift());
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      this.exited.then(() => reject(new Error(`the source writer exited: ${this.stderr.slice(-2000)}`)));
    });
  }

  async send(command) {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    const answer = await this.next();
    assert.ok(answer.ok, `writer ${command.op}: ${answer.error}`);
    return answer;
  }

  async close() {
    this.child.stdin.end();
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** A word nothing else in the demo data contains (letters only, so full-text search keeps it whole). */
function uniqueWord(prefix) {
  const letters = Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26)));
  return `${prefix}${letters.join('')}`;
}

describe('the inbox in Chromium against chatstats up --demo', { skip: skipReason(), timeout: 120000 }, () => {
  let sidecar;
  let browser;
  let page;
  let writer;
  let ready;
  let dataDir;
  let chatId;
  const logs = [];
  const pageErrors = [];
  const consoleErrors = [];
  const word = uniqueWord('zephyrquill');
  let live; // {guid} of the message written during the test

  const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  /** Starts watching the page for an element matching `selector` (and containing `text`, when given);
   * returns a function that resolves with the page's clock (ms) at the DOM change that brought it. */
  async function watchFor(selector, text = '', timeout = 5000) {
    const key = await page.evaluate(([sel, needle]) => {
      const found = () => [...document.querySelectorAll(sel)].some((node) => node.textContent.includes(needle));
      const id = `w${Math.random().toString(36).slice(2)}`;
      window.__shownAt = window.__shownAt || {};
      const observer = new MutationObserver(() => {
        if (found()) {
          window.__shownAt[id] = Date.now();
          observer.disconnect();
        }
      });
      if (found()) window.__shownAt[id] = Date.now();
      else observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      return id;
    }, [selector, text]);
    return async () => (await page.waitForFunction((id) => window.__shownAt[id], key, { timeout })).jsonValue();
  }

  /** Time from just before a write to the DOM showing it; printed, and returned. */
  async function timeWrite(label, command, selector, text) {
    const shown = await watchFor(selector, text);
    const start = Date.now();
    const answer = await writer.send(command);
    const ms = (await shown()) - start;
    console.log(`# ${label}: shown in the open conversation ${ms} ms after the write`);
    return { answer, ms };
  }

  before(async () => {
    const { chromium } = require('playwright-core');
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = fs.mkdtempSync('/tmp/cs-'); // short: the redis socket path has a length limit
    const env = backendEnv(dataDir);
    sidecar = new Sidecar({
      command: COMMAND, args: ['up', '--demo', '--demo-messages', '3000', '--demo-rate', '0'], env,
      log: (line) => { logs.push(line); if (logs.length > 200) logs.shift(); },
    });
    const started = Date.now();
    const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      ready = await sidecar.start();
    } catch (error) {
      await launching.then((b) => b.close(), () => {});
      throw new Error(`chatstats up failed: ${error.message}\n${logs.slice(-40).join('\n')}`);
    }
    console.log(`# chatstats up --demo (3000 messages) was ready in ${Date.now() - started} ms`);
    writer = new SourceWriter(env);
    browser = await launching;
    assert.ok((await writer.next()).ready);
    page = await browser.newPage({ viewport: VIEWPORT });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (writer) await writer.close();
    const stopping = Date.now();
    if (sidecar) await sidecar.stop();
    console.log(`# chatstats up stopped in ${Date.now() - stopping} ms`);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A JSON call to the backend with the token; asserts the status. */
  async function call(method, route, status = 200) {
    const response = await fetch(`${ready.url}${route}`, { method, headers: { Authorization: `Bearer ${ready.token}` } });
    assert.equal(response.status, status, `${method} ${route}: ${response.status}`);
    return response.json();
  }

  it('starts analysing the whole history by itself (the demo uses the local analyzer)', async () => {
    let onboarding;
    for (let i = 0; i < 600 && !(onboarding = await call('GET', '/api/analysis/onboarding')).run; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(onboarding.status, 'started');
    assert.equal(onboarding.run.scope, 'history');
    // stop it here: the live tests below keep their budget, and the chat opened later still has history to analyse
    const run = await call('GET', `/api/analysis/runs/${onboarding.run.id}`);
    if (run.status === 'queued' || run.status === 'running') await call('POST', `/api/analysis/runs/${run.id}/cancel`);
  });

  it('shows the chat list, and a chat opened from it shows its messages', async () => {
    await page.goto(ready.app_url);
    await page.getByRole('region', { name: 'Key figures' }).waitFor(); // the overview is the landing page
    await page.getByRole('link', { name: 'Chats', exact: true }).click();
    await page.getByRole('listbox', { name: 'Chat list' }).getByRole('option').nth(5).waitFor();
    await page.locator('#messages li.msg').first().waitFor();
    assert.ok(!page.url().includes('token'), `the token is still in the address: ${page.url()}`);
    assert.ok(!(await page.evaluate(() => location.href)).includes(ready.token));
    await page.locator('#status[data-state="live"]').waitFor();
    assert.equal(await page.getByRole('status', { name: 'Live sync status' }).textContent().then((t) => t.trim()), 'Live');
    await shot('01-inbox');

    // open the second chat (the first is open already): the write below must move it to the top
    const second = page.getByRole('listbox', { name: 'Chat list' }).getByRole('option').nth(1);
    const name = await second.getAttribute('aria-label');
    chatId = Number(await second.getAttribute('data-chat-id'));
    await second.click();
    await page.getByRole('heading', { name, exact: true }).waitFor();
    await page.waitForFunction((id) => {
      const rows = document.querySelectorAll('#messages li.msg');
      return rows.length >= 3 && document.querySelector('.chat-item[aria-selected="true"]')?.dataset.chatId === String(id);
    }, chatId);
    assert.equal(await page.locator('.chat-item[aria-selected="true"]').getAttribute('aria-label'), name);
    await page.getByRole('region', { name: 'Analysis coverage' }).waitFor();
    await shot('02-conversation');
  });

  it('shows a message written to the source in the open conversation within 1 s', async () => {
    // the pointer leaves the chat list (the click left it there): a list under the pointer holds still
    await page.mouse.move(VIEWPORT.width / 2, VIEWPORT.height / 2);
    // one long sentence, so that Eve's answer quoting it streams in more than one piece
    const text = `the ${word} lantern festival moved to the old boathouse by the river, bring warm coats, `
      + 'a thermos of cocoa, the folding chairs from the garage and the spare batteries for the big camera';
    const { answer, ms } = await timeWrite('new message', { op: 'message', chat_id: chatId, text },
      '#messages li.msg', word);
    live = { guid: answer.guid, text };
    assert.ok(ms < LIVE_BUDGET_MS, `the new message took ${ms} ms to show (budget ${LIVE_BUDGET_MS} ms)`);
    const row = page.locator(`#messages li.msg[data-guid="${live.guid}"]`);
    assert.match(await row.textContent(), new RegExp(word));
    // the chat list moved the chat to the top and shows the message as its preview
    await page.waitForFunction(([id, w]) => {
      const first = document.querySelector('#chat-list .chat-item');
      return first?.dataset.chatId === String(id) && first.textContent.includes(w);
    }, [chatId, word]);
    await shot('03-new-message');
  });

  it('shows an edit, a tapback and an unsend as they happen', async () => {
    const tapback = await timeWrite('tapback', { op: 'tapback', guid: live.guid, kind: 2001 },
      `#messages li[data-guid="${live.guid}"] .reaction[data-kind="like"]`);

    // markup in a message is text, never markup
    const other = await writer.send({ op: 'message', chat_id: chatId, text: '<b>see</b> you at <img src=x> eight' });
    const otherRow = page.locator(`#messages li[data-guid="${other.guid}"]`);
    await otherRow.waitFor();
    assert.match(await otherRow.textContent(), /<b>see<\/b> you at <img src=x> eight/);
    assert.equal(await otherRow.locator('b, img').count(), 0);
    const edit = await timeWrite('edit', { op: 'edit', guid: other.guid, text: 'see you at nine instead' },
      `#messages li[data-guid="${other.guid}"]:has(.msg-edited)`, 'nine instead');
    await shot('04-edit-and-tapback');

    const unsend = await timeWrite('unsend', { op: 'unsend', guid: other.guid },
      `#messages li.msg.unsent[data-guid="${other.guid}"]`);
    const unsent = page.locator(`#messages li[data-guid="${other.guid}"]`);
    assert.match(await unsent.textContent(), /unsent a message/);
    assert.doesNotMatch(await unsent.textContent(), /nine instead/);
    for (const [label, { ms }] of Object.entries({ tapback, edit, unsend })) {
      assert.ok(ms < LIVE_BUDGET_MS, `the ${label} took ${ms} ms to show (budget ${LIVE_BUDGET_MS} ms)`);
    }
    await shot('05-unsend');
  });

  it('finds the message by a word of it, and a click on the result opens its chat at the message', async () => {
    // leave the chat first, so that the click has to open it
    const elsewhere = page.locator(`.chat-item:not([data-chat-id="${chatId}"])`).first();
    await elsewhere.click();
    await page.waitForFunction((id) => document.querySelector('.chat-item[aria-selected="true"]')?.dataset.chatId !== String(id), chatId);

    await page.getByRole('searchbox', { name: 'Search messages' }).fill(word);
    await page.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
    const hit = page.getByRole('list', { name: 'Search results' }).locator(`li.search-hit[data-chat-id="${chatId}"]`);
    await hit.first().waitFor();
    assert.match(await hit.first().textContent(), new RegExp(word));
    await shot('06-search-results');

    await hit.first().click();
    const row = page.locator(`#messages li.msg.highlight[data-guid="${live.guid}"]`);
    await row.waitFor();
    assert.equal(await page.locator('.chat-item[aria-selected="true"]').getAttribute('data-chat-id'), String(chatId));
    assert.ok(await row.isVisible());
    await shot('07-search-opened');
  });

  it('opens a hit far back in a long chat at the message, and fills the gap up to the newest ones', async () => {
    const api = async (route) => {
      const response = await fetch(`${ready.url}${route}`, { headers: { Authorization: `Bearer ${ready.token}` } });
      assert.equal(response.status, 200, `${route}: ${response.status}`);
      return response.json();
    };
    const { chats } = await api('/api/chats?limit=200');
    const busiest = chats.reduce((a, b) => (b.message_count > a.message_count ? b : a));
    assert.ok(busiest.message_count > 300, `the busiest demo chat has ${busiest.message_count} messages`);
    let listed = await api(`/api/chats/${busiest.id}/messages?limit=500`);
    const newest = listed.messages[0];
    while (listed.next_before_id !== null) {
      listed = await api(`/api/chats/${busiest.id}/messages?limit=500&before_id=${listed.next_before_id}`);
    }
    const oldest = listed.messages[listed.messages.length - 1];
    const far = uniqueWord('quokkaledger');
    const old = await writer.send({ op: 'message', chat_id: busiest.id, text: `the ${far} from the early days`,
      at: oldest.sent_at / 1000 + 1 });
    const deadline = Date.now() + 5000; // mirrored (and indexed) before the page looks for it
    while (!(await api(`/api/search?q=${far}`)).results.length) {
      assert.ok(Date.now() < deadline, 'the backdated message never became searchable');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const search = page.getByRole('searchbox', { name: 'Search messages' });
    await search.fill(far);
    await search.press('Enter');
    const hit = page.getByRole('list', { name: 'Search results' }).locator(`li.search-hit[data-chat-id="${busiest.id}"]`);
    await hit.first().waitFor({ timeout: 10000 });
    await hit.first().click();
    const row = page.locator(`#messages li.msg.highlight[data-guid="${old.guid}"]`);
    await row.waitFor();
    assert.ok(await row.isVisible());
    const gap = page.getByRole('separator', { name: 'newer messages not loaded' });
    assert.equal(await gap.count(), 1, 'the jump leaves a gap between the hit and the newest messages');
    assert.equal(await page.locator(`#messages li[data-message-id="${newest.id}"]`).count(), 1,
      'the newest messages stay loaded');
    await shot('07b-far-back-hit');
    await gap.getByRole('button').click();
    await page.waitForFunction(() => !document.querySelector('#messages li.gap'));
    const shown = await page.locator('#messages li.msg').count();
    assert.ok(shown > 250, `after filling the gap ${shown} messages are shown`);
  });

  it('keeps the chat list still under the pointer during a burst of live messages, then moves it', async () => {
    const list = page.getByRole('listbox', { name: 'Chat list' });
    const rows = list.getByRole('option');
    const target = rows.nth(3);
    const targetId = await target.getAttribute('data-chat-id');
    await target.hover();
    const before = await page.evaluate(() => [...document.querySelectorAll('#chat-list .chat-item')].map((n) => n.dataset.chatId));
    const boxBefore = await target.boundingBox();
    // a burst into chats below the hovered one: each would move to the top
    const below = before.slice(5, 11).map(Number);
    for (const [i, id] of below.entries()) await writer.send({ op: 'message', chat_id: id, text: `burst ${i} ${word}` });
    const marker = page.locator('#chat-list .chat-new-marker:not([hidden]) .chat-new-pill');
    await marker.waitFor();
    // every write has reached the page, and the pill counts the chats waiting to move up
    await page.waitForFunction((n) => parseInt(document.querySelector('#chat-list .chat-new-pill')?.textContent, 10) >= n,
      below.length);
    // every write has reached the page (their previews refresh in place) and nothing moved
    await page.waitForFunction(([ids, w]) => ids.every((id) => document.querySelector(
      `#chat-list .chat-item[data-chat-id="${id}"]`)?.textContent.includes(w)), [below, word]);
    const during = await page.evaluate(() => [...document.querySelectorAll('#chat-list .chat-item')].map((n) => n.dataset.chatId));
    assert.deepEqual(during, before, 'the list re-ordered under the pointer');
    const boxDuring = await target.boundingBox();
    assert.equal(Math.round(boxDuring.y), Math.round(boxBefore.y), 'the hovered row moved');
    await shot('10-list-held-under-pointer');
    await target.click(); // lands on the chat aimed at
    await page.waitForFunction((id) => document.querySelector('.chat-item[aria-selected="true"]')?.dataset.chatId === id, targetId);
    // the pointer leaves: the waiting chats move up
    await page.mouse.move(VIEWPORT.width / 2, VIEWPORT.height / 2);
    await page.waitForFunction((ids) => ids.includes(Number(document.querySelector('#chat-list .chat-item')?.dataset.chatId)), below);
    assert.ok(await page.locator('#chat-list .chat-new-marker').isHidden());
  });

  it('walks the chats with the keyboard: arrows, Enter, / and Ctrl-K to search, Esc back', async () => {
    await page.locator('#chat-list .chat-item[aria-selected="true"]').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const focused = await page.evaluate(() => document.activeElement?.dataset.chatId);
    const order = await page.evaluate(() => [...document.querySelectorAll('#chat-list .chat-item')].map((n) => n.dataset.chatId));
    const selected = await page.locator('.chat-item[aria-selected="true"]').getAttribute('data-chat-id');
    assert.equal(order.indexOf(focused), order.indexOf(selected) + 2);
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => document.querySelector('.chat-item[aria-selected="true"]')?.dataset.chatId === id, focused);
    await page.keyboard.press('ArrowUp');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.chatId), order[order.indexOf(focused) - 1]);

    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
    await page.keyboard.type(`${word} after:2001-01-01`);
    await page.keyboard.press('Enter');
    await page.getByRole('list', { name: 'Search results' }).locator('li.search-hit').first().waitFor();
    const status = await page.locator('#search-status').textContent();
    assert.match(status, /^\d+ messages? /);
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#search-input').inputValue(), '');
    assert.equal(await page.locator('#search-results li').count(), 0);
    assert.ok(await page.evaluate(() => document.activeElement?.classList.contains('chat-item')));
    await page.keyboard.press('Control+k');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
    await page.keyboard.press('Escape');
  });

  it('shows an image attachment on disk as a thumbnail', async () => {
    // a real PNG attached to the message written earlier (central.db is the mirror; the row is what the
    // importer would have written for a file on disk)
    const png = path.join(dataDir, 'IMG_4242.PNG');
    const script = [
      'import sqlite3, sys',
      'from PIL import Image',
      "Image.new('RGB', (640, 480), (40, 140, 220)).save(sys.argv[1])",
      'db = sqlite3.connect(sys.argv[2], timeout=30)',
      "mid = db.execute('SELECT id FROM messages WHERE guid = ?', (sys.argv[3],)).fetchone()[0]",
      "db.execute(\"INSERT INTO attachments (guid, message_id, path, transfer_name, mime_type, total_bytes, file_present) VALUES ('thumb-test', ?, ?, 'IMG_4242.PNG', 'image/png', 1234, 1)\", (mid, sys.argv[1]))",
      'db.commit()',
    ].join('\n');
    const { spawnSync } = require('node:child_process');
    const made = spawnSync(PYTHON, ['-c', script, png, path.join(dataDir, 'central.db'), live.guid], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    await page.evaluate((id) => { location.hash = `#/chats/${id}`; }, chatId);
    await page.reload(); // the conversation loads afresh, with the new attachment row
    const thumb = page.locator(`#messages li[data-guid="${live.guid}"] img.attachment-thumb`);
    await thumb.waitFor();
    await page.waitForFunction((guid) => document.querySelector(`#messages li[data-guid="${guid}"] img.attachment-thumb`)?.naturalWidth > 0, live.guid);
    assert.deepEqual(await thumb.evaluate((img) => [img.naturalWidth, img.naturalHeight]), [256, 192]);
    await thumb.scrollIntoViewIfNeeded();
    await shot('11-thumbnail');
  });

  it('follows the system into dark mode, and folds the panes at 800 px', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    const luminance = () => page.evaluate(() => {
      const [r, g, b] = getComputedStyle(document.documentElement).backgroundColor.match(/\d+/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    });
    assert.ok(await luminance() < 0.2, 'the page is not dark');
    await shot('12-dark-1280');
    await page.setViewportSize({ width: 800, height: 700 });
    const boxes = await page.evaluate(() => Object.fromEntries(['.pane-chats', '.pane-conversation', '.pane-side']
      .map((sel) => [sel, document.querySelector(sel).getBoundingClientRect().toJSON()])));
    assert.ok(boxes['.pane-side'].top >= boxes['.pane-conversation'].bottom - 1, 'the side panel sits under the conversation');
    assert.ok(boxes['.pane-conversation'].right <= 800 && boxes['.pane-side'].right <= 800, 'nothing runs off the window');
    assert.ok(boxes['.pane-chats'].width >= 150, 'the chat list keeps its names');
    await shot('13-dark-800');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.ok(await luminance() > 0.8, 'the page did not follow the system back to light');
    await shot('14-light-800');
    await page.setViewportSize(VIEWPORT);
  });

  it('streams an answer from Eve, token by token, with citations', async () => {
    await page.getByRole('tab', { name: 'Eve' }).click();
    await page.getByRole('button', { name: 'New Eve thread' }).click();
    // count each piece the answer grows by while it streams, until it is settled by `final`
    await page.evaluate(() => {
      const log = document.getElementById('eve-messages');
      window.__eve = { growth: [], finalSeen: false };
      new MutationObserver((records) => {
        for (const record of records) {
          const answer = record.target.closest?.('.eve-msg.assistant');
          if (!answer || window.__eve.finalSeen) continue;
          if (record.type === 'attributes' && !answer.classList.contains('streaming')) window.__eve.finalSeen = true;
          else if (record.type === 'childList' && record.target.classList.contains('eve-text') && record.addedNodes.length) {
            window.__eve.growth.push(record.target.textContent.length);
          }
        }
      }).observe(log, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] });
    });
    await page.getByRole('textbox', { name: 'Question for Eve' }).fill(`Where is the ${word} lantern festival?`);
    await page.getByRole('button', { name: 'Send question' }).click();
    const answer = page.locator('#eve-messages .eve-msg.assistant').last();
    await answer.locator('.citation').first().waitFor({ timeout: 20000 });
    const { growth, finalSeen } = await page.evaluate(() => window.__eve);
    console.log(`# Eve: the answer grew ${growth.length} times before final (lengths ${growth.join(', ')})`);
    assert.ok(finalSeen, 'the answer never left its streaming state');
    assert.ok(growth.length >= 2, `expected at least two text_delta updates before final, saw ${growth.length}`);
    assert.ok(growth.every((n, i) => i === 0 || n > growth[i - 1]), `the answer did not grow: ${growth}`);
    assert.match(await answer.locator('.eve-text').textContent(), new RegExp(word));
    const citations = await answer.locator('.citation').allTextContents();
    assert.ok(citations.some((c) => c.includes(word)), `no citation quotes the message: ${citations}`);
    await shot('08-eve-answer');
  });

  it('shows how much of a chat is analysed, and its action analyses the rest as the counter moves', async () => {
    await page.getByRole('tab', { name: 'Analysis' }).click();
    const line = page.getByRole('region', { name: 'Analysis coverage' }).locator('.coverage-line');
    await line.waitFor();
    await page.waitForFunction(() => document.querySelector('.coverage-line')?.dataset.total !== undefined);
    const shown = await line.textContent();
    const coverage = await call('GET', `/api/analysis/coverage?chat_id=${chatId}`);
    if (!coverage.active_run_ids.length) {
      assert.match(shown, new RegExp(`^${coverage.analysed} of ${coverage.total} conversations? analysed`));
    }
    assert.ok(coverage.total > 0, 'the chat has conversations to analyse');
    const button = page.getByRole('button', { name: 'Analyse this chat\u2019s history' });
    if (coverage.remaining > 0) {
      await button.waitFor();
      await page.waitForFunction(() => !document.querySelector('.coverage-actions button.primary')?.disabled,
        undefined, { timeout: 60000 });
      await button.click();
      const { runs } = await call('GET', '/api/analysis/runs?limit=5');
      const started = runs.find((r) => r.scope === 'chat' && r.params.chat_id === chatId);
      assert.ok(started, `no run for chat ${chatId} among ${JSON.stringify(runs.map((r) => r.scope))}`);
      await page.waitForFunction((total) => document.querySelector('.coverage-line')?.dataset.analysed === String(total),
        coverage.total, { timeout: 90000 });
      await shot('08b-chat-analysed');
    }
    const after = await call('GET', `/api/analysis/coverage?chat_id=${chatId}`);
    assert.equal(after.analysed, after.total);
    assert.equal(await line.getAttribute('data-analysed'), String(after.analysed));
    assert.ok(await button.isHidden(), 'the action stays only while something is left to analyse');
    assert.doesNotMatch(await page.locator('#analysis').textContent(), /chatstats\/offline/);
    const person = page.locator('.coverage-people li').first();
    await person.waitFor();
    const theirs = await call('GET', `/api/analysis/coverage?contact_id=${await person.getAttribute('data-contact-id')}`);
    assert.match(await person.textContent(), new RegExp(` ${theirs.analysed} of ${theirs.total} conversations? analysed`));
  });

  it('answers "Who do I text the most?" offline with the right name and count', async () => {
    await page.getByRole('tab', { name: 'Eve' }).click();
    await page.getByRole('button', { name: 'New Eve thread' }).click();
    const top = await writer.send({ op: 'top_person' });
    await page.getByRole('textbox', { name: 'Question for Eve' }).fill('Who do I text the most?');
    await page.getByRole('button', { name: 'Send question' }).click();
    const answer = page.locator('#eve-messages .eve-msg.assistant').last();
    await answer.locator('.citation').first().waitFor({ timeout: 20000 });
    const text = await answer.locator('.eve-text').textContent();
    console.log(`# Eve: ${text}`);
    assert.ok(text.startsWith(`You text ${top.name} the most of all time: ${top.messages.toLocaleString('en-US')} messages`),
      `expected ${top.name} with ${top.messages} messages, Eve said: ${text}`);
    await shot('09-eve-top-person');
  });

  it('without a token, says to open the address printed by chatstats up', async () => {
    const bare = await browser.newPage({ viewport: VIEWPORT });
    try {
      await bare.goto(`${ready.url}/app/`);
      const gate = bare.getByRole('alert', { name: 'Token missing' });
      await gate.waitFor();
      assert.match(await gate.textContent(), /chatstats up/);
      assert.ok(await bare.locator('#panes').isHidden());
      await bare.screenshot({ path: path.join(SHOTS, '09-no-token.png'), fullPage: true });
    } finally {
      await bare.close();
    }
    assert.deepEqual(pageErrors, [], 'the inbox page threw');
    if (consoleErrors.length) console.log(`# console errors: ${consoleErrors.join(' | ')}`);
    assert.deepEqual(consoleErrors.filter((text) => /Content Security Policy/i.test(text)), [],
      'the page broke its Content-Security-Policy');
  });
});
