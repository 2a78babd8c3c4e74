/** Numbers for people, matching the CLI's `updraft stats`: percentages, intervals, durations, times. */
import type { Rate } from './types.ts';

export const NO_DATA = '–';

/** 0 → "0%", 0.25 → "25%", 0.0213 → "2.1%", 0.0042 → "0.42%", tiny non-zero → "<0.01%". */
export function percent(fraction: number): string {
  if (!Number.isFinite(fraction)) return NO_DATA;
  const p = fraction * 100;
  if (p === 0) return '0%';
  if (p > 0 && p < 0.01) return '<0.01%';
  if (p > 99.99 && p < 100) return '>99.99%';
  const decimals = p < 1 ? 2 : p < 10 ? 1 : 0;
  return `${Number(p.toFixed(decimals))}%`;
}

/** A rate with no denominator is `{0, 0, 1}`: nothing is known yet. */
export function unknownRate(rate: Rate): boolean {
  return rate.value === 0 && rate.low === 0 && rate.high === 1;
}

/** "1.7–14%" */
export function interval(rate: Rate): string {
  return `${percent(rate.low).replace(/%$/, '')}–${percent(rate.high)}`;
}

/** Milliseconds: "850 ms", "4.2 s", "38 s", "2m 05s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NO_DATA;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

const numberFormat = new Intl.NumberFormat('en');
export function count(n: number): string {
  return numberFormat.format(n);
}

/** Basis points: 2500 → "25%", 1 → "0.01%". */
export function basisPoints(bp: number): string {
  return `${Number((bp / 100).toFixed(2))}%`;
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
