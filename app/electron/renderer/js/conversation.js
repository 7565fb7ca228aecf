// The open conversation: the live stream of one chat's messages, older pages on scroll, highlights.

import { get } from './api.js';
import { clear, h } from './dom.js';
import { dayKey, formatDay } from './format.js';
import { messageNode, senderName } from './message-view.js';
import { LiveStream } from './sse.js';
import { markTerms, searchTerms } from './terms.js';

const OLDER_PAGE = 100;
const HUNT_PAGE = 200; // one older page tried before jumping to a search hit further back
const AROUND_PAGE = 100; // messages loaded around a hit the jump lands on
const GAP_PAGE = 500;
const NEAR_BOTTOM_PX = 120;

export class ConversationView {
  constructor({ list, scroller, title, meta, empty, olderStatus, status }) {
    Object.assign(this, { list, scroller, title, meta, empty, olderStatus, status });
    this.stream = null;
    this.reset();
    scroller.addEventListener('scroll', () => {
      if (scroller.scrollTop < 80) this.loadOlder();
    });
  }

  reset() {
    this.chat = null;
    this.messages = new Map(); // id -> message
    this.byGuid = new Map(); // guid -> message
    this.nodes = new Map(); // id -> li
    this.olderCursor = null;
    this.loadingOlder = null;
    this.loaded = false;
    this.pendingFocus = null;
    this.gap = null; // {afterId, cursor}: newer messages not loaded yet between a jumped-to window and the rest
  }

  /** Open a chat; `focusMessageId` scrolls to that message (loading older pages as needed) and highlights it. */
  open(chat, { focusMessageId = null } = {}) {
    if (this.chat && this.chat.id === chat.id) {
      this.setChat(chat);
      if (focusMessageId) this.focus(focusMessageId);
      return;
    }
    if (this.stream) this.stream.close();
    this.reset();
    this.setChat(chat);
    this.pendingFocus = focusMessageId;
    clear(this.list);
    this.empty.hidden = false;
    this.empty.textContent = 'Loading messages…';
    this.olderStatus.textContent = '';
    const chatId = chat.id;
    this.stream = new LiveStream(`/api/live-sync/stream/chat/${chatId}/messages`, {
      onState: this.status,
      events: {
        snapshot: (page) => this.applySnapshot(page),
        'message.created': ({ message }) => this.upsert(message, { fresh: true }),
        'message.updated': ({ message }) => this.upsert(message),
        resync: () => {},
        'conversation.updated': () => {},
      },
    }).start();
  }

  setChat(chat) {
    this.chat = chat;
    this.title.textContent = chat.display_name;
    const people = chat.participants.map((p) => p.display_name).filter(Boolean);
    const bits = [chat.is_group ? `${people.length} people` : people[0] && chat.participants[0].identifiers[0]?.value,
      chat.service, `${chat.message_count.toLocaleString()} messages`];
    this.meta.textContent = bits.filter(Boolean).join(' · ');
  }

  applySnapshot(page) {
    const first = !this.loaded;
    for (const message of page.messages) this.remember(message);
    if (first) this.olderCursor = page.next_before_id;
    this.loaded = true;
    this.render();
    if (first) this.scrollToBottom();
    if (this.pendingFocus) {
      const id = this.pendingFocus;
      this.pendingFocus = null;
      this.focus(id);
    }
  }

  remember(message) {
    this.messages.set(message.id, message);
    this.byGuid.set(message.guid, message);
    this.nodes.delete(message.id);
  }

  upsert(message, { fresh = false } = {}) {
    if (!this.chat || message.chat_id !== this.chat.id) return;
    const wasNearBottom = this.isNearBottom();
    const isNew = !this.messages.has(message.id);
    this.remember(message);
    // replies to this message show its new text
    for (const other of this.messages.values()) if (other.reply_to_guid === message.guid) this.nodes.delete(other.id);
    this.render();
    if (isNew && fresh) this.nodes.get(message.id)?.classList.add('fresh');
    if (wasNearBottom || (isNew && fresh && message.is_from_me)) this.scrollToBottom();
  }

  ordered() {
    return [...this.messages.values()].sort((a, b) => a.sent_at - b.sent_at || a.id - b.id);
  }

  render() {
    const items = [];
    let lastDay = null;
    let lastSender = null;
    for (const message of this.ordered()) {
      const day = dayKey(message.sent_at);
      if (day !== lastDay) {
        items.push(h('li', { class: 'day-divider', role: 'separator' }, formatDay(message.sent_at)));
        lastDay = day;
        lastSender = null;
      }
      if (!this.nodes.has(message.id)) this.nodes.set(message.id, messageNode(message, (guid) => this.byGuid.get(guid)));
      const node = this.nodes.get(message.id);
      const sender = message.kind === 'message' ? senderName(message) : null;
      const label = node.querySelector('.msg-sender');
      if (label) label.hidden = message.is_from_me || sender === lastSender;
      lastSender = sender;
      items.push(node);
      if (this.gap && this.gap.afterId === message.id) {
        items.push(this.gapNode());
        lastSender = null;
      }
    }
    this.list.replaceChildren(...items);
    this.empty.hidden = items.length > 0;
    if (!items.length) this.empty.textContent = this.loaded ? 'No messages in this chat.' : 'Loading messages…';
  }

  isNearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** The next older page, keeping what is on screen where it is. */
  loadOlder(limit = OLDER_PAGE) {
    if (!this.chat || !this.loaded || this.olderCursor === null) return Promise.resolve(false);
    if (this.loadingOlder) return this.loadingOlder;
    const chatId = this.chat.id;
    this.olderStatus.textContent = 'Loading older messages…';
    this.loadingOlder = (async () => {
      try {
        const page = await get(`/api/chats/${chatId}/messages`, { limit, before_id: this.olderCursor });
        if (!this.chat || this.chat.id !== chatId) return false;
        const before = this.scroller.scrollHeight;
        for (const message of page.messages) if (!this.messages.has(message.id)) this.remember(message);
        for (const message of this.messages.values()) if (message.reply_to_guid) this.nodes.delete(message.id);
        this.olderCursor = page.next_before_id;
        this.render();
        this.scroller.scrollTop += this.scroller.scrollHeight - before;
        return true;
      } catch {
        return false;
      } finally {
        this.loadingOlder = null;
        if (this.chat && this.chat.id === chatId) {
          this.olderStatus.textContent = this.olderCursor === null ? 'The beginning of this chat.' : '';
        }
      }
    })();
    return this.loadingOlder;
  }

  gapNode() {
    const button = h('button', { type: 'button', class: 'gap-load' }, 'Show newer messages');
    button.addEventListener('click', () => this.fillGap());
    return h('li', { class: 'gap', role: 'separator', 'aria-label': 'newer messages not loaded' }, button);
  }

  /** Load the messages between a jumped-to window and the newer ones already shown. */
  async fillGap() {
    const chatId = this.chat && this.chat.id;
    while (this.gap && this.chat && this.chat.id === chatId) {
      const page = await get(`/api/chats/${chatId}/messages`, { limit: GAP_PAGE, after_id: this.gap.cursor });
      if (!this.chat || this.chat.id !== chatId || !this.gap) return;
      let met = false;
      for (const message of page.messages) {
        if (this.messages.has(message.id)) met = true;
        else this.remember(message);
      }
      const last = page.messages[page.messages.length - 1];
      this.gap = met || page.next_after_id === null || !last ? null : { afterId: last.id, cursor: last.id };
      this.render();
    }
  }

  /** The message's neighbourhood, when it is further back than the pages shown: the view then holds the
   * newest messages, a gap, and this window (older pages continue below it). */
  async jumpTo(messageId) {
    const chatId = this.chat.id;
    const page = await get(`/api/chats/${chatId}/messages`, { limit: AROUND_PAGE, around_id: messageId });
    if (!this.chat || this.chat.id !== chatId) return;
    const overlaps = page.messages.some((message) => this.messages.has(message.id));
    for (const message of page.messages) if (!this.messages.has(message.id)) this.remember(message);
    for (const message of this.messages.values()) if (message.reply_to_guid) this.nodes.delete(message.id);
    if (!overlaps && page.next_after_id !== null) this.gap = { afterId: page.messages[0].id, cursor: page.next_after_id };
    this.olderCursor = page.next_before_id;
    this.render();
  }

  /** Scroll to a message and highlight it: one older page is tried, then a jump to its neighbourhood. */
  async focus(messageId) {
    if (!this.loaded) {
      this.pendingFocus = messageId;
      return;
    }
    if (!this.nodes.has(messageId) && this.olderCursor !== null) await this.loadOlder(HUNT_PAGE);
    if (!this.nodes.has(messageId)) {
      try {
        await this.jumpTo(messageId);
      } catch {
        return; // the api module showed the error
      }
    }
    const node = this.nodes.get(messageId);
    if (!node) return;
    for (const old of this.list.querySelectorAll('.highlight')) old.classList.remove('highlight');
    node.classList.add('highlight');
    for (const text of this.list.querySelectorAll('.msg-text')) markTerms(text, searchTerms());
    node.scrollIntoView({ block: 'center' });
    setTimeout(() => node.classList.remove('highlight'), 6000);
  }
}
