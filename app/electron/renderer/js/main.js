// Wiring: the token first, then the panes and the live streams that feed them.

import { hideGate, showGate } from './alerts.js';
import { AnalysisPanel } from './analysis.js';
import { get, setToken } from './api.js';
import { ChatList } from './chats.js';
import { ConversationView } from './conversation.js';
import { EvePanel } from './eve.js';
import { SearchPanel } from './search.js';
import { currentRoute, href, navigate, route, setFallback, startRouter } from './router.js';
import { showMetrics } from './metrics.js';
import { OverviewView } from './overview.js';
import { ProfileView } from './profile.js';
import { LiveStream } from './sse.js';
import { StatusIndicator } from './status.js';
import { Tabs } from './tabs.js';
import { takeToken } from './token.js';
import { YearView } from './year.js';

const $ = (id) => document.getElementById(id);

function boot() {
  const status = new StatusIndicator($('status'));
  const chatNames = new Map();

  const analysis = new AnalysisPanel($('analysis'), { onOpenMessage: (chatId, messageId) => openChat(chatId, messageId) });
  const conversation = new ConversationView({
    list: $('messages'), scroller: $('messages-scroll'), title: $('conversation-title'),
    meta: $('conversation-meta'), empty: $('conversation-empty'), olderStatus: $('older-status'),
    status: status.track('conversation'),
  });
  const chats = new ChatList($('chat-list'), $('chat-list-empty'), { onSelect: (id) => openChat(id) });
  const tabs = new Tabs(document.querySelector('.tabs'), { onShow: (name) => { if (name === 'eve') eve.start(); } });
  const eve = new EvePanel({
    select: $('eve-thread-select'), newButton: $('eve-new-thread'), list: $('eve-messages'),
    form: $('eve-form'), input: $('eve-input'), send: $('eve-send'),
  }, { onOpenMessage: (chatId, messageId) => openChat(chatId, messageId) });
  const search = new SearchPanel({
    form: $('search-form'), input: $('search-input'), results: $('search-results'), status: $('search-status'),
    sort: $('search-sort'), more: $('search-more'),
  }, {
    onOpenMessage: (chatId, messageId) => openChat(chatId, messageId),
    onShow: () => {
      if (currentRoute()?.name !== 'chats') navigate('chats');
      tabs.show('search');
    },
  });

  // keyboard: "/" or Ctrl/Cmd-K to the search box, Esc clears it and returns to the list, arrows in the list
  document.addEventListener('keydown', (event) => {
    const typing = event.target.closest?.('input, textarea, select, [contenteditable="true"]');
    if ((event.key === 'k' && (event.metaKey || event.ctrlKey)) || (event.key === '/' && !typing)) {
      event.preventDefault();
      $('search-input').focus();
      $('search-input').select();
    } else if (event.key === 'Escape' && event.target === $('search-input')) {
      event.preventDefault();
      search.clear();
      chats.focus();
    } else if ((event.key === 'ArrowDown' || event.key === 'ArrowUp') && !typing && !event.target.closest?.('#chat-list')
               && !event.target.closest?.('.pane-side')) {
      event.preventDefault();
      chats.focus();
    }
  });

  async function chatById(id) {
    if (chats.get(id)) return chats.get(id);
    if (!chatNames.has(id)) chatNames.set(id, get(`/api/chats/${id}`, undefined, { quiet: true }).catch(() => null));
    return chatNames.get(id);
  }

  // Opening a chat from anywhere (list, search, Eve, an insights page) goes through the address, so the
  // Back button and links work; the message to focus waits for the route to show the chat.
  let pendingFocus = null;
  function openChat(id, messageId = null) {
    pendingFocus = messageId;
    navigate('chats', id);
  }

  route('chats', async ([id]) => {
    const chatId = Number(id);
    if (!id) {
      if (!conversation.chat && chats.first()) navigate('chats', chats.first().id);
      return;
    }
    const focus = pendingFocus;
    pendingFocus = null;
    if (Number.isSafeInteger(chatId)) await showChat(chatId, focus);
  });

  async function showChat(id, messageId) {
    const chat = await chatById(id);
    if (!chat) return;
    chats.select(id);
    const insightsLink = $('conversation-insights');
    const person = !chat.is_group && chat.participants[0];
    insightsLink.href = chat.is_group ? href('group', chat.id) : person ? href('person', person.id) : href('group', chat.id);
    insightsLink.textContent = chat.is_group ? 'Group insights' : 'Insights';
    insightsLink.hidden = false;
    const changed = conversation.chat?.id !== id;
    conversation.open(chat, { focusMessageId: messageId });
    if (changed) analysis.show(chat);
  }

  // Insights pages: the overview is the landing page; each refetches (debounced) when live sync changes chats.
  const insightsViews = {
    overview: new OverviewView($('view-overview'), { onOpenMessage: openChat }),
    profile: new ProfileView($('view-profile'), { onOpenMessage: openChat, onOpenChat: (id) => openChat(id) }),
    year: new YearView($('view-year'), { onOpenMessage: openChat, onOpenChat: (id) => openChat(id) }),
  };
  route('overview', () => insightsViews.overview.show().catch(() => {}));
  route('person', ([id]) => insightsViews.profile.showPerson(Number(id)).catch(() => {}));
  route('group', ([id]) => insightsViews.profile.showGroup(Number(id)).catch(() => {}));
  route('year', ([year]) => insightsViews.year.show(year).catch(() => {}));
  route('metrics', () => showMetrics($('view-metrics')).catch(() => {}));
  // a person's or group's page refreshes only for its own chats; the overview and the year for any
  let refreshTimer = null;
  const changedChats = new Set();
  function insightsChanged(chatId) {
    changedChats.add(chatId);
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      const chats = new Set(changedChats);
      changedChats.clear();
      Object.values(insightsViews).forEach((view) => view.refresh(chats));
    }, 700);
  }

  function chatUpdated(data) {
    chats.applyUpdate(data);
    if (conversation.chat?.id === data.chat.id) conversation.setChat(data.chat);
    insightsChanged(data.chat.id);
  }

  new LiveStream('/api/live-sync/stream/chats', {
    onState: status.track('chats'),
    events: {
      snapshot: (page) => {
        chats.applySnapshot(page);
        const shown = currentRoute();
        if (shown?.name === 'chats' && !shown.args.length && !conversation.chat && chats.first()) {
          navigate('chats', chats.first().id);
        }
      },
      'chat.updated': (data) => chatUpdated(data),
      'message.created': (data) => chatUpdated(data),
    },
  }).start();
  status.start();
  setFallback('overview');
  startRouter();
}

// A token link opened in this tab (#token=...) is taken as it arrives, without a reload.
let booted = false;
function accept(token) {
  setToken(token);
  hideGate();
  if (!booted) {
    booted = true;
    boot();
  }
}

window.addEventListener('hashchange', () => {
  if (!location.hash.includes('token=')) return;
  const token = takeToken();
  if (token) accept(token);
});

const token = takeToken();
if (token) accept(token);
else showGate();
