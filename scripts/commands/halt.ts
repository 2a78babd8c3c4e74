/** `updraft halt <app> <version> --channel <name> [--reason <text>]`: stop offering a release to new clients. */
import type { ChannelView } from '../../src/protocol/admin-api.ts';
import { type RolloutActionOptions, rolloutAction, rolloutActionCommand } from '../lib/rollout-action.ts';

export function halt(opts: RolloutActionOptions): Promise<ChannelView> {
  return rolloutAction('halt', opts);
}

export const command = rolloutActionCommand('halt', 'stop offering a release to new clients');
