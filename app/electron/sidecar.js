'use strict';
// The backend as a sidecar: spawn `chatstats up --parent-pid <our pid>`, read its ready line, pipe its
// output into our log line by line, restart it when it dies, stop it (and with it every process it
// started) on quit. Plain Node, no Electron import, so `node --test` runs it against the real backend.

const { spawn } = require('node:child_process');
const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const RESTART_DELAYS_MS = [500, 1000, 2000, 5000, 10000];
const STABLE_AFTER_MS = 60000; // a run this long resets the restart backoff
const TAIL_LINES = 30; // what a start failure quotes from the backend's own output

/** The `chatstats` command: $CHATSTATS_BIN, else the project's venv, else `chatstats` on PATH. */
function findBackendCommand(env = process.env) {
  if (env.CHATSTATS_BIN) return env.CHATSTATS_BIN;
  const venv = path.join(REPO_ROOT, '.venv', 'bin', 'chatstats');
  return fs.existsSync(venv) ? venv : 'chatstats';
}

/** Arguments of `chatstats up` for the shell: $CHATSTATS_UP_ARGS (space separated), else demo data only
 * when there is no Messages database (an unreadable one, no Full Disk Access, is still an error). */
function backendArgs(env = process.env) {
  const extra = (env.CHATSTATS_UP_ARGS || '--demo-if-missing').split(/\s+/).filter(Boolean);
  return ['up', ...extra];
}

/** `{"event":"ready","url":...,"token":...}` (a JSON status line of `chatstats up`), else null. */
function parseStatusLine(line) {
  if (!line.startsWith('{')) return null;
  try {
    const value = JSON.parse(line);
    return value && typeof value === 'object' && typeof value.event === 'string' ? value : null;
  } catch {
    return null;
  }
}

function isReady(status) {
  return status !== null && status.event === 'ready' && typeof status.url === 'string' &&
    typeof status.token === 'string';
}

class BackendFailed extends Error {
  constructor(message, { code = null, signal = null, tail = [] } = {}) {
    super(message);
    this.name = 'BackendFailed';
    this.code = code;
    this.signal = signal;
    this.tail = tail;
  }
}

/**
 * Events: 'ready' (info: {url, token, app_url, pid}) after each (re)start; 'exit' ({code, signal}) when
 * the backend dies unasked; 'restarting' ({attempt, delayMs}); 'child-restarted' ({child}) when the
 * backend restarted one of its own processes; 'failed' (BackendFailed) when restarts keep failing.
 */
class Sidecar extends EventEmitter {
  constructor({
    command = findBackendCommand(), args = backendArgs(), env = process.env, cwd = undefined,
    log = (line) => console.log(line), scope = 'backend', parentPid = process.pid,
    readyTimeoutMs = 180000, stopTimeoutMs = 20000, restartDelaysMs = RESTART_DELAYS_MS, maxFailedRestarts = 5,
  } = {}) {
    super();
    Object.assign(this, { command, args, env, cwd, log, scope, parentPid, readyTimeoutMs, stopTimeoutMs,
      restartDelaysMs, maxFailedRestarts });
    this.child = null;
    this.info = null; // the last ready line
    this.stopping = false;
    this.restarts = 0;
    this.failedRestarts = 0;
    this._restartTimer = null;
    this._startedAt = 0;
    this._tail = [];
  }

  get pid() {
    return this.child ? this.child.pid : null;
  }

  /** Spawn the backend and resolve with its ready line; reject (BackendFailed) if it exits or stays
   * silent first. A backend that fails to start is not restarted: its message says what to fix. */
  start() {
    this.stopping = false;
    return this._spawn();
  }

  _spawn() {
    const argv = [...this.args, '--parent-pid', String(this.parentPid)];
    this._tail = [];
    this._startedAt = Date.now();
    let child;
    try {
      child = spawn(this.command, argv, { cwd: this.cwd, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      return Promise.reject(new BackendFailed(`could not run ${this.command}: ${error.message}`));
    }
    this.child = child;
    this._pipe(child.stderr, null);

    return new Promise((resolve, reject) => {
      let settled = false;
      let becameReady = false;
      const settle = (fn, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn(value);
      };
      const timer = setTimeout(() => {
        settle(reject, new BackendFailed(
          `the backend printed no ready line within ${Math.round(this.readyTimeoutMs / 1000)} s`, { tail: this._tail }));
        this._kill(child, 'SIGTERM');
      }, this.readyTimeoutMs);

      this._pipe(child.stdout, (status) => {
        if (isReady(status)) {
          becameReady = true;
          this.info = { ...status, app_url: status.app_url || `${status.url}/app/#token=${status.token}` };
          settle(resolve, this.info);
          this.emit('ready', this.info);
        } else if (status.event === 'restarted') {
          this.emit('child-restarted', { child: status.child });
        }
      });
      child.once('error', (error) => {
        const hint = error.code === 'ENOENT' ? ' (install the backend: `make install`, or set CHATSTATS_BIN)' : '';
        settle(reject, new BackendFailed(`could not run ${this.command}: ${error.message}${hint}`));
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        settle(reject, new BackendFailed(`the backend ${why} before it was ready${this._lastError()}`,
          { code, signal, tail: this._tail }));
        if (!this.stopping && becameReady) this._onCrash(code, signal); // restart failures: see _onCrash
      });
    });
  }

  /** Each output line goes to the log with our scope; JSON status lines on stdout go to `onStatus`, and
   * the ready line (it carries the token) is never logged. */
  _pipe(stream, onStatus) {
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      const status = onStatus ? parseStatusLine(line) : null;
      if (status !== null) {
        if (!isReady(status)) this.log(`[${this.scope}] ${line}`);
        onStatus(status);
        return;
      }
      this._tail.push(line);
      if (this._tail.length > TAIL_LINES) this._tail.shift();
      this.log(`[${this.scope}] ${line}`);
    });
  }

  _lastError() {
    const error = [...this._tail].reverse().find((line) => line.startsWith('error ['));
    return error ? `: ${error}` : '';
  }

  _onCrash(code, signal) {
    this.emit('exit', { code, signal });
    if (Date.now() - this._startedAt >= STABLE_AFTER_MS) this.failedRestarts = 0;
    if (this.failedRestarts >= this.maxFailedRestarts) {
      const error = new BackendFailed(`the backend keeps dying (${this.failedRestarts} restarts in a row failed)` +
        this._lastError(), { code, signal, tail: this._tail });
      this.log(`[${this.scope}] giving up: ${error.message}`);
      this.emit('failed', error);
      return;
    }
    const delayMs = this.restartDelaysMs[Math.min(this.failedRestarts, this.restartDelaysMs.length - 1)];
    const attempt = this.restarts + 1;
    this.log(`[${this.scope}] exited (${signal || `code ${code}`}); restarting in ${delayMs} ms`);
    this.emit('restarting', { attempt, delayMs });
    this._restartTimer = setTimeout(() => {
      this._restartTimer = null;
      if (this.stopping) return;
      this.restarts = attempt;
      this._spawn().then(
        () => { this.failedRestarts = 0; },
        (error) => {
          this.failedRestarts += 1;
          this.log(`[${this.scope}] restart failed: ${error.message}`);
          if (!this.stopping) this._onCrash(error.code, error.signal);
        },
      );
    }, delayMs);
  }

  /** SIGTERM (the backend stops its own processes in order), SIGKILL after `stopTimeoutMs`. Resolves
   * once it has exited; no restart follows. */
  async stop() {
    this.stopping = true;
    if (this._restartTimer !== null) {
      clearTimeout(this._restartTimer);
      this._restartTimer = null;
    }
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this._kill(child, 'SIGTERM');
    const timer = setTimeout(() => {
      this.log(`[${this.scope}] did not stop within ${this.stopTimeoutMs} ms: killing it`);
      this._kill(child, 'SIGKILL');
    }, this.stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  _kill(child, signal) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

module.exports = { Sidecar, BackendFailed, findBackendCommand, backendArgs, parseStatusLine, isReady, REPO_ROOT };
