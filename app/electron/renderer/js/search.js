// The search box and its results: messages matching the query (words, "phrases", emoji, from:/in:/before:/
// after:/has: filters), the exact total, sort order, more pages; a click opens the chat at the message.

import { get } from './api.js';
import { clear, h } from './dom.js';
import { formatFull } from './format.js';
import { setSearchTerms, spansToNodes } from './terms.js';

const DEBOUNCE_MS = 450;
const PAGE = 20;

export class SearchPanel {
  constructor({ form, input, results, status, sort, more }, { onOpenMessage, onShow }) {
    Object.assign(this, { form, input, results, status, sort, more, onOpenMessage, onShow });
    this.seq = 0;
    this.timer = null;
    this.query = null;
    this.shown = 0;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearTimeout(this.timer);
      this.run(input.value);
    });
    input.addEventListener('input', () => {
      clearTimeout(this.timer);
      if (input.value.trim().length >= 2) this.timer = setTimeout(() => this.run(input.value), DEBOUNCE_MS);
    });
    sort?.addEventListener('change', () => { if (this.query) this.run(this.query); });
    more?.addEventListener('click', () => this.page());
  }

  clear() {
    clearTimeout(this.timer);
    this.seq += 1;
    this.query = null;
    this.input.value = '';
    setSearchTerms(null);
    clear(this.results);
    if (this.more) this.more.hidden = true;
    this.status.textContent = 'Type in the search box above and press Enter.';
  }

  async run(raw) {
    const q = raw.trim();
    if (!q) return;
    this.query = q;
    this.shown = 0;
    clear(this.results);
    this.onShow();
    this.status.textContent = `Searching for “${q}”…`;
    await this.page();
  }

  async page() {
    const q = this.query;
    const seq = ++this.seq;
    let data;
    try {
      data = await get('/api/search', { q, limit: PAGE, offset: this.shown, sort: this.sort?.value || 'relevance' });
    } catch (err) {
      if (seq === this.seq) this.status.textContent = `Search failed: ${err.message}`;
      return;
    }
    if (seq !== this.seq) return;
    setSearchTerms(data.terms);
    this.shown += data.results.length;
    const n = data.total;
    const extra = [data.related ? `${data.related} related` : '', data.partial ? `${data.partial} inside words` : '']
      .filter(Boolean).join(', ');
    const related = extra ? ` (and ${extra})` : '';
    this.status.textContent = n || data.results.length
      ? `${n.toLocaleString()} message${n === 1 ? '' : 's'}${related} for “${q}”`
      : `Nothing found for “${q}”.`;
    this.results.append(...data.results.map((message) => this.item(message)));
    if (this.more) this.more.hidden = data.results.length < PAGE;
  }

  item(message) {
    const open = () => this.onOpenMessage(message.chat_id, message.id);
    const chatName = message.chat_name || (message.is_from_me ? 'Chat' : message.sender) || `Chat ${message.chat_id}`;
    return h('li', {
      class: message.matched ? 'search-hit' : 'search-hit related', role: 'button', tabindex: 0,
      dataset: { messageId: message.id, chatId: message.chat_id },
      'aria-label': `Open message in ${chatName}`, onclick: open,
      onkeydown: (event) => { if (event.key === 'Enter') open(); },
    },
    h('div', { class: 'search-hit-head' },
      h('span', { class: 'search-hit-chat' }, chatName),
      message.matched ? null : h('span', { class: 'search-hit-tag muted' }, message.partial ? 'inside a word' : 'related'),
      h('time', { class: 'muted', datetime: new Date(message.sent_at).toISOString() }, formatFull(message.sent_at))),
    h('p', { class: 'search-hit-text' },
      h('span', { class: 'muted' }, `${message.is_from_me ? 'You' : message.sender || 'Someone'}: `),
      spansToNodes((message.text || '').replace(/\uFFFC/g, ' '), message.highlights, h),
      message.has_attachments && !message.text ? '📎 Attachment' : null));
  }
}
