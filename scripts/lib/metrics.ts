/**
 * Human rendering of DESIGN §5's release health: rates as percentages with their 95 % interval,
 * durations in a readable unit. Shared by `stats` and `status`.
 */
import type { Rate, ReleaseHealth } from './api-types.ts';
import { formatTable, formatTime } from './table.ts';

/** What a cell shows when there is nothing to show (no denominator, no data, an older server). */
export const NO_DATA = '–';

/**
 * A fraction as a percentage, with as many decimals as it takes to show it honestly:
 * 0 → "0%", 0.25 → "25%", 0.0213 → "2.1%", 0.0042 → "0.42%", 0.00004 → "<0.01%", 1 → "100%".
 */
export function formatFraction(fraction: number): string {
  if (!Number.isFinite(fraction)) return NO_DATA;
  const percent = fraction * 100;
  if (percent === 0) return '0%';
  if (percent > 0 && percent < 0.01) return '<0.01%';
  if (percent > 99.99 && percent < 100) return '>99.99%';
  const decimals = percent < 1 ? 2 : percent < 10 ? 1 : 0;
  return `${Number(percent.toFixed(decimals))}%`;
}

/** A rate with no denominator is `{value: 0, low: 0, high: 1}`: nothing is known yet. */
export function isUnknownRate(rate: Rate): boolean {
  return rate.value === 0 && rate.low === 0 && rate.high === 1;
}

/** "2.1% (1.2–3.8%)": the rate and its 95 % Wilson interval; "–" when nothing is known. */
export function formatRate(rate: Rate): string {
  if (isUnknownRate(rate)) return NO_DATA;
  const low = formatFraction(rate.low).replace(/%$/, '');
  return `${formatFraction(rate.value)} (${low}–${formatFraction(rate.high)})`;
}

/** Milliseconds for people: "850 ms", "4.2 s", "38 s", "2m 05s"; "–" for null. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NO_DATA;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

/** "2026-11-14 18:00:00Z → 2026-11-21 18:00:00Z" */
export function formatWindow(window: { from: string; to: string }): string {
  return `${formatTime(window.from)} → ${formatTime(window.to)}`;
}

/** The health columns of one release: installs, failure rate, rollback rate, adoption. */
export function healthCells(health: ReleaseHealth | undefined): string[] {
  if (!health) return [NO_DATA, NO_DATA, NO_DATA, NO_DATA];
  return [
    String(health.installs),
    formatRate(health.failure_rate),
    formatRate(health.rollback_rate),
    formatFraction(health.adoption),
  ];
}

/** One release in detail: every §5 metric on its own line, then the top errors. */
export function describeReleaseHealth(health: ReleaseHealth): string {
  const { p50, p95 } = health.duration_ms;
  const lines = [
    `${health.app} ${health.version} on ${health.channel}, ${formatWindow(health.window)}`,
    '',
    ...formatTable(
      ['metric', 'value'],
      [
        ['installs', health.installs],
        ['failures', health.failures],
        ['failure rate', withInterval(health.failure_rate)],
        ['rollbacks', health.rollbacks],
        ['rollback rate', withInterval(health.rollback_rate)],
        ['adoption', `${formatFraction(health.adoption)} of clients active in the last 24 h`],
        ['install time', `p50 ${formatDuration(p50)}, p95 ${formatDuration(p95)}`],
      ],
    )
      .split('\n')
      .slice(1),
    '',
  ];
  if (health.top_errors.length === 0) {
    lines.push('No install or download errors reported.');
  } else {
    lines.push(
      'Top errors',
      formatTable(
        ['code', 'count'],
        health.top_errors.map((e) => [e.code, e.count]),
      ),
    );
  }
  return lines.join('\n');
}

/** Every release of a channel, one row each. */
export function describeChannelHealth(view: {
  app: string;
  channel: string;
  window: { from: string; to: string };
  releases: readonly ReleaseHealth[];
}): string {
  const header = `${view.app} on ${view.channel}, ${formatWindow(view.window)}`;
  if (view.releases.length === 0) return `${header}\n\nNo releases or telemetry in this window.`;
  const table = formatTable(
    [
      'version',
      'installs',
      'failures',
      'failure rate (95% CI)',
      'rollbacks',
      'rollback rate (95% CI)',
      'adoption',
      'p50',
      'p95',
      'top error',
    ],
    view.releases.map((h) => {
      const top = h.top_errors[0];
      return [
        h.version,
        h.installs,
        h.failures,
        formatRate(h.failure_rate),
        h.rollbacks,
        formatRate(h.rollback_rate),
        formatFraction(h.adoption),
        formatDuration(h.duration_ms.p50),
        formatDuration(h.duration_ms.p95),
        top ? `${top.code} ×${top.count}` : NO_DATA,
      ];
    }),
  );
  return `${header}\n\n${table}`;
}

function withInterval(rate: Rate): string {
  if (isUnknownRate(rate)) return `${NO_DATA} (no installs yet)`;
  return `${formatFraction(rate.value)}  (95 % interval ${formatFraction(rate.low)}–${formatFraction(rate.high)})`;
}
