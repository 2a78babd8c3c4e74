/** `updraft resume <app> <version> --channel <name> [--reason <text>]`: continue a paused or halted rollout. */
import type { ChannelView } from '../../src/protocol/admin-api.ts';
import { type RolloutActionOptions, rolloutAction, rolloutActionCommand } from '../lib/rollout-action.ts';

export function resume(opts: RolloutActionOptions): Promise<ChannelView> {
  return rolloutAction('resume', opts);
}

export const command = rolloutActionCommand('resume', 'continue a paused or halted rollout');
