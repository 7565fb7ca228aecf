// What the last search matched, so the opened conversation can mark the same words: words as prefixes,
// phrases as consecutive words, symbols as themselves; case and diacritics folded, as the server matches.

let current = null;

export const setSearchTerms = (terms) => { current = terms && (terms.words.length || terms.phrases.length || terms.symbols.length) ? terms : null; };
export const searchTerms = () => current;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const fold = (s) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

function pattern(terms) {
  const parts = [
    ...terms.phrases.map((p) => p.split(/\s+/).map((w) => escape(fold(w))).join('[^\\p{L}\\p{N}]+')),
    ...terms.words.map((w) => `${escape(fold(w))}[\\p{L}\\p{N}]*`),
  ].map((p) => `(?<![\\p{L}\\p{N}])${p}`);
  parts.push(...terms.symbols.map(escape));
  return parts.length ? new RegExp(parts.join('|'), 'gu') : null;
}

/** [start, end) spans, in UTF-16 units of `text`, where the terms match. Folding keeps one unit per unit
 * for the letters folding changes (precomposed accents fold to their base letter). */
export function matchSpans(text, terms) {
  const re = terms && pattern(terms);
  if (!re || !text) return [];
  const folded = Array.from(text).map((c) => { const f = fold(c); return f.length === c.length ? f : c; }).join('');
  return [...folded.matchAll(re)].filter((m) => m[0].length).map((m) => [m.index, m.index + m[0].length]);
}

/** Wraps the matches inside `root`'s text nodes in <mark class="term">. */
export function markTerms(root, terms) {
  if (!terms) return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (!walker.currentNode.parentElement.closest('mark')) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const spans = matchSpans(node.data, terms);
    if (!spans.length) continue;
    const parts = [];
    let at = 0;
    for (const [start, end] of spans) {
      if (start > at) parts.push(document.createTextNode(node.data.slice(at, start)));
      const mark = document.createElement('mark');
      mark.className = 'term';
      mark.textContent = node.data.slice(start, end);
      parts.push(mark);
      at = end;
    }
    if (at < node.data.length) parts.push(document.createTextNode(node.data.slice(at)));
    node.replaceWith(...parts);
  }
}

/** Text split at code-point spans from the server into strings and <mark> nodes. */
export function spansToNodes(text, spans, h) {
  const chars = Array.from(text || '');
  const out = [];
  let at = 0;
  for (const [start, end] of spans || []) {
    if (start > at) out.push(chars.slice(at, start).join(''));
    out.push(h('mark', {}, chars.slice(start, end).join('')));
    at = end;
  }
  if (at < chars.length) out.push(chars.slice(at).join(''));
  return out;
}
