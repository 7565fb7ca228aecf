// The analysis panel of one chat: how much of it is analysed (with the actions that analyse the rest),
// summaries, topics, emotions, entities, humour, activity and commitments.

import { get, post } from './api.js';
import { CoverageBox, feeling, summaryLabel } from './coverage.js';
import { clear, h } from './dom.js';
import { formatDate, formatFull } from './format.js';

const DAY_MS = 86400000;

export class AnalysisPanel {
  constructor(root, { onOpenMessage }) {
    this.root = root;
    this.onOpenMessage = onOpenMessage;
    this.chat = null;
    this.coverage = null;
    this.seq = 0;
  }

  async show(chat) {
    this.chat = chat;
    this.coverage?.stop();
    this.coverage = null;
    const seq = ++this.seq;
    clear(this.root).append(h('p', { class: 'muted' }, 'Loading analysis…'));
    let insights;
    let commitments;
    try {
      [insights, commitments] = await Promise.all([
        get(`/api/insights/chats/${chat.id}`, { bucket: 'week' }),
        get('/api/commitments', { chat_id: chat.id, status: 'active' }),
      ]);
    } catch (err) {
      if (seq === this.seq) clear(this.root).append(h('p', { class: 'muted' }, `Analysis unavailable: ${err.message}`));
      return;
    }
    if (seq !== this.seq) return;
    this.render(insights, commitments.commitments);
  }

  reload() {
    if (this.chat) this.show(this.chat);
  }

  render(insights, commitments) {
    const summaries = insights.summaries.filter((s) => s.summary.trim());
    this.coverage = new CoverageBox(this.chat, { onChange: () => this.reload() });
    this.coverage.refresh();
    clear(this.root).append(...[
      h('h2', { class: 'visually-hidden' }, `Analysis of ${this.chat.display_name}`),
      this.coverage.element,
      section('Summary', summaries.length && summaries.slice(0, 3).map((s) =>
        h('div', { class: 'summary' },
          h('p', {}, s.summary),
          h('p', { class: 'muted' }, `${formatDate(s.started_at)} · ${s.message_count} messages`,
            s.model ? ` · ${summaryLabel(s.model)}` : '')))),
      section('Topics', insights.topics.length && h('div', { class: 'chips', 'aria-label': 'Topics' },
        insights.topics.slice(0, 16).map((t) => h('span', {
          class: 'chip', title: `${t.conversations} conversation${t.conversations === 1 ? '' : 's'}`,
        }, t.topic)))),
      section('Emotions', insights.emotions.length && insights.emotions.slice(0, 6).map((p) =>
        h('div', { class: 'participant' },
          h('div', { class: 'participant-name' }, p.participant),
          h('div', { class: 'chips', 'aria-label': `Feelings of ${p.participant}` }, p.emotions.slice(0, 3).map((e) =>
            h('span', { class: 'chip', title: `${e.emotion}: ${e.score.toFixed(2)} over ${e.conversations} conversation${e.conversations === 1 ? '' : 's'}` },
              feeling(e.emotion))))))),
      section('People, places and things', insights.entities.length && h('ul', { class: 'list' },
        insights.entities.slice(0, 10).map((e) => h('li', {},
          h('span', {}, e.text), h('span', { class: 'muted' }, ` · ${e.kind} · ${e.mentions}×`))))),
      section('Funny moments', insights.humor.length && h('ul', { class: 'list' },
        insights.humor.slice(0, 5).map((item) => h('li', {
          class: item.message_id ? 'clickable' : '', onclick: item.message_id ? () => this.onOpenMessage(this.chat.id, item.message_id) : null,
        }, `“${item.message_text || item.text}”`, h('span', { class: 'muted' }, ` — ${item.participant}`))))),
      section('Commitments', this.commitmentList(commitments)),
      section('Activity', insights.activity.length && timeline(insights.activity)),
    ].filter(Boolean));
  }

  commitmentList(commitments) {
    if (!commitments.length) return h('p', { class: 'muted' }, 'No open commitments in this chat.');
    return h('ul', { class: 'list', 'aria-label': 'Commitments' }, commitments.map((c) => {
      const act = (verb, body) => async () => {
        try {
          await post(`/api/commitments/${c.id}/${verb}`, body);
          this.reload();
        } catch { /* shown by api.js */ }
      };
      return h('li', { dataset: { commitmentId: c.id } },
        h('div', {}, c.text),
        h('div', { class: 'muted' }, `${c.is_from_me ? 'You' : c.committed_by}`,
          c.due_at ? ` · due ${formatFull(c.due_at)}` : c.due_text ? ` · ${c.due_text}` : ''),
        h('div', { class: 'commitment-actions' },
          h('button', { type: 'button', onclick: act('complete'), 'aria-label': `Mark done: ${c.text}` }, 'Done'),
          h('button', { type: 'button', onclick: act('snooze', { until: Date.now() + DAY_MS }), 'aria-label': `Snooze a day: ${c.text}` }, 'Snooze 1 day'),
          h('button', { type: 'button', onclick: act('cancel'), 'aria-label': `Cancel: ${c.text}` }, 'Cancel')));
    }));
  }
}

function section(title, content) {
  if (!content || (Array.isArray(content) && !content.length)) return null;
  return h('section', { class: 'card', 'aria-label': title }, h('h3', {}, title), content);
}

function timeline(activity) {
  // the API lists only weeks with messages: fill the gaps so the bars keep time
  const byWeek = new Map(activity.map((b) => [b.bucket, b]));
  const lastMs = Date.parse(`${activity[activity.length - 1].bucket}T00:00:00Z`);
  const firstMs = Math.max(Date.parse(`${activity[0].bucket}T00:00:00Z`), lastMs - 51 * 7 * DAY_MS);
  const weeks = [];
  for (let t = firstMs; t <= lastMs; t += 7 * DAY_MS) {
    const key = new Date(t).toISOString().slice(0, 10);
    weeks.push(byWeek.get(key) || { bucket: key, messages: 0, sent: 0 });
  }
  const max = Math.max(...weeks.map((b) => b.messages), 1);
  const bars = weeks.map((b) => {
    const bar = h('span', { title: `Week of ${b.bucket}: ${b.messages} messages (${b.sent} sent)` });
    bar.style.height = `${(b.messages / max) * 100}%`;
    return bar;
  });
  const first = weeks[0].bucket;
  const last = weeks[weeks.length - 1].bucket;
  return [h('div', { class: 'timeline', role: 'img', 'aria-label': `Messages per week from ${first} to ${last}` }, bars),
    h('p', { class: 'muted' }, `Messages per week, ${first} – ${last}`)];
}
