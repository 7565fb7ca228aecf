// The Overview (the landing page): totals, activity, hour x weekday, people ranked, groups, reactions.

import { get } from './api.js';
import { axes, chartFigure, destroyCharts, heatmapFigure, palette } from './charts.js';
import { h } from './dom.js';
import { formatDate } from './format.js';
import { href } from './router.js';
import { activityChart, cards, DrillDown, fill, header, number, peopleTable, percent, periodPicker, section } from './insights-ui.js';

export class OverviewView {
  constructor(root, { onOpenMessage }) {
    this.root = root;
    this.period = 'all';
    this.drill = new DrillDown({ onOpenMessage });
    this.data = null;
  }

  async show(period = this.period) {
    this.period = period;
    const data = await get('/api/insights/overview', { period, limit: 15 });
    this.data = data;
    this.render(data);
  }

  /** Live sync changed something: fetch again (the server recomputes only what changed since). */
  refresh() {
    if (!this.root.hidden) this.show().catch(() => {});
  }

  render(o) {
    destroyCharts(this.root);
    const colors = palette();
    const activity = activityChart(o, this.drill, { height: 260 });

    const top = o.top_people.slice(0, 10);
    const people = chartFigure('Top people (one-to-one messages)', 'people', {
      type: 'bar',
      data: {
        labels: top.map((p) => p.name),
        datasets: [
          { label: 'Sent', data: top.map((p) => p.sent), backgroundColor: colors.sent, role: 'sent', stack: 'p' },
          { label: 'Received', data: top.map((p) => p.received), backgroundColor: colors.received, role: 'received', stack: 'p' },
        ],
      },
      options: { indexAxis: 'y', scales: axes('Person', 'Messages', { stacked: true, horizontal: true }) },
    }, { onPick: (i) => { location.hash = href('person', top[i].contact_id); }, height: Math.max(160, 28 * top.length + 60) });

    const kinds = o.reactions.by_kind;
    const reactions = chartFigure('Reactions by kind', 'reactions', {
      type: 'bar',
      data: {
        labels: kinds.map((k) => (k.emoji ? `${k.kind} ${k.emoji}` : k.kind)),
        datasets: [
          { label: 'Given', data: kinds.map((k) => k.given), backgroundColor: colors.sent, role: 'sent' },
          { label: 'Received', data: kinds.map((k) => k.received), backgroundColor: colors.received, role: 'received' },
        ],
      },
      options: { scales: axes('Kind', 'Reactions') },
    });

    const m = o.messages;
    fill(this.root, 
      header('Overview', `${o.period.label} · ${o.period.timezone}`, periodPicker(this.period, (p) => this.show(p))),
      cards([
        ['Messages', number(m.total), `${number(m.sent)} sent · ${number(m.received)} received`, 'messages'],
        ['People', number(o.people), `${number(o.chats)} chats, ${number(o.group_chats)} groups`, 'people'],
        ['Reactions', number(o.reactions.given + o.reactions.received),
          `${number(o.reactions.given)} given · ${number(o.reactions.received)} received`, 'reactions'],
        ['Longest streak', `${number(o.streaks.longest)} days`, o.streaks.longest_start
          ? `${o.streaks.longest_start} – ${o.streaks.longest_end} · current ${o.streaks.current}` : null, 'streak'],
        ['You start', percent(o.initiations.share_me), `${number(o.initiations.me)} of ${number(o.initiations.me + o.initiations.them)} conversations`, 'initiations'],
        ['Late night', percent(o.late_night_share), 'of messages between midnight and 5 a.m.', 'late'],
      ]),
      o.first_message_at ? h('p', { class: 'muted' }, `From ${formatDate(o.first_message_at)} to ${formatDate(o.last_message_at)}.`) : null,
      m.total ? null : h('p', { class: 'empty' }, 'No messages in this period.'),
      section('Activity', activity),
      this.drill.node,
      h('div', { class: 'two-col' }, section('When', heatmapFigure('Hour and weekday', o.heatmap, {
        onPick: (weekday, hour) => this.drill.show(`Messages on ${['Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays', 'Saturdays', 'Sundays'][weekday]} at ${hour}:00`,
          { since_ms: o.period.since_ms, until_ms: o.period.until_ms, weekday, hour }),
      })), section('Reactions', reactions)),
      section('People', people, peopleTable(o.top_people, {
        onMessages: (p) => this.drill.show(`Messages with ${p.name}`,
          { contact_id: p.contact_id, since_ms: o.period.since_ms, until_ms: o.period.until_ms }),
      })),
      section('Groups', o.top_groups.length ? h('ul', { class: 'group-list' }, o.top_groups.map((g) => h('li', {},
        h('a', { href: href('group', g.chat_id) }, g.name), h('span', { class: 'muted' },
          ` ${number(g.messages)} messages, ${number(g.sent)} yours, ${g.members} members`))))
        : h('p', { class: 'muted' }, 'No group messages in this period.')),
    );
  }
}
