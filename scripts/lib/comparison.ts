/**
 * `updraft stats <app> <version> --compare` for people: the canary and its baseline side by side
 * (DESIGN §5's metrics), then canary − baseline of each rate with its 95 % Newcombe interval.
 */

import type { ReleaseComparison, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import { formatFraction, formatRate, NO_DATA } from '../../src/protocol/format.ts';
import {
  differenceVerdict,
  formatDifferenceInterval,
  formatPoints,
  VERDICT_TEXT,
} from '../../src/protocol/format-difference.ts';
import { formatWindow } from './metrics.ts';
import { formatTable } from './table.ts';

const RATES = [
  ['failure rate', 'failure_rate'],
  ['rollback rate', 'rollback_rate'],
] as const;

function column(health: ReleaseHealth | null): string[] {
  if (!health) return [NO_DATA, NO_DATA, NO_DATA, NO_DATA, NO_DATA, NO_DATA];
  return [
    String(health.installs),
    String(health.failures),
    formatRate(health.failure_rate),
    String(health.rollbacks),
    formatRate(health.rollback_rate),
    formatFraction(health.adoption),
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
    RATES.map(([label, key]) => {
      const d = differences[key];
      return [label, formatPoints(d.value), formatDifferenceInterval(d), VERDICT_TEXT[differenceVerdict(d)]];
    }),
  );
  return [header, '', sides, '', diffs].join('\n');
}
