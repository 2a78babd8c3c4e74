/** `updraft pause <app> <version> --channel <name> [--reason <text>]`: freeze a rollout at its percentage. */
import type { ChannelView } from '../../src/protocol/admin-api.ts';
import { type RolloutActionOptions, rolloutAction, rolloutActionCommand } from '../lib/rollout-action.ts';

export function pause(opts: RolloutActionOptions): Promise<ChannelView> {
  return rolloutAction('pause', opts);
}

export const command = rolloutActionCommand('pause', 'freeze a rollout at its percentage');
