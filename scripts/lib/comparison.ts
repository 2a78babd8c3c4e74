/**
 * `updraft stats <app> <version> --compare` for people: the canary and its baseline side by side
 * (docs/protocol.md §5's metrics), then canary − baseline of each rate with its 95 % Newcombe interval.
 */

import type { Rate, ReleaseComparison, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import {
  formatCrashFree,
  formatCrashFreeInterval,
  formatFraction,
  formatRate,
  NO_DATA,
} from '../../src/protocol/format.ts';
import {
  differenceVerdict,
  formatDifferenceInterval,
  formatPoints,
  VERDICT_TEXT,
} from '../../src/protocol/format-difference.ts';
import { formatWindow } from './metrics.ts';
import { formatTable } from './table.ts';

// Higher is worse for all four: the crash rows are of the crash rates (1 − crash-free).
const RATES = [
  ['failure rate', 'failure_rate'],
  ['rollback rate', 'rollback_rate'],
  ['crashed sessions', 'crashed_sessions'],
  ['crashed users', 'crashed_users'],
] as const;

/** A crash-free rate as the side-by-side table shows it: "99.20% (98.10–99.66%)". */
function crashFree(rate: Rate | undefined, total: number | undefined): string {
  if (!rate || !total) return NO_DATA;
  return `${formatCrashFree(rate.value)} (${formatCrashFreeInterval(rate)})`;
}

function column(health: ReleaseHealth | null): string[] {
  if (!health) return Array.from({ length: 9 }, () => NO_DATA);
  const { sessions } = health;
  return [
    String(health.installs),
    String(health.failures),
    formatRate(health.failure_rate),
    String(health.rollbacks),
    formatRate(health.rollback_rate),
    formatFraction(health.adoption),
    sessions ? String(sessions.total) : NO_DATA,
    crashFree(health.crash_free_sessions, sessions?.total),
    crashFree(health.crash_free_users, sessions?.clients),
  ];
}

export function describeComparison(view: ReleaseComparison): string {
  const { canary, baseline, baseline_version: baselineVersion, differences } = view;
  const header = `${view.app} ${canary.version} on ${view.channel} against its baseline ${
    baselineVersion ?? '(none)'
  }, ${formatWindow(view.window)}`;
  const [a, b] = [column(canary), column(baseline)];
  const metrics = [
    'installs',
    'failures',
    'failure rate (95% CI)',
    'rollbacks',
    'rollback rate (95% CI)',
    'adoption',
    'sessions',
    'crash-free sessions (95% CI)',
    'crash-free users (95% CI)',
  ];
  const sides = formatTable(
    ['metric', `canary ${canary.version}`, baselineVersion ? `baseline ${baselineVersion}` : 'baseline'],
    metrics.map((metric, i) => [metric, a[i], b[i]]),
  );
  if (!differences) {
    return [
      header,
      '',
      sides,
      '',
      `No baseline: no complete, not yanked release of ${view.channel} is below ${canary.version}, so there is nothing to compare with.`,
    ].join('\n');
  }
  const diffs = formatTable(
    ['canary − baseline', 'difference', '95% interval', 'reading'],
    RATES.flatMap(([label, key]) => {
      // A server before the crash comparison gives only the install rates.
      const d = differences[key];
      if (!d) return [];
      return [
        [label, formatPoints(d.value), formatDifferenceInterval(d), VERDICT_TEXT[differenceVerdict(d)]],
      ];
    }),
  );
  return [header, '', sides, '', diffs].join('\n');
}
