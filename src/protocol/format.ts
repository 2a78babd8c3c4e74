/**
 * Numbers for people, written once so that every surface reads the same: the scheduler's judgement
 * reasons and webhook texts (Worker), the CLI's tables and the dashboard. A rate always reads
 * "0.73% (0.25–2.1%)": the estimate, then its 95 % interval in parentheses. Pure.
 */
import type { Rate } from './wilson.ts';

/** What a cell shows when there is nothing to show (no denominator, no data, an older server). */
export const NO_DATA = '–';

/** Basis points as a percentage: 10000 → "100%", 2500 → "25%", 1250 → "12.5%", 1 → "0.01%". */
export function formatBp(bp: number): string {
  return `${Number((bp / 100).toFixed(2))}%`;
}

/**
 * A fraction as a percentage, with as many decimals as it takes to show it honestly:
 * 0 → "0%", 0.25 → "25%", 0.0213 → "2.1%", 0.0042 → "0.42%", 0.00004 → "<0.01%",
 * 0.99996 → ">99.99%", 1 → "100%"; "–" when not a finite number.
 */
export function formatFraction(fraction: number): string {
  if (!Number.isFinite(fraction)) return NO_DATA;
  const percent = fraction * 100;
  if (percent === 0) return '0%';
  // Neither rounds to a misleading "0%" or "100%".
  if (percent > 0 && percent < 0.01) return '<0.01%';
  if (percent > 99.99 && percent < 100) return '>99.99%';
  const decimals = percent < 1 ? 2 : percent < 10 ? 1 : 0;
  return `${Number(percent.toFixed(decimals))}%`;
}

/**
 * A crash-free share (docs/protocol.md §5), which lives near 100 %, where 99.5 and 99.9 differ a lot: always two
 * decimals, never a rounded "100%": 0.992 → "99.20%", 0.99996 → ">99.99%", 1 → "100%".
 */
export function formatCrashFree(fraction: number): string {
  if (!Number.isFinite(fraction)) return NO_DATA;
  if (fraction === 1) return '100%';
  if (fraction > 0.9999) return '>99.99%';
  return `${(fraction * 100).toFixed(2)}%`;
}

/** A crash-free rate's 95 % interval alone, in the same form: "98.10–99.66%". */
export function formatCrashFreeInterval(rate: Rate): string {
  return `${formatCrashFree(rate.low).replace(/%$/, '')}–${formatCrashFree(rate.high)}`;
}

/** A crash-free rate with its interval, "99.12% (98.10–99.66%)", or "–" when nothing was counted (`total` 0). */
export function formatCrashFreeRate(rate: Rate | undefined, total: number | undefined): string {
  if (!rate || !total) return NO_DATA;
  return `${formatCrashFree(rate.value)} (${formatCrashFreeInterval(rate)})`;
}

/** True for a rate with no denominator, `{value: 0, low: 0, high: 1}` (`wilson(0, 0)`): nothing is known yet. */
export function isUnknownRate(rate: Rate): boolean {
  return rate.value === 0 && rate.low === 0 && rate.high === 1;
}

/** A rate's 95 % interval alone, the unit written once: `{low: 0.0171, high: 0.1369}` → "1.7–14%". */
export function formatInterval(rate: Rate): string {
  return `${formatFraction(rate.low).replace(/%$/, '')}–${formatFraction(rate.high)}`;
}

/**
 * A rate and its 95 % Wilson interval: `{value: 0.05, low: 0.0171, high: 0.1369}` → "5% (1.7–14%)";
 * "–" when nothing is known (see {@link isUnknownRate}).
 */
export function formatRate(rate: Rate): string {
  if (isUnknownRate(rate)) return NO_DATA;
  return `${formatFraction(rate.value)} (${formatInterval(rate)})`;
}

/**
 * Seconds as a plan's bake time or what is left of it, rounded up to the minute above a minute:
 * 45 → "45s", 59.2 → "1m", 4320 → "1h12m", 90000 → "1d1h".
 */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return `${minutes}m`;
  const [h, m] = [Math.floor(minutes / 60), minutes % 60];
  if (h < 24) return m ? `${h}h${m}m` : `${h}h`;
  const [d, rh] = [Math.floor(h / 24), h % 24];
  return rh ? `${d}d${rh}h` : `${d}d`;
}

/**
 * Milliseconds as an install time, to the precision it deserves: 850 → "850 ms", 4210 → "4.2 s",
 * 38400 → "38 s", 125000 → "2m 05s"; "–" for null, undefined or not a finite number.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NO_DATA;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}
