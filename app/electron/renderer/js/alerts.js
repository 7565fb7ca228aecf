// Clear, dismissable error messages in one corner of the window.

import { h } from './dom.js';

const MAX = 4;

export function showError(message) {
  const box = document.getElementById('alerts');
  const item = h('div', { class: 'alert' },
    h('span', {}, message),
    h('button', { type: 'button', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'));
  box.append(item);
  while (box.children.length > MAX) box.firstElementChild.remove();
  setTimeout(() => item.remove(), 15000);
}

/** The full-window message shown when the page has no (valid) token. */
export function showGate(text) {
  if (text) document.getElementById('gate-text').textContent = text;
  document.body.classList.add('no-token');
  document.getElementById('gate').hidden = false;
  document.getElementById('panes').hidden = true;
}

/** Takes the gate away again (a token arrived). */
export function hideGate() {
  document.body.classList.remove('no-token');
  document.getElementById('gate').hidden = true;
  document.getElementById('panes').hidden = false;
}
