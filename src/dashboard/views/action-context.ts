/**
 * What the overview hands the rollout actions (views/rollout-actions.ts, views/promote-dialog.ts):
 * the channel as the page shows it, and how to show the server's answer or reload.
 */
import { failureText, isStale } from '../actions.ts';
import { seg } from '../api.ts';
import type { ChannelView } from '../types.ts';

export interface ChannelActions {
  app: string;
  channel: ChannelView;
  /** Shows the server's answer: the channel re-rendered, and `message` announced. */
  changed(view: ChannelView, message: string): void;
  /** Reloads the page (after a stale revision). */
  reload(): void;
  /** Where focus goes once a dialog closes and its opener was re-rendered away. */
  focusAfter(version: string): HTMLElement | null;
}

/** `…/channels/{channel}/rollouts` of the channel. */
export function rolloutsPath(ctx: ChannelActions): string {
  return `/v1/admin/apps/${seg(ctx.app)}/channels/${seg(ctx.channel.name)}/rollouts`;
}

/** A refusal for the dialog; a stale revision offers the reload instead of another try. */
export function describeFailure(error: unknown): { text: string; reload: boolean } {
  return { text: failureText(error), reload: isStale(error) };
}
