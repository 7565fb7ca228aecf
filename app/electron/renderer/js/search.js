// The search box and its results: hybrid search over every chat; a click opens the chat at the message.

import { get } from './api.js';
import { clear, h, highlighted } from './dom.js';
import { cleanText, formatFull } from './format.js';

const DEBOUNCE_MS = 450;

export class SearchPanel {
  constructor({ form, input, results, status }, { chatName, onOpenMessage, onShow }) {
    Object.assign(this, { form, input, results, status, chatName, onOpenMessage, onShow });
    this.seq = 0;
    this.timer = null;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearTimeout(this.timer);
      this.run(input.value);
    });
    input.addEventListener('input', () => {
      clearTimeout(this.timer);
      if (input.value.trim().length >= 3) this.timer = setTimeout(() => this.run(input.value), DEBOUNCE_MS);
    });
  }

  async run(raw) {
    const q = raw.trim();
    if (!q) return;
    const seq = ++this.seq;
    this.onShow();
    this.status.textContent = `Searching for “${q}”…`;
    let data;
    try {
      data = await get('/api/search', { q, limit: 20 });
    } catch (err) {
      if (seq === this.seq) this.status.textContent = `Search failed: ${err.message}`;
      return;
    }
    if (seq !== this.seq) return;
    const hits = data.results.flatMap((hit) => hit.messages.map((m) => ({ hit, message: m })));
    this.status.textContent = hits.length
      ? `${hits.length} message${hits.length === 1 ? '' : 's'} for “${q}”`
      : `Nothing found for “${q}”.`;
    const names = await Promise.all(hits.map(({ hit }) => this.chatName(hit.chat_id)));
    if (seq !== this.seq) return;
    clear(this.results).append(...hits.map(({ hit, message }, i) => this.item(hit, message, names[i], q)));
  }

  item(hit, message, chatName, q) {
    const open = () => this.onOpenMessage(hit.chat_id, message.id);
    return h('li', {
      class: 'search-hit', role: 'button', tabindex: 0, dataset: { messageId: message.id, chatId: hit.chat_id },
      'aria-label': `Open message in ${chatName}`, onclick: open,
      onkeydown: (event) => { if (event.key === 'Enter') open(); },
    },
    h('div', { class: 'search-hit-head' },
      h('span', { class: 'search-hit-chat' }, chatName),
      h('time', { class: 'muted', datetime: new Date(message.sent_at).toISOString() }, formatFull(message.sent_at))),
    h('p', { class: 'search-hit-text' },
      h('span', { class: 'muted' }, `${message.is_from_me ? 'You' : message.sender || 'Someone'}: `),
      highlighted(cleanText(message.text), q)));
  }
}
