// Eve: threads, their messages, and replies streamed token by token over SSE (text_delta, final, error).

import { get, post, request, streamUrl } from './api.js';
import { clear, h } from './dom.js';
import { formatShort } from './format.js';

const DEFAULT_TITLE = 'New chat';

export class EvePanel {
  constructor({ select, newButton, list, form, input, send }, { onOpenMessage }) {
    Object.assign(this, { select, newButton, list, form, input, send, onOpenMessage });
    this.threadId = null;
    this.threads = [];
    this.replying = null; // the EventSource of a reply in progress
    this.started = false;
    select.addEventListener('change', () => this.open(Number(select.value)));
    newButton.addEventListener('click', () => this.newThread());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.ask(input.value);
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        this.ask(input.value);
      }
    });
  }

  /** Load the threads the first time the panel is shown. */
  async start() {
    if (this.started) return;
    this.started = true;
    await this.loadThreads();
    if (this.threads.length) await this.open(this.threads[0].id);
    else this.renderEmpty();
  }

  async loadThreads() {
    const data = await get('/api/assistant/threads');
    this.threads = data.threads;
    clear(this.select);
    if (!this.threads.length) this.select.append(h('option', { value: '' }, 'No threads yet'));
    for (const t of this.threads) {
      this.select.append(h('option', { value: t.id }, `${t.unread ? '● ' : ''}${t.title} · ${formatShort(t.updated_at)}`));
    }
    if (this.threadId) this.select.value = String(this.threadId);
  }

  renderEmpty() {
    clear(this.list).append(h('li', { class: 'empty' },
      'Ask Eve anything about your messages: “When is the concert?”, “What did Sam promise?”'));
  }

  async newThread(title = DEFAULT_TITLE) {
    const thread = await post('/api/assistant/threads', { title });
    this.threadId = thread.id;
    await this.loadThreads();
    this.renderEmpty();
    this.input.focus();
    return thread;
  }

  async open(threadId) {
    if (!threadId) return;
    this.stopReply();
    this.threadId = threadId;
    this.select.value = String(threadId);
    const data = await get(`/api/assistant/threads/${threadId}/messages`);
    if (this.threadId !== threadId) return;
    clear(this.list);
    if (!data.messages.length) this.renderEmpty();
    for (const message of data.messages) this.list.append(this.messageNode(message));
    this.scrollToEnd();
    post(`/api/assistant/threads/${threadId}/read`, undefined, { quiet: true }).catch(() => {});
  }

  messageNode(message) {
    const node = h('li', {
      class: `eve-msg ${message.role}`, dataset: { messageId: message.id },
      'aria-label': message.role === 'user' ? 'Your question' : 'Eve’s answer',
    },
    h('div', { class: 'eve-who' }, message.role === 'user' ? 'You' : 'Eve'),
    h('div', { class: 'eve-text' }, message.content));
    if (message.role === 'assistant') this.finish(node, message);
    return node;
  }

  /** Settle an answer node from a stored or final message: its text, citations, state. */
  finish(node, message) {
    node.classList.remove('streaming');
    node.removeAttribute('aria-busy');
    const text = node.querySelector('.eve-text');
    if (message.status === 'error') {
      node.classList.add('error');
      if (!message.content) text.textContent = 'Eve could not answer this one.';
    } else if (message.status === 'pending' || message.status === 'streaming') {
      text.textContent = message.content || 'Eve is still answering…';
    } else {
      text.textContent = message.content;
    }
    node.querySelector('.citations')?.remove();
    if (message.citations?.length) {
      node.append(h('ul', { class: 'citations', 'aria-label': 'Citations' }, message.citations.map((c) => h('li', {
        class: 'citation', role: c.message_id ? 'button' : null, tabindex: c.message_id ? 0 : null,
        dataset: { sourceId: c.source_id, messageId: c.message_id ?? '' },
        onclick: c.message_id ? () => this.openCitation(c.message_id) : null,
      }, h('b', {}, c.source_id), `“${c.quote}”`,
      c.sender || c.sent_at ? h('span', { class: 'muted' }, ` — ${[c.sender, (c.sent_at || '').slice(0, 10)].filter(Boolean).join(', ')}`) : null))));
    }
  }

  async openCitation(messageId) {
    const message = await get(`/api/messages/${messageId}`);
    this.onOpenMessage(message.chat_id, message.id);
  }

  async ask(raw) {
    const content = raw.trim();
    if (!content || this.replying) return;
    this.send.disabled = true;
    try {
      if (!this.threadId) await this.newThread(titleFrom(content));
      const threadId = this.threadId;
      const thread = this.threads.find((t) => t.id === threadId);
      if (thread && thread.title === DEFAULT_TITLE) {
        request('PATCH', `/api/assistant/threads/${threadId}`, { body: { title: titleFrom(content) }, quiet: true })
          .then(() => this.loadThreads()).catch(() => {});
      }
      const asked = await post(`/api/assistant/threads/${threadId}/messages`, { content });
      this.input.value = '';
      this.list.querySelector('.empty')?.remove();
      this.list.append(this.messageNode(asked.user_message));
      const answer = h('li', {
        class: 'eve-msg assistant streaming', 'aria-busy': 'true', 'aria-label': 'Eve’s answer',
        dataset: { messageId: asked.assistant_message_id },
      }, h('div', { class: 'eve-who' }, 'Eve'), h('div', { class: 'eve-text' }));
      this.list.append(answer);
      this.scrollToEnd();
      this.streamReply(threadId, asked, answer);
    } catch {
      this.send.disabled = false;
    }
  }

  streamReply(threadId, asked, node) {
    const text = node.querySelector('.eve-text');
    const source = new EventSource(streamUrl(asked.stream_url));
    this.replying = source;
    const done = () => {
      source.close();
      if (this.replying === source) this.replying = null;
      this.send.disabled = false;
    };
    source.addEventListener('text_delta', (event) => {
      text.append(JSON.parse(event.data).delta); // a text node: the answer grows as it arrives
      this.scrollToEnd();
    });
    source.addEventListener('final', (event) => {
      done();
      this.finish(node, JSON.parse(event.data).message);
      this.scrollToEnd();
      post(`/api/assistant/threads/${threadId}/read`, undefined, { quiet: true })
        .finally(() => this.loadThreads()).catch(() => {});
    });
    source.addEventListener('error', (event) => {
      done();
      if (event.data) { // the backend's `error` event: {code, message}
        const data = JSON.parse(event.data);
        this.finish(node, { status: 'error', content: text.textContent, citations: [] });
        node.append(h('p', { class: 'muted' }, data.message));
        return;
      }
      // the connection broke: what the reply became is stored, read it back
      setTimeout(() => {
        get(`/api/assistant/threads/${threadId}/messages`, undefined, { quiet: true }).then((data) => {
          const stored = data.messages.find((m) => m.id === asked.assistant_message_id);
          if (stored) this.finish(node, stored);
        }).catch(() => this.finish(node, { status: 'error', content: text.textContent, citations: [] }));
      }, 500);
    });
  }

  stopReply() {
    if (this.replying) this.replying.close();
    this.replying = null;
    this.send.disabled = false;
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }
}

function titleFrom(question) {
  return question.length > 60 ? `${question.slice(0, 57)}…` : question;
}
