'use strict';
// The sidecar against the real backend: `chatstats up` spawned, its ready line read, its logs piped,
// a crash answered by a restart, and quitting (or dying) leaving no process behind.

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { test } = require('node:test');

const { sameOrigin, isExternalLink } = require('../navigation');
const { quitSequence } = require('../quitting');
const {
  Sidecar, BackendFailed, backendArgs, findBackendCommand, isReady, parseStatusLine,
} = require('../sidecar');

const COMMAND = findBackendCommand();
const HAVE_BACKEND = path.isAbsolute(COMMAND) ? fs.existsSync(COMMAND) : true;
const NO_BACKEND = HAVE_BACKEND ? false : `no backend at ${COMMAND}: run \`make install\` (or set CHATSTATS_BIN)`;
const DEMO_ARGS = ['up', '--demo', '--demo-messages', '300', '--demo-rate', '0'];

function dataDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cs-')); // short: the redis socket path has a length limit
}

function backendEnv(dir) {
  return { ...process.env, CHATSTATS_DATA_DIR: dir, CHATSTATS_LOG_LEVEL: 'INFO' };
}

/** `pid` and every process descending from it (ps works the same on Linux and macOS). */
function processTree(pid) {
  const rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n');
  const children = new Map();
  for (const row of rows) {
    const [child, parent] = row.trim().split(/\s+/).map(Number);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(child);
  }
  const tree = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift();
    tree.push(next);
    queue.push(...(children.get(next) || []));
  }
  return tree;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try { // a zombie still answers kill(0): it has exited but nobody reaped it yet
    return !/^Z/.test(execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim());
  } catch {
    return false;
  }
}

async function allGone(pids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(alive);
  while (left.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = left.filter(alive);
  }
  return left;
}

/** What Electron hands a `before-quit` listener, as far as the quit sequence uses it. */
function quitEvent() {
  return { prevented: false, preventDefault() { this.prevented = true; } };
}

async function waitFor(predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function once(emitter, event, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

async function get(url, token) {
  const response = await fetch(url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  return { status: response.status, headers: response.headers, body: await response.text() };
}

test('status lines: the ready line is recognised, anything else is not', () => {
  const ready = parseStatusLine('{"event":"ready","url":"http://127.0.0.1:5","token":"t","pid":1}');
  assert.ok(isReady(ready));
  assert.deepEqual(parseStatusLine('{"event":"restarted","child":"api"}'), { event: 'restarted', child: 'api' });
  assert.equal(parseStatusLine('INFO backend: {"event":"ready"}'), null);
  assert.equal(parseStatusLine('{not json'), null);
  assert.equal(parseStatusLine('{"no_event":1}'), null);
  assert.equal(isReady(parseStatusLine('{"event":"ready","url":"http://x"}')), false); // no token
});

test('the backend command and its arguments come from the environment first', () => {
  assert.equal(findBackendCommand({ CHATSTATS_BIN: '/opt/chatstats/bin/chatstats' }), '/opt/chatstats/bin/chatstats');
  assert.deepEqual(backendArgs({}), ['up', '--demo-if-missing']);
  assert.deepEqual(backendArgs({ CHATSTATS_UP_ARGS: ' --source  /tmp/chat.db ' }), ['up', '--source', '/tmp/chat.db']);
});

test('the window stays on the backend; other links leave for the browser', () => {
  assert.ok(sameOrigin('http://127.0.0.1:5000/app/#x', 'http://127.0.0.1:5000'));
  assert.equal(sameOrigin('http://127.0.0.1:5001/app/', 'http://127.0.0.1:5000'), false);
  assert.equal(sameOrigin('http://evil.example/', 'http://127.0.0.1:5000'), false);
  assert.equal(sameOrigin('not a url', 'http://127.0.0.1:5000'), false);
  assert.ok(isExternalLink('https://example.com/a'));
  assert.equal(isExternalLink('file:///etc/passwd'), false);
  assert.equal(isExternalLink('javascript:alert(1)'), false);
});

test('a real backend: ready, served, logged, restarted after a crash, and stopped with nothing left',
  { skip: NO_BACKEND, timeout: 240000 }, async () => {
    const lines = [];
    const sidecar = new Sidecar({ command: COMMAND, args: DEMO_ARGS, env: backendEnv(dataDir()),
      log: (line) => lines.push(line), stopTimeoutMs: 20000 });
    try {
      const ready = await sidecar.start();
      assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(ready.app_url, `${ready.url}/app/#token=${ready.token}`);
      assert.equal(ready.pid, sidecar.pid);
      assert.equal((await get(`${ready.url}/api/health`)).status, 200);
      assert.equal((await get(`${ready.url}/api/chats`)).status, 401);
      const chats = await get(`${ready.url}/api/chats`, ready.token);
      assert.equal(chats.status, 200);
      assert.ok(JSON.parse(chats.body).chats.length > 0, 'the demo source was imported');

      // every line scoped, the children's own output included, and the token in none of them
      assert.ok(lines.length > 10);
      assert.ok(lines.every((line) => line.startsWith('[backend] ')));
      assert.ok(lines.some((line) => /\bapi \| /.test(line)), 'the API child\'s output is piped');
      assert.ok(lines.some((line) => /worker-db is healthy/.test(line)));
      assert.ok(lines.every((line) => !line.includes(ready.token)), 'the token never reaches the log');

      // a crash: the backend (and, through its children's death signal, everything it ran) dies
      const before = processTree(ready.pid);
      assert.ok(before.length >= 5, `redis, api, two workers and beat under up: ${before}`);
      const restarted = once(sidecar, 'ready', 120000);
      const exited = once(sidecar, 'exit', 10000);
      process.kill(ready.pid, 'SIGKILL');
      assert.deepEqual(await exited, { code: null, signal: 'SIGKILL' });
      const again = await restarted;
      assert.notEqual(again.pid, ready.pid);
      assert.equal(sidecar.restarts, 1);
      assert.equal((await get(`${again.url}/api/chats`, again.token)).status, 200);
      if (process.platform === 'linux') { // macOS has no PR_SET_PDEATHSIG: there a SIGKILL orphans children
        assert.deepEqual(await allGone(before, 15000), [], 'the crashed backend left processes behind');
      }

      // quit (main.js's before-quit): the windows go at once; SIGTERM, the backend stops its children in
      // order, nothing survives; only then does the app quit, and that quit goes through
      const tree = processTree(again.pid);
      const restarts = sidecar.restarts;
      const seen = [];
      let stops = 0;
      const onBeforeQuit = quitSequence({
        hideWindows: () => seen.push('hidden'),
        stopBackend: () => { stops += 1; return sidecar.stop(); },
        closeLog: () => seen.push('log closed'),
        quit: () => seen.push(`quit with ${tree.filter(alive).length} backend processes left`),
        log: (line) => seen.push(line),
      });
      const first = quitEvent();
      onBeforeQuit(first);
      assert.ok(first.prevented);
      assert.deepEqual(seen, ['hidden'], 'the windows go before the backend has stopped');
      onBeforeQuit(quitEvent()); // quitting again while it stops
      await waitFor(() => seen.length === 4, 30000);
      assert.equal(stops, 1);
      assert.deepEqual(seen, ['hidden', '[shell] backend stopped', 'log closed', 'quit with 0 backend processes left']);
      const last = quitEvent();
      onBeforeQuit(last);
      assert.equal(last.prevented, false, 'the quit that follows goes through');
      assert.deepEqual(await allGone(tree, 5000), [], 'processes left after stop()');
      await new Promise((resolve) => setTimeout(resolve, 700)); // longer than the first restart delay
      assert.equal(sidecar.restarts, restarts, 'a stop is not a crash: no restart');
      assert.equal(sidecar.pid, null);
    } finally {
      await sidecar.stop();
    }
  });

test('the backend stops by itself when the shell dies (--parent-pid)', { skip: NO_BACKEND, timeout: 180000 },
  async () => {
    const shell = spawn(process.execPath, ['-e', `
      const { Sidecar } = require(${JSON.stringify(path.join(__dirname, '..', 'sidecar.js'))});
      const sidecar = new Sidecar({ command: ${JSON.stringify(COMMAND)}, args: ${JSON.stringify(DEMO_ARGS)},
                                    log: () => {} });
      sidecar.start().then((info) => console.log(JSON.stringify({ pid: info.pid })));
      setInterval(() => {}, 1000);
    `], { env: backendEnv(dataDir()), stdio: ['ignore', 'pipe', 'inherit'] });
    let tree = [];
    try {
      const first = await once(readline.createInterface({ input: shell.stdout }), 'line', 150000);
      const { pid } = JSON.parse(first);
      tree = processTree(pid);
      assert.ok(tree.length >= 5);
      shell.kill('SIGKILL'); // no before-quit, no stop(): only the backend's own watch of its parent
      assert.deepEqual(await allGone(tree, 20000), [], 'the backend outlived its shell');
    } finally {
      shell.kill('SIGKILL');
      for (const pid of tree.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  });

test('a backend that cannot start is reported with its reason and not restarted', { skip: NO_BACKEND, timeout: 60000 },
  async () => {
    const sidecar = new Sidecar({ command: COMMAND, args: ['up', '--source', '/nonexistent/chat.db'],
      env: backendEnv(dataDir()), log: () => {} });
    let restarting = false;
    sidecar.on('restarting', () => { restarting = true; });
    await assert.rejects(sidecar.start(), (error) => {
      assert.ok(error instanceof BackendFailed);
      assert.match(error.message, /exited with code [1-9]\d* before it was ready: error \[/);
      assert.match(error.message, /nonexistent/);
      return true;
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(restarting, false);
    assert.equal(sidecar.pid, null);
  });

test('quitting: a backend that does not stop cleanly is logged, and the app still quits', async () => {
  const seen = [];
  const onBeforeQuit = quitSequence({
    hideWindows: () => seen.push('hidden'),
    stopBackend: () => Promise.reject(new Error('SIGKILL after 20000 ms')),
    closeLog: () => Promise.reject(new Error('disk full')),
    quit: () => seen.push('quit'),
    log: (line) => seen.push(line),
  });
  onBeforeQuit(quitEvent());
  await waitFor(() => seen.includes('quit'), 5000);
  assert.deepEqual(seen, ['hidden', '[shell] backend did not stop cleanly: SIGKILL after 20000 ms', 'quit']);
});

test('a command that does not exist says how to fix it', async () => {
  const sidecar = new Sidecar({ command: '/nonexistent/bin/chatstats', args: ['up'], log: () => {} });
  await assert.rejects(sidecar.start(), /could not run \/nonexistent\/bin\/chatstats: .*ENOENT.*make install/);
});
