// The launch token: handed over in the URL fragment (#token=...), which browsers never send to a server.
// It is kept in sessionStorage (this tab only) and removed from the address bar at once.

const KEY = 'chatstats.token';

export function takeToken() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromHash = params.get('token');
  if (fromHash) {
    sessionStorage.setItem(KEY, fromHash);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    return fromHash;
  }
  return sessionStorage.getItem(KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}
