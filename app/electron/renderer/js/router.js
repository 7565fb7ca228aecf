// Top-level views by the address fragment: #/overview, #/chats/12, #/person/3, #/group/7, #/year/2025.
// A fragment that carries the launch token (#token=...) is the token module's, not a route.

const routes = new Map();
let fallback = 'overview';
let current = null;

/** Register a view: `handler(args)` is called with the path segments after the name. */
export function route(name, handler) {
  routes.set(name, handler);
}

export function setFallback(name) {
  fallback = name;
}

export function currentRoute() {
  return current;
}

/** Parse a fragment such as '#/person/3' into { name: 'person', args: ['3'] }. */
export function parse(hash) {
  const path = (hash || '').replace(/^#\/?/, '');
  if (!path || path.includes('token=')) return { name: fallback, args: [] };
  const [name, ...args] = path.split('/').map((part) => decodeURIComponent(part));
  return routes.has(name) ? { name, args } : { name: fallback, args: [] };
}

export function href(name, ...args) {
  return `#/${[name, ...args.map((arg) => encodeURIComponent(String(arg)))].join('/')}`;
}

export function navigate(name, ...args) {
  const target = href(name, ...args);
  if (location.hash === target) dispatch();
  else location.hash = target;
}

function dispatch() {
  const next = parse(location.hash);
  current = next;
  for (const view of document.querySelectorAll('[data-view]')) view.hidden = view.dataset.view !== viewOf(next.name);
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.setAttribute('aria-current', link.dataset.nav === viewOf(next.name) ? 'page' : 'false');
  }
  routes.get(next.name)?.(next.args);
}

// person and group pages share one view container; the rest have their own.
function viewOf(name) {
  return name === 'person' || name === 'group' ? 'profile' : name;
}

export function startRouter() {
  window.addEventListener('hashchange', dispatch);
  dispatch();
}
