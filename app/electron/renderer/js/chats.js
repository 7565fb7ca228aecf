// The chat list: a snapshot from the live stream, then updates that move a chat to the top.

import { clear, h } from './dom.js';
import { cleanText, formatShort } from './format.js';

export class ChatList {
  constructor(root, emptyNote, { onSelect }) {
    this.root = root;
    this.emptyNote = emptyNote;
    this.onSelect = onSelect;
    this.chats = new Map();
    this.nodes = new Map();
    this.selectedId = null;
  }

  get(id) {
    return this.chats.get(id);
  }

  first() {
    return this.sorted()[0];
  }

  applySnapshot(page) {
    this.chats = new Map(page.chats.map((chat) => [chat.id, chat]));
    this.nodes.clear();
    this.render();
  }

  applyUpdate({ chat }) {
    this.chats.set(chat.id, chat);
    this.nodes.delete(chat.id);
    this.render();
    this.nodes.get(chat.id)?.classList.add('flash');
  }

  select(id) {
    this.selectedId = id;
    for (const [chatId, node] of this.nodes) node.setAttribute('aria-selected', String(chatId === id));
  }

  sorted() {
    return [...this.chats.values()].sort((a, b) => (b.last_message_at || 0) - (a.last_message_at || 0) || b.id - a.id);
  }

  render() {
    const nodes = this.sorted().map((chat) => {
      if (!this.nodes.has(chat.id)) this.nodes.set(chat.id, this.item(chat));
      return this.nodes.get(chat.id);
    });
    clear(this.root).append(...nodes);
    this.emptyNote.hidden = nodes.length > 0;
  }

  item(chat) {
    const open = () => this.onSelect(chat.id);
    return h('li', {
      class: 'chat-item', role: 'option', tabindex: 0, 'aria-selected': String(chat.id === this.selectedId),
      'aria-label': chat.display_name, dataset: { chatId: chat.id }, onclick: open,
      onkeydown: (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); open(); } },
    },
    h('span', { class: 'chat-name' }, chat.display_name,
      chat.unread_count ? h('span', { class: 'chat-unread', 'aria-label': `${chat.unread_count} unread` }, chat.unread_count) : null),
    h('span', { class: 'chat-time' }, formatShort(chat.last_message_at)),
    h('span', { class: 'chat-preview' }, preview(chat)));
  }
}

function preview(chat) {
  const last = chat.last_message;
  if (!last) return 'No messages';
  const who = last.is_from_me ? 'You: ' : chat.is_group && last.sender_name ? `${last.sender_name.split(' ')[0]}: ` : '';
  if (last.is_unsent) return last.is_from_me ? 'You unsent a message' : `${last.sender_name || 'Someone'} unsent a message`;
  const text = cleanText(last.text);
  if (text) return who + text;
  if (last.has_attachments) return `${who}sent an attachment`;
  return who + (last.kind === 'message' ? '…' : last.kind.replace(/_/g, ' '));
}
