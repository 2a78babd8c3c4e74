/** Human rendering of the API's ChannelView, shared by status and every rollout command. */

import type { ChannelView, ReleaseHealth } from '../../src/protocol/admin-api.ts';
import { formatBp } from '../../src/protocol/format.ts';
import { HEALTH_HEADERS, healthCells } from './metrics.ts';
import { isPlanned, planLines } from './rollout-plan.ts';
import { formatTable, formatTime } from './table.ts';

/**
 * Health per version for `status`: a map from version to its health (a version missing from it
 * shows "–"), or `unavailable` when the server has no analytics routes. Leave it out for the plain
 * rollout table that the rollout commands print.
 */
export type HealthColumns = ReadonlyMap<string, ReleaseHealth> | 'unavailable';

/**
 * A channel's header, its rollout table (with health columns when given), then for each planned
 * rollout its step, next action at `now` and last judgement, and the channel's yanks.
 */
export function describeChannel(
  view: ChannelView,
  defaultChannel?: string,
  health?: HealthColumns,
  now: Date = new Date(),
): string {
  const tags = [view.public ? 'public' : 'private', `revision ${view.revision}`];
  if (view.name === defaultChannel) tags.unshift('default');
  const lines = [
    `Channel ${view.name} (${tags.join(', ')}; snapshot signed ${formatTime(view.issued_at)}, expires ${formatTime(view.expires)})`,
  ];
  if (view.rollouts.length === 0) {
    lines.push('  no rollouts');
  } else {
    // A yank leaves the rollout row as it was (its percentage, its state) but offers it to nobody:
    // the state a reader needs is the yank, or a yanked release reads as still rolling out.
    const yanked = new Set(view.yanked.map((y) => y.version));
    const headers = ['version', 'percent', 'state'];
    if (health) headers.push(...HEALTH_HEADERS);
    headers.push('updated');
    const table = formatTable(
      headers,
      view.rollouts.map((r) => {
        const row = [r.version, formatBp(r.percent_bp), yanked.has(r.version) ? 'yanked' : r.state];
        if (health) row.push(...healthCells(health === 'unavailable' ? undefined : health.get(r.version)));
        row.push(formatTime(r.updated_at));
        return row;
      }),
    );
    lines.push(...table.split('\n').map((l) => `  ${l}`));
    // The scheduler leaves a yanked release's plan alone, so there is no next step to describe.
    const planned = view.rollouts.filter(isPlanned).filter((r) => !yanked.has(r.version));
    if (planned.length > 0) lines.push('  Staged plans:');
    for (const rollout of planned) lines.push(...planLines(rollout, now).map((l) => `    ${l}`));
  }
  for (const y of view.yanked) {
    lines.push(`  yanked ${y.version} → ${y.rollback_to ?? 'no rollback'}: ${y.reason}`);
  }
  return lines.join('\n');
}
