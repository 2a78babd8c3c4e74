/** Human rendering of the API's ChannelView, shared by status and every rollout command. */
import type { ChannelView } from './api-types.ts';
import { formatPercent, formatTable, formatTime } from './table.ts';

export function describeChannel(view: ChannelView, defaultChannel?: string): string {
  const tags = [view.public ? 'public' : 'private', `revision ${view.revision}`];
  if (view.name === defaultChannel) tags.unshift('default');
  const lines = [
    `Channel ${view.name} (${tags.join(', ')}; snapshot signed ${formatTime(view.issued_at)}, expires ${formatTime(view.expires)})`,
  ];
  if (view.rollouts.length === 0) {
    lines.push('  no rollouts');
  } else {
    const table = formatTable(
      ['version', 'percent', 'state', 'updated'],
      view.rollouts.map((r) => [r.version, formatPercent(r.percent_bp), r.state, formatTime(r.updated_at)]),
    );
    lines.push(...table.split('\n').map((l) => `  ${l}`));
  }
  for (const y of view.yanked) {
    lines.push(`  yanked ${y.version} → ${y.rollback_to ?? 'no rollback'}: ${y.reason}`);
  }
  return lines.join('\n');
}
