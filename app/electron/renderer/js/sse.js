// A server-sent event stream that reconnects by itself and resumes where it left off.
//
// Every frame of the backend's live streams carries an `id:`. When the connection drops we close the
// EventSource and open a new one with `since=<last id>`, so the backend replays exactly what we missed
// (the browser's own retry would resend the first URL, whose `since` the backend prefers over
// Last-Event-ID). Backoff: 0.5 s, 1 s, 2 s ... up to 15 s.

import { streamUrl } from './api.js';

const MAX_DELAY_MS = 15000;

export class LiveStream {
  /**
   * @param {string} path  e.g. /api/live-sync/stream/chats
   * @param {{events: Object<string, Function>, onState?: Function}} options
   *   events: handler per event name, called with the parsed data and the event id.
   *   onState: called with 'connecting' | 'live' | 'reconnecting' | 'closed'.
   */
  constructor(path, { events, onState = () => {} }) {
    this.path = path;
    this.events = events;
    this.onState = onState;
    this.lastId = null;
    this.source = null;
    this.retries = 0;
    this.timer = null;
    this.closed = false;
  }

  start() {
    this.onState('connecting');
    this.open();
    return this;
  }

  open() {
    const query = this.lastId === null ? {} : { since: this.lastId };
    const source = new EventSource(streamUrl(this.path, query));
    this.source = source;
    source.onopen = () => {
      this.retries = 0;
      this.onState('live');
    };
    source.onerror = () => {
      source.close();
      if (this.closed || this.source !== source) return;
      this.onState('reconnecting');
      const delay = Math.min(500 * 2 ** this.retries, MAX_DELAY_MS);
      this.retries += 1;
      this.timer = setTimeout(() => this.open(), delay);
    };
    for (const [name, handler] of Object.entries(this.events)) {
      source.addEventListener(name, (event) => {
        if (this.source !== source) return;
        if (event.lastEventId) this.lastId = Number(event.lastEventId);
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        handler(data, this.lastId);
      });
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
    this.onState('closed');
  }
}
