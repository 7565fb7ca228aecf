// A person's page (one-to-one chats, every handle merged) and a group's page (members' shares, who replies
// to whom), both with activity, hour x weekday, emoji and words.

import { get } from './api.js';
import { axes, chartFigure, destroyCharts, heatmapFigure, palette } from './charts.js';
import { h } from './dom.js';
import { formatDate } from './format.js';
import { href } from './router.js';
import { activityChart, cards, DrillDown, fill, duration, header, number, percent, periodPicker, section, termList } from './insights-ui.js';

export class ProfileView {
  constructor(root, { onOpenChat, onOpenMessage }) {
    this.root = root;
    this.onOpenChat = onOpenChat;
    this.period = 'all';
    this.drill = new DrillDown({ onOpenMessage });
    this.target = null;
    this.chatIds = [];
  }

  async showPerson(contactId, period = this.period) {
    this.target = ['person', contactId];
    this.period = period;
    this.renderPerson(await get(`/api/insights/people/${contactId}`, { period }));
  }

  async showGroup(chatId, period = this.period) {
    this.target = ['group', chatId];
    this.period = period;
    this.renderGroup(await get(`/api/insights/chats/${chatId}/stats`, { period }));
  }

  /** Live sync changed `chats` (ids): fetch again when one of them is this page's. */
  refresh(chats = null) {
    if (this.root.hidden || !this.target) return;
    const [kind, id] = this.target;
    if (chats && ![...chats].some((chat) => this.chatIds.includes(chat))) return;
    (kind === 'person' ? this.showPerson(id) : this.showGroup(id)).catch(() => {});
  }

  renderPerson(p) {
    this.chatIds = p.chat_ids;
    destroyCharts(this.root);
    const scope = { contact_id: p.contact_id };
    const r = p.response_times;
    const pick = (period) => this.showPerson(p.contact_id, period);
    fill(this.root, 
      header(p.name, `${p.period.label} · one-to-one chats, every handle of theirs`, periodPicker(this.period, pick),
        p.chat_ids.length ? h('button', { type: 'button', onclick: () => this.onOpenChat(p.chat_ids[0]) }, 'Open chat') : null),
      cards([
        ['Messages', number(p.messages.total), `${number(p.messages.sent)} sent · ${number(p.messages.received)} received`, 'messages'],
        ['Share', percent(p.share), 'of your one-to-one messages', 'share'],
        ['You start', percent(p.initiations.share_me), `${number(p.initiations.me)} you · ${number(p.initiations.them)} them`, 'initiations'],
        ['Your replies', duration(r.mine_median_s), `median · p90 ${duration(r.mine_p90_s)} (${number(r.mine_count)})`, 'mine'],
        ['Their replies', duration(r.theirs_median_s), `median · p90 ${duration(r.theirs_p90_s)} (${number(r.theirs_count)})`, 'theirs'],
        ['Longest streak', `${number(p.streaks.longest)} days`, `current ${number(p.streaks.current)} · ${number(p.streaks.active_days)} active days`, 'streak'],
        ['In groups', number(p.group_messages), 'messages they wrote in group chats', 'groups'],
        ['Late night', percent(p.late_night_share), p.length.mine_avg_chars != null
          ? `avg length: you ${p.length.mine_avg_chars}, them ${p.length.theirs_avg_chars} chars` : null, 'late'],
      ]),
      p.first_message_at ? h('p', { class: 'muted' }, `From ${formatDate(p.first_message_at)} to ${formatDate(p.last_message_at)}.`)
        : h('p', { class: 'empty' }, 'No one-to-one messages with them in this period.'),
      section('Activity', activityChart(p, this.drill, { scope })),
      this.drill.node,
      h('div', { class: 'two-col' },
        section('When', heatmapFigure('Hour and weekday', p.heatmap, {
          onPick: (weekday, hour) => this.drill.show(`Messages at ${hour}:00`, { ...scope, weekday, hour,
            since_ms: p.period.since_ms, until_ms: p.period.until_ms }),
        })),
        section('Emoji and words', h('div', { class: 'terms-row' }, termList('Emoji', p.top_emoji),
          termList('Your emoji', p.top_emoji_mine), termList('Their emoji', p.top_emoji_theirs), termList('Words', p.top_words)))),
      section('Reactions', h('p', {}, `${number(p.reactions.given)} given · ${number(p.reactions.received)} received: `,
        p.reactions.by_kind.map((k) => `${k.emoji || k.kind} ${k.given}/${k.received}`).join(', ') || 'none')),
    );
  }

  renderGroup(g) {
    this.chatIds = [g.chat_id];
    destroyCharts(this.root);
    const colors = palette();
    const scope = { chat_id: g.chat_id };
    const members = g.members;
    const shares = chartFigure("Members' share of messages", 'members', {
      type: 'bar',
      data: {
        labels: members.map((m) => m.name),
        datasets: [{ label: 'Messages', data: members.map((m) => m.messages),
          backgroundColor: members.map((m) => (m.is_me ? colors.sent : colors.received)),
          roles: members.map((m) => (m.is_me ? 'sent' : 'received')) }],
      },
      options: { indexAxis: 'y', scales: axes('Member', 'Messages', { horizontal: true }), plugins: { legend: { display: false },
        tooltip: { callbacks: { afterLabel: (item) => `${percent(members[item.dataIndex].share)} of the chat` } } } },
    }, { onPick: (i) => { if (members[i].contact_id != null) location.hash = href('person', members[i].contact_id); },
      height: Math.max(140, 28 * members.length + 60) });
    const pick = (period) => this.showGroup(g.chat_id, period);
    fill(this.root, 
      header(g.name, `${g.period.label} · ${g.is_group ? 'group chat' : 'chat'}`, periodPicker(this.period, pick),
        h('button', { type: 'button', onclick: () => this.onOpenChat(g.chat_id) }, 'Open chat')),
      cards([
        ['Messages', number(g.messages.total), `${number(g.messages.sent)} yours`, 'messages'],
        ['Loudest', g.loudest ? g.loudest.name : '–', g.loudest ? `${percent(g.loudest.share)} of messages` : null, 'loudest'],
        ['Quietest', g.quietest ? g.quietest.name : '–', g.quietest ? `${number(g.quietest.messages)} messages` : null, 'quietest'],
        ['You start', percent(g.initiations.share_me), `${number(g.initiations.me)} of ${number(g.initiations.me + g.initiations.them)} conversations`, 'initiations'],
        ['Longest streak', `${number(g.streaks.longest)} days`, `current ${number(g.streaks.current)}`, 'streak'],
      ]),
      section('Members', shares, h('table', { class: 'people-table' },
        h('thead', {}, h('tr', {}, ['Member', 'Messages', 'Share', 'Reactions given', 'Reactions received'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, members.map((m) => h('tr', {},
          h('td', {}, m.contact_id != null ? h('a', { href: href('person', m.contact_id) }, m.name) : m.name),
          h('td', {}, number(m.messages)), h('td', {}, percent(m.share)), h('td', {}, number(m.reactions_given)),
          h('td', {}, number(m.reactions_received))))))),
      section('Activity', activityChart(g, this.drill, { scope })),
      this.drill.node,
      h('div', { class: 'two-col' },
        section('Who replies to whom', g.replies.length ? h('ol', { class: 'reply-list' }, g.replies.slice(0, 15).map((e) =>
          h('li', {}, `${e.from_name} → ${e.to_name}: ${number(e.replies)}`))) : h('p', { class: 'muted' }, 'No replies in this period.')),
        section('Emoji and words', h('div', { class: 'terms-row' }, termList('Emoji', g.top_emoji), termList('Words', g.top_words)))),
      section('When', heatmapFigure('Hour and weekday', g.heatmap, {
        onPick: (weekday, hour) => this.drill.show(`Messages at ${hour}:00`, { ...scope, weekday, hour,
          since_ms: g.period.since_ms, until_ms: g.period.until_ms }),
      })),
    );
  }
}
