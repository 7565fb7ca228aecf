// How much of a chat (and of everything) is analysed: "N of M conversations analysed", the actions
// "Analyse this chat's history" and "Analyse everything" while anything is left (or out of date), the
// consent to a paid model's estimate, and the progress of the runs going on, refreshed while they run.

import { get, post } from './api.js';
import { h } from './dom.js';

const POLL_MS = 1500;
const PEOPLE_SHOWN = 3;

/** The name a user sees for the model behind a result: never an internal id. */
export function sourceLabel(model) {
  if (!model) return '';
  if (model.startsWith('chatstats/')) return 'Local analysis';
  return model.includes('/') ? model.split('/').slice(1).join('/') : model;
}

/** A summary's label: extractive for the local analysis (its sentences are quoted, not written). */
export function summaryLabel(model) {
  return model && model.startsWith('chatstats/') ? 'Local analysis · extractive summary' : sourceLabel(model);
}

const FEELINGS = {
  joy: 'joyful', sadness: 'sad', anger: 'angry', fear: 'worried', surprise: 'surprised',
  disgust: 'disgusted', trust: 'trusting', anticipation: 'looking forward',
};

export function feeling(emotion) {
  return FEELINGS[emotion] || emotion;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function costText(estimate) {
  if (estimate.cost_usd === null) return 'unknown cost';
  return estimate.cost_usd === 0 ? 'free' : `about $${estimate.cost_usd.toFixed(2)}`;
}

export class CoverageBox {
  /** `onChange` runs when a run this box follows ends (the panel shows the new results). */
  constructor(chat, { onChange }) {
    this.chat = chat;
    this.onChange = onChange;
    this.timer = null;
    this.stopped = false;
    this.activeBefore = null;
    this.line = h('p', { class: 'coverage-line' }, 'Counting analysed conversations…');
    this.overall = h('p', { class: 'muted coverage-overall' }, '');
    this.people = h('ul', { class: 'muted coverage-people', 'aria-label': 'Analysed per person' });
    this.note = h('p', { class: 'muted offline-note' }, '');
    this.chatButton = h('button', { type: 'button', class: 'primary', hidden: true,
      onclick: () => this.start({ scope: 'chat', chat_id: chat.id }) }, 'Analyse this chat\u2019s history');
    this.allButton = h('button', { type: 'button', hidden: true,
      onclick: () => this.start({ scope: 'history' }) }, 'Analyse everything');
    this.consent = h('div', { class: 'consent', hidden: true });
    this.element = h('section', { class: 'card coverage', role: 'region', 'aria-label': 'Analysis coverage' },
      this.consent, this.line, this.people, this.overall, h('div', { class: 'coverage-actions' }, this.chatButton, this.allButton),
      this.note);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async refresh() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    let mine;
    let all;
    let onboarding;
    try {
      [mine, all, onboarding] = await Promise.all([
        get('/api/analysis/coverage', { chat_id: this.chat.id }, { quiet: true }),
        get('/api/analysis/coverage', undefined, { quiet: true }),
        get('/api/analysis/onboarding', undefined, { quiet: true }),
      ]);
    } catch (err) {
      this.line.textContent = `Coverage unavailable: ${err.message}`;
      return;
    }
    if (this.stopped) return;
    this.render(mine, all, onboarding);
    this.renderPeople();
    const active = all.active_run_ids.length > 0;
    if (this.activeBefore && !active) this.onChange();
    this.activeBefore = active;
    if (active) this.timer = setTimeout(() => this.refresh(), POLL_MS);
  }

  render(mine, all, onboarding) {
    const running = all.active_run_ids.length > 0;
    this.line.textContent = `${mine.analysed} of ${plural(mine.total, 'conversation')} analysed`
      + (mine.stale ? ` · ${mine.stale} out of date (new prompt version)` : '');
    this.line.dataset.analysed = mine.analysed;
    this.line.dataset.total = mine.total;
    this.overall.textContent = `Everything: ${all.analysed} of ${plural(all.total, 'conversation')} analysed`
      + (all.stale ? ` · ${all.stale} out of date` : '') + (running ? ' · analysing now…' : '');
    this.chatButton.hidden = mine.remaining === 0;
    this.chatButton.textContent = mine.stale && mine.stale === mine.remaining ? 'Re-analyse this chat\u2019s history'
      : 'Analyse this chat\u2019s history';
    this.allButton.hidden = all.remaining === 0;
    this.chatButton.disabled = this.allButton.disabled = running;
    this.renderConsent(onboarding);
  }

  /** Per person of the chat (up to PEOPLE_SHOWN), over every chat they are in. */
  async renderPeople() {
    const people = (this.chat.participants || []).slice(0, PEOPLE_SHOWN);
    const rows = await Promise.all(people.map((p) => get('/api/analysis/coverage', { contact_id: p.id }, { quiet: true })
      .then((c) => h('li', { dataset: { contactId: p.id } },
        `${p.display_name || 'Someone'}, in all your chats: ${c.analysed} of ${plural(c.total, 'conversation')} analysed`))
      .catch(() => null)));
    if (!this.stopped) this.people.replaceChildren(...rows.filter(Boolean));
  }

  renderConsent(onboarding) {
    const waiting = onboarding.status === 'awaiting_consent' && onboarding.estimate;
    this.consent.hidden = !waiting;
    if (!waiting) return;
    const e = onboarding.estimate;
    this.consent.replaceChildren(
      h('p', {}, h('strong', {}, 'Analyse your whole history?'),
        ` ${plural(e.conversations, 'conversation')} · ${plural(e.calls, 'model call')} · `
        + `${Math.round((e.tokens_in + e.tokens_out) / 1000)}k tokens · ${costText(e)} with ${sourceLabel(e.model)}.`),
      h('button', { type: 'button', class: 'primary', onclick: () => this.answer('accept') }, 'Analyse my history'),
      h('button', { type: 'button', onclick: () => this.answer('decline') }, 'Not now'));
  }

  async answer(verb) {
    try {
      await post(`/api/analysis/onboarding/${verb}`);
    } catch (err) {
      this.note.textContent = err.message;
    }
    this.refresh();
  }

  async start(body) {
    this.chatButton.disabled = this.allButton.disabled = true;
    this.note.textContent = 'Starting…';
    try {
      const created = await post('/api/analysis/runs', body);
      const e = created.estimate;
      this.note.textContent = `Started: ${plural(e.conversations, 'conversation')} · ${costText(e)} (${sourceLabel(e.model)})`;
    } catch (err) {
      this.note.textContent = err.message;
    }
    this.refresh();
  }
}
