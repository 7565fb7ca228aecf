// The metric definitions (app/backend/insights/METRICS.md), as the API serves them: headings, lists and
// paragraphs rendered from the markdown's lines, text only.

import { get } from './api.js';
import { clear, h } from './dom.js';

function inline(text) {
  // **bold** and `code`, the only inline marks METRICS.md uses
  return text.split(/(\*\*[^*]+\*\*|`[^`]+`)/).filter(Boolean).map((part) => {
    if (part.startsWith('**')) return h('strong', {}, part.slice(2, -2));
    if (part.startsWith('`')) return h('code', {}, part.slice(1, -1));
    return part;
  });
}

export async function showMetrics(root) {
  const { markdown } = await get('/api/insights/metrics');
  const blocks = [];
  let list = null;
  let paragraph = null;
  for (const raw of markdown.split('\n')) {
    const line = raw.trimEnd();
    if (!line.trim()) { list = null; paragraph = null; continue; }
    const heading = line.match(/^(#+)\s+(.*)$/);
    if (heading) { blocks.push(h(`h${Math.min(heading[1].length, 3)}`, {}, heading[2])); list = null; paragraph = null; continue; }
    if (line.startsWith('- ')) {
      if (!list) blocks.push(list = h('ul', {}));
      list.append(paragraph = h('li', {}, inline(line.slice(2))));
      continue;
    }
    if (paragraph) paragraph.append(' ', ...inline(line.trim()));
    else blocks.push(paragraph = h('p', {}, inline(line)));
  }
  clear(root).append(h('article', { class: 'metrics' }, blocks));
}
