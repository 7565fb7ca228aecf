'use strict';
// Which addresses the window may show: the backend's own inbox only. Anything else (a link in a
// message) opens in the user's browser, never inside the window that holds the token.

function sameOrigin(url, base) {
  try {
    return new URL(url).origin === new URL(base).origin;
  } catch {
    return false;
  }
}

function isExternalLink(url) {
  try {
    return ['http:', 'https:', 'mailto:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

module.exports = { sameOrigin, isExternalLink };
