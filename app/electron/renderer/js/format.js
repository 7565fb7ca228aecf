// Times and small labels.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
const shortFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', year: 'numeric' });
const thisYearFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const formatTime = (ms) => timeFmt.format(new Date(ms));
export const formatDay = (ms) => dayFmt.format(new Date(ms));
export const formatFull = (ms) => fullFmt.format(new Date(ms));
export const formatDate = (ms) => shortFmt.format(new Date(ms));

/** "14:02" today, "Tue" this week, else "Mar 3, 2025": what a chat list shows. */
export function formatShort(ms) {
  if (!ms) return '';
  const then = new Date(ms);
  const now = new Date();
  if (then.toDateString() === now.toDateString()) return timeFmt.format(then);
  if (now - then < 6 * 86400000) return then.toLocaleDateString(undefined, { weekday: 'short' });
  return (then.getFullYear() === now.getFullYear() ? thisYearFmt : shortFmt).format(then);
}

export const dayKey = (ms) => new Date(ms).toDateString();

/** Message text without the U+FFFC marks where attachments sit inline. */
export const cleanText = (text) => (text || '').replace(/\uFFFC/g, '').trim();

export function formatBytes(n) {
  if (n == null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
