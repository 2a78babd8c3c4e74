/** `updraft complete <app> <version> --channel <name> [--reason <text>]`: roll a release out to everyone on the channel. */
import type { ChannelView } from '../../src/protocol/admin-api.ts';
import { type RolloutActionOptions, rolloutAction, rolloutActionCommand } from '../lib/rollout-action.ts';

export function complete(opts: RolloutActionOptions): Promise<ChannelView> {
  return rolloutAction('complete', opts);
}

export const command = rolloutActionCommand('complete', 'roll a release out to everyone on the channel');
