// One message as a list item: sender, reply line, bubble, attachments, reactions, time and marks.
// Every piece of message data goes in through text nodes (dom.h), never as markup.

import { streamUrl } from './api.js';
import { h } from './dom.js';
import { cleanText, formatBytes, formatFull, formatTime } from './format.js';

const TAPBACK_EMOJI = {
  love: '❤️', like: '👍', dislike: '👎', laugh: '😂', emphasize: '‼️', question: '❓', sticker: '🏷️',
};
const TAPBACK_VERB = {
  love: 'Loved', like: 'Liked', dislike: 'Disliked', laugh: 'Laughed at', emphasize: 'Emphasized',
  question: 'Questioned', emoji: 'Reacted', sticker: 'Sticker',
};

export const senderName = (message) => (message.is_from_me ? 'You' : message.sender?.name || message.sender?.handle || 'Unknown');

/** A group event (rename, participant change ...) as a centred line. */
function eventLine(message) {
  const who = senderName(message);
  let what;
  if (message.kind === 'rename' || message.group_title) what = `${who} named the conversation “${message.group_title || ''}”`;
  else what = `${who}: ${message.kind.replace(/_/g, ' ')}`;
  return h('li', { class: 'event-line', dataset: { messageId: message.id, guid: message.guid } },
    what, ' · ', formatTime(message.sent_at));
}

const URL_PATTERN = /(https?:\/\/[^\s<>"]+)/g;

/** Text with its http(s) addresses as links (they open in the user's browser, not in the app window). */
function linkified(text) {
  return text.split(URL_PATTERN).map((part, i) => (i % 2
    ? h('a', { href: part, target: '_blank', rel: 'noopener noreferrer' }, part)
    : part));
}

function bubble(message) {
  if (message.is_unsent) {
    return h('div', { class: 'bubble', 'aria-label': 'Unsent message' },
      message.is_from_me ? 'You unsent a message.' : `${senderName(message)} unsent a message.`);
  }
  const text = cleanText(message.text);
  const parts = [];
  if (message.subject) parts.push(h('span', { class: 'msg-subject' }, message.subject));
  if (text) parts.push(h('span', { class: 'msg-text' }, linkified(text)));
  if (message.is_audio) {
    parts.push(h('span', { class: 'msg-text' }, '🎤 Audio message',
      message.audio_transcription ? `: “${message.audio_transcription}”` : ''));
  }
  if (!parts.length && !message.attachments.length) {
    parts.push(h('span', { class: 'msg-text muted' }, message.decode_error ? '(could not read this message)' : '(no text)'));
  }
  if (!parts.length) return null;
  return h('div', { class: 'bubble' }, parts);
}

const IMAGE_NAME = /\.(jpe?g|png|gif|heic|heif|webp|tiff?|bmp)$/i;
const isImage = (a) => (a.mime_type || '').startsWith('image/') || a.is_sticker || IMAGE_NAME.test(a.transfer_name || '');

/** An image or sticker on disk as a thumbnail (the token goes in the address: <img> sends no headers);
 * anything else, or an image whose thumbnail fails, as a placeholder with its name and size. */
function attachments(message) {
  if (!message.attachments.length || message.is_unsent) return null;
  return h('ul', { class: 'msg-attachments', 'aria-label': 'Attachments' },
    message.attachments.map((a) => {
      const label = [a.transfer_name || a.mime_type || 'Attachment', a.total_bytes ? formatBytes(a.total_bytes) : '']
        .filter(Boolean).join(' · ');
      const placeholder = h('li', {
        class: a.file_present ? 'attachment' : 'attachment missing',
        title: a.file_present ? a.mime_type || '' : 'The file is not on this Mac (it may be in iCloud)',
      }, a.is_sticker ? '🏷️ ' : '📎 ', label);
      if (!a.file_present || !isImage(a)) return placeholder;
      const img = h('img', {
        class: 'attachment-thumb', alt: label, loading: 'lazy', title: label,
        src: streamUrl(`/api/attachments/${a.id}/thumbnail`, { size: 256 }),
      });
      img.addEventListener('error', () => item.replaceWith(placeholder), { once: true });
      const item = h('li', { class: a.is_sticker ? 'attachment-image sticker' : 'attachment-image' }, img);
      return item;
    }));
}

function reactions(message) {
  if (!message.reactions.length || message.is_unsent) return null;
  return h('div', { class: 'reactions', 'aria-label': 'Reactions' },
    message.reactions.map((r) => {
      const who = r.is_from_me ? 'You' : r.sender_name || 'Someone';
      const emoji = r.emoji || TAPBACK_EMOJI[r.kind] || r.kind;
      return h('span', {
        class: 'reaction', dataset: { kind: r.kind }, title: `${TAPBACK_VERB[r.kind] || 'Reacted'} by ${who}`,
        'aria-label': `${TAPBACK_VERB[r.kind] || 'Reaction'} by ${who}`,
      }, `${emoji} ${who.split(' ')[0]}`);
    }));
}

function meta(message) {
  const marks = [h('time', { datetime: new Date(message.sent_at).toISOString(), title: formatFull(message.sent_at) },
    formatTime(message.sent_at))];
  if (message.edit_count > 0 && !message.is_unsent) {
    marks.push(h('span', {
      class: 'msg-edited', 'aria-label': 'Edited',
      title: message.edited_at ? `Edited ${formatFull(message.edited_at)}` : 'Edited',
    }, 'Edited'));
  }
  if (message.deleted) marks.push(h('span', { class: 'msg-deleted' }, 'Deleted in Messages'));
  if (message.is_from_me && message.read_at) marks.push(h('span', { title: formatFull(message.read_at) }, 'Read'));
  return h('div', { class: 'msg-meta' }, marks);
}

/**
 * @param message  a Message from the API
 * @param lookup   guid -> Message, for the line a reply shows of what it answers
 */
export function messageNode(message, lookup) {
  if (message.kind !== 'message') return eventLine(message);
  const classes = ['msg', message.is_from_me ? 'me' : 'them'];
  if (message.is_unsent) classes.push('unsent');
  if (message.deleted) classes.push('deleted');
  let reply = null;
  if (message.reply_to_guid) {
    const target = lookup(message.reply_to_guid);
    const quoted = target ? `${senderName(target)}: ${cleanText(target.text) || '…'}` : 'an earlier message';
    reply = h('div', { class: 'msg-reply', 'aria-label': 'Reply to' }, `↪ ${quoted}`);
  }
  return h('li', {
    class: classes.join(' '), dataset: { messageId: message.id, guid: message.guid },
    'aria-label': `Message from ${senderName(message)}`,
  },
  h('div', { class: 'msg-sender' }, senderName(message)),
  reply, bubble(message), attachments(message), reactions(message), meta(message));
}
