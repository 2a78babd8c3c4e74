/**
 * What only the dashboard formats, with the browser's Intl: counts with thousands separators, dates
 * and times in the viewer's time zone, "3 hours ago". Percentages, rates with their interval and
 * durations come from src/protocol/format.ts, so they read exactly as in the CLI and the scheduler.
 */
const numberFormat = new Intl.NumberFormat('en');

/** 12345 → "12,345". */
export function count(n: number): string {
  return numberFormat.format(n);
}

const dateTime = new Intl.DateTimeFormat('en', {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const dateOnly = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', year: 'numeric' });

/** "Nov 21, 18:00" in the viewer's time zone. */
export function time(at: string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? at : dateTime.format(date);
}

export function date(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : dateOnly.format(d);
}

/** "3 hours ago", "2 days ago", "just now". */
export function ago(at: string, now = Date.now()): string {
  const seconds = Math.round((now - Date.parse(at)) / 1000);
  if (!Number.isFinite(seconds)) return at;
  if (seconds < 60) return 'just now';
  const units: [number, string][] = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size) {
      const n = Math.floor(seconds / size);
      return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
    }
  }
  return at;
}
