// "Your year in messages": top people, busiest day, new people, the longest conversation, emoji, streaks,
// and how the year compares with the one before.

import { get } from './api.js';
import { axes, chartFigure, destroyCharts, heatmapFigure, palette } from './charts.js';
import { h } from './dom.js';
import { formatDate } from './format.js';
import { href, navigate } from './router.js';
import { cards, DrillDown, fill, header, number, peopleTable, percent, section, termList, trend } from './insights-ui.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export class YearView {
  constructor(root, { onOpenMessage, onOpenChat }) {
    this.root = root;
    this.onOpenChat = onOpenChat;
    this.drill = new DrillDown({ onOpenMessage });
    this.year = null;
  }

  async show(year) {
    if (!year) {
      const { years } = await get('/api/insights/years');
      if (!years.length) {
        fill(this.root, header('Year in review'), h('p', { class: 'empty' }, 'No messages yet.'));
        return;
      }
      navigate('year', years[years.length - 1]);
      return;
    }
    this.year = Number(year);
    this.render(await get(`/api/insights/years/${this.year}`));
  }

  /** Live sync brings today's messages: only this year's review changes. */
  refresh() {
    if (!this.root.hidden && this.year === new Date().getFullYear()) this.show(this.year).catch(() => {});
  }

  render(y) {
    destroyCharts(this.root);
    const colors = palette();
    const byMonth = new Map(y.activity.points.map((p) => [Number(p.bucket.slice(5, 7)) - 1, p]));
    const months = MONTHS.map((_, i) => byMonth.get(i) || { sent: 0, received: 0, messages: 0 });
    const monthly = chartFigure(`Messages per month of ${y.year}`, 'months', {
      type: 'bar',
      data: {
        labels: MONTHS,
        datasets: [
          { label: 'Sent', data: months.map((p) => p.sent), backgroundColor: colors.sent, role: 'sent', stack: 'm' },
          { label: 'Received', data: months.map((p) => p.received), backgroundColor: colors.received, role: 'received', stack: 'm' },
        ],
      },
      options: { scales: axes('Month', 'Messages', { stacked: true }) },
    }, { onPick: (i) => { const p = byMonth.get(i); if (p) this.drill.show(`Messages of ${MONTHS[i]} ${y.year}`, { since_ms: p.start_ms, until_ms: p.end_ms }); }, height: 240 });
    const prev = y.previous_year;
    const nav = h('nav', { class: 'year-nav', 'aria-label': 'Years' }, y.years.map((year) =>
      h('a', { href: href('year', year), 'aria-current': year === y.year ? 'page' : 'false' }, String(year))));
    const longest = y.longest_conversation;
    fill(this.root, 
      header(`Your ${y.year} in messages`, `${y.period.timezone}`, nav),
      cards([
        ['Messages', number(y.messages.total), prev.messages != null ? h('span', {}, `${number(prev.messages)} in ${y.year - 1} `, trend(prev.messages_change)) : 'first year', 'messages'],
        ['People', number(y.people), prev.people != null ? h('span', {}, `${number(prev.people)} in ${y.year - 1} `, trend(prev.people_change)) : null, 'people'],
        ['Busiest day', y.busiest_day ? y.busiest_day.day : '–', y.busiest_day ? `${number(y.busiest_day.messages)} messages` : null, 'busiest'],
        ['Longest streak', `${number(y.streaks.longest)} days`, y.streaks.longest_start ? `${y.streaks.longest_start} – ${y.streaks.longest_end}` : null, 'streak'],
        ['Reactions', number(y.reactions.given + y.reactions.received), `${number(y.reactions.given)} given · ${number(y.reactions.received)} received`, 'reactions'],
        ['Longest conversation', longest ? `${number(longest.messages)} messages` : '–', longest ? `${longest.name}, ${formatDate(longest.started_at)}` : null, 'conversation'],
      ]),
      section('Month by month', monthly),
      this.drill.node,
      section('Top people', peopleTable(y.top_people, {
        onMessages: (p) => this.drill.show(`Messages with ${p.name} in ${y.year}`,
          { contact_id: p.contact_id, since_ms: y.period.since_ms, until_ms: y.period.until_ms }),
      })),
      h('div', { class: 'two-col' },
        section('New people', y.new_people.length ? h('ul', {}, y.new_people.map((p) => h('li', {},
          h('a', { href: href('person', p.contact_id) }, p.name), h('span', { class: 'muted' }, ` since ${formatDate(p.first_message_at)}, ${number(p.messages)} messages`))))
          : h('p', { class: 'muted' }, 'Nobody new this year.')),
        section('Emoji and words', h('div', { class: 'terms-row' }, termList('Emoji', y.top_emoji), termList('Words', y.top_words)))),
      section('When', heatmapFigure('Hour and weekday', y.heatmap, {
        onPick: (weekday, hour) => this.drill.show(`Messages at ${hour}:00`, { weekday, hour, since_ms: y.period.since_ms, until_ms: y.period.until_ms }),
      })),
      longest ? h('p', {}, h('button', { type: 'button', onclick: () => this.onOpenChat(longest.chat_id) }, `Open ${longest.name}`)) : null,
      h('p', { class: 'muted' }, `Share of one-to-one messages with your top person: ${percent(y.top_people[0]?.share)}.`),
    );
  }
}
