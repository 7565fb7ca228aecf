// The live-sync indicator in the top bar: the state of our streams plus the backend's own health.

import { get } from './api.js';
import { formatTime } from './format.js';

const POLL_MS = 15000;

export class StatusIndicator {
  constructor(root) {
    this.root = root;
    this.text = root.querySelector('.status-text');
    this.streams = new Map();
    this.health = null; // {ok, detail}
  }

  /** A callback for one stream's LiveStream onState. */
  track(name) {
    return (state) => {
      if (state === 'closed') this.streams.delete(name);
      else this.streams.set(name, state);
      this.render();
    };
  }

  start() {
    this.poll();
    setInterval(() => this.poll(), POLL_MS);
  }

  async poll() {
    try {
      const [health, sync] = await Promise.all([
        get('/api/health', undefined, { quiet: true }),
        get('/api/live-sync/status', undefined, { quiet: true }),
      ]);
      const parts = [`Backend ${health.status} (version ${health.version})`];
      if (sync.running) {
        parts.push(`Watching ${sync.source}`);
        if (sync.last_pass_at) parts.push(`last sync pass ${formatTime(sync.last_pass_at * 1000)}`);
      }
      if (sync.last_error) parts.push(`last error: ${sync.last_error}`);
      this.health = { ok: true, degraded: health.status !== 'ok', watching: Boolean(sync.running), error: sync.last_error,
        detail: parts.join(' · ') };
    } catch (err) {
      this.health = { ok: false, detail: err.message };
    }
    this.render();
  }

  render() {
    const states = [...this.streams.values()];
    let state = 'connecting';
    let label = 'Connecting…';
    if (this.health && !this.health.ok) {
      state = 'offline';
      label = 'Backend unreachable';
    } else if (states.includes('reconnecting')) {
      state = 'reconnecting';
      label = 'Reconnecting…';
    } else if (states.length && states.every((s) => s === 'live')) {
      if (this.health && !this.health.watching) {
        state = 'reconnecting';
        label = 'Live sync stopped';
      } else {
        state = 'live';
        label = 'Live';
      }
    }
    this.root.dataset.state = state;
    // a degraded backend (a worker or Redis unwell: /api/health says which) turns the dot amber
    this.root.dataset.health = this.health?.degraded ? 'degraded' : 'ok';
    this.text.textContent = label;
    this.root.title = this.health ? this.health.detail : '';
  }
}
