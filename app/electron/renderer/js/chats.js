// The chat list: a snapshot from the live stream, then updates batched into one re-order at a time. The
// list never moves under the pointer: while a row is hovered or focused, updates refresh rows in place and
// a "N new" marker counts the chats waiting to move up; they move when the pointer leaves (or on a click
// of the marker). Arrow keys walk the rows, Enter opens.

import { clear, h } from './dom.js';
import { cleanText, formatDate, formatShort } from './format.js';

const BATCH_MS = 800;

export class ChatList {
  constructor(root, emptyNote, { onSelect }) {
    this.root = root;
    this.emptyNote = emptyNote;
    this.onSelect = onSelect;
    this.chats = new Map();
    this.nodes = new Map();
    this.order = [];
    this.selectedId = null;
    this.pending = new Map();
    this.timer = null;
    this.waiting = false; // re-ordering held back while the list is held
    this.fresh = new Set(); // chats updated since the last re-order
    this.hovered = false;
    // a zero-height row: the pill floats over the list, so showing it moves nothing
    this.pill = h('button', { type: 'button', class: 'chat-new-pill', onclick: () => this.flush(true) });
    this.marker = h('li', { class: 'chat-new-marker', role: 'presentation', hidden: true }, this.pill);
    root.addEventListener('pointerenter', () => { this.hovered = true; });
    root.addEventListener('pointerleave', () => { this.hovered = false; this.schedule(); });
    root.addEventListener('focusout', (event) => { if (!root.contains(event.relatedTarget)) this.schedule(); });
    root.addEventListener('keydown', (event) => this.onKey(event));
  }

  get(id) {
    return this.chats.get(id);
  }

  first() {
    return this.sorted()[0];
  }

  /** Held still: the pointer is over the list, or a row has the keyboard's focus (a click's focus does not
   * hold it, or the list would stay frozen after every click). */
  get held() {
    const focused = document.activeElement;
    return this.hovered || (this.root.contains(focused) && focused.matches(':focus-visible'));
  }

  applySnapshot(page) {
    this.chats = new Map(page.chats.map((chat) => [chat.id, chat]));
    this.pending.clear();
    this.nodes.clear();
    this.render();
  }

  applyUpdate({ chat }) {
    this.pending.set(chat.id, chat);
    this.schedule();
  }

  schedule() {
    if (this.timer || (!this.pending.size && !this.waiting)) return;
    this.timer = setTimeout(() => { this.timer = null; this.flush(); }, BATCH_MS);
  }

  /** Applies the batched updates: in place while the list is held, else re-ordered. */
  flush(force = false) {
    for (const id of this.pending.keys()) this.fresh.add(id);
    for (const [id, chat] of this.pending) {
      const known = this.chats.has(id);
      this.chats.set(id, chat);
      if (known && this.nodes.has(id)) {
        const fresh = this.item(chat);
        this.nodes.get(id).replaceWith(fresh);
        this.nodes.set(id, fresh);
        fresh.classList.add('flash');
      } else {
        this.nodes.delete(id);
      }
    }
    this.pending.clear();
    if (this.held && !force) {
      // how many chats with news would move: the count of the pill, not the rows they would push down
      const moves = this.sorted().some((chat, i) => this.order[i] !== chat.id);
      const moved = moves ? [...this.fresh].filter((id) => this.chats.has(id)).length : 0;
      this.marker.hidden = moved === 0;
      this.pill.textContent = `${moved} new`;
      this.pill.setAttribute('aria-label', `${moved} chats have new messages; they move up when you leave the list`);
      this.waiting = moves;
      return;
    }
    this.render();
  }

  select(id) {
    this.selectedId = id;
    for (const [chatId, node] of this.nodes) node.setAttribute('aria-selected', String(chatId === id));
  }

  sorted() {
    return [...this.chats.values()].sort((a, b) => (b.last_message_at || 0) - (a.last_message_at || 0) || b.id - a.id);
  }

  render() {
    const focusedId = Number(document.activeElement?.dataset?.chatId) || null;
    const chats = this.sorted();
    const twins = duplicateNames(chats);
    const nodes = chats.map((chat) => {
      if (!this.nodes.has(chat.id) || (twins.has(chat.display_name) ? 'true' : '') !== this.nodes.get(chat.id).dataset.twin) {
        this.nodes.set(chat.id, this.item(chat, twins.has(chat.display_name)));
      }
      return this.nodes.get(chat.id);
    });
    this.order = chats.map((chat) => chat.id);
    this.fresh.clear();
    this.marker.hidden = true;
    this.waiting = false;
    clear(this.root).append(this.marker, ...nodes);
    if (focusedId && this.nodes.has(focusedId)) this.nodes.get(focusedId).focus({ preventScroll: true });
    this.emptyNote.hidden = nodes.length > 0;
  }

  onKey(event) {
    const rows = [...this.root.querySelectorAll('.chat-item')];
    const at = rows.indexOf(document.activeElement);
    const go = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: rows.length - 1 }[event.key];
    if (go !== undefined && rows.length) {
      event.preventDefault();
      rows[Math.max(0, Math.min(rows.length - 1, at < 0 ? 0 : go))].focus();
    }
  }

  /** Focuses the selected row (or the first), for the keyboard. */
  focus() {
    (this.nodes.get(this.selectedId) || this.root.querySelector('.chat-item'))?.focus();
  }

  item(chat, twin = false) {
    const open = () => this.onSelect(chat.id);
    return h('li', {
      class: 'chat-item', role: 'option', tabindex: 0, 'aria-selected': String(chat.id === this.selectedId),
      'aria-label': chat.display_name, dataset: { chatId: chat.id, twin: twin ? 'true' : '' }, onclick: open,
      onkeydown: (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); open(); } },
    },
    h('span', { class: 'chat-name' }, chat.display_name,
      chat.unread_count ? h('span', { class: 'chat-unread', 'aria-label': `${chat.unread_count} unread` }, chat.unread_count) : null),
    h('span', { class: 'chat-time' }, formatShort(chat.last_message_at)),
    twin ? h('span', { class: 'chat-aka' }, tellApart(chat)) : null,
    h('span', { class: 'chat-preview' }, preview(chat)));
  }
}

function duplicateNames(chats) {
  const seen = new Map();
  for (const chat of chats) seen.set(chat.display_name, (seen.get(chat.display_name) || 0) + 1);
  return new Set([...seen].filter(([, n]) => n > 1).map(([name]) => name));
}

/** What tells a chat from another of the same name: its members, else its size and last activity. */
function tellApart(chat) {
  const names = (chat.participants || []).map((p) => p.display_name).filter(Boolean);
  const members = names.length ? `with ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` +${names.length - 3}` : ''}` : '';
  const when = chat.last_message_at ? `last ${formatDate(chat.last_message_at)}` : 'no messages';
  return [members, `${chat.message_count} messages`, when].filter(Boolean).join(' · ');
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
