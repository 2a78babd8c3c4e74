/**
 * Human rendering of docs/protocol.md §5's release health: rates as percentages with their 95 % interval,
 * durations in a readable unit, laid out as tables. Shared by `stats` and `status`; the numbers
 * themselves are src/protocol/format.ts's, as in the scheduler's reasons and the dashboard.
 */

import type { Rate, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import {
  formatCrashFree,
  formatCrashFreeInterval,
  formatCrashFreeRate,
  formatDuration,
  formatFraction,
  formatInterval,
  formatRate,
  isUnknownRate,
  NO_DATA,
} from '../../src/protocol/format.ts';
import { formatTable, formatTime } from './table.ts';

/** "2026-11-14 18:00:00Z → 2026-11-21 18:00:00Z" */
export function formatWindow(window: { from: string; to: string }): string {
  return `${formatTime(window.from)} → ${formatTime(window.to)}`;
}

/** The headers of healthCells' columns. */
export const HEALTH_HEADERS = [
  'installs',
  'failure rate (95% CI)',
  'rollback rate (95% CI)',
  'crash-free users (95% CI)',
  'adoption',
] as const;

/** The health columns of one release: installs, failure rate, rollback rate, crash-free users, adoption. */
export function healthCells(health: ReleaseHealth | undefined): string[] {
  if (!health) return HEALTH_HEADERS.map(() => NO_DATA);
  return [
    String(health.installs),
    formatRate(health.failure_rate),
    formatRate(health.rollback_rate),
    formatCrashFreeRate(health.crash_free_users, health.sessions?.clients),
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
        ...sessionRows(health),
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
      'crash-free users (95% CI)',
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
        formatCrashFreeRate(h.crash_free_users, h.sessions?.clients),
        formatFraction(h.adoption),
        formatDuration(h.duration_ms.p50),
        formatDuration(h.duration_ms.p95),
        top ? `${top.code} ×${top.count}` : NO_DATA,
      ];
    }),
  );
  return `${header}\n\n${table}`;
}

/** Sessions and the crash-free rates (docs/protocol.md §5); none from a server that does not report them. */
function sessionRows(health: ReleaseHealth): [string, string][] {
  const { sessions, crash_free_sessions: freeSessions, crash_free_users: freeUsers } = health;
  if (!sessions || !freeSessions || !freeUsers) return [];
  const crashFree = (rate: Rate, total: number) =>
    total === 0
      ? `${NO_DATA} (no sessions yet)`
      : `${formatCrashFree(rate.value)}  (95 % interval ${formatCrashFreeInterval(rate)})`;
  return [
    [
      'sessions',
      `${sessions.total}: ${sessions.crashed} crashed, ${sessions.errored} errored, ${sessions.abnormal} abnormal`,
    ],
    ['crash-free sessions', crashFree(freeSessions, sessions.total)],
    ['crash-free users', crashFree(freeUsers, sessions.clients)],
  ];
}

function withInterval(rate: Rate): string {
  if (isUnknownRate(rate)) return `${NO_DATA} (no installs yet)`;
  return `${formatFraction(rate.value)}  (95 % interval ${formatInterval(rate)})`;
}
