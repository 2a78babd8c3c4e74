/**
 * What the dashboard's rollout actions say and send, without the DOM (unit-tested in
 * test/dashboard/): which actions a role and a rollout's state allow, the confirmation's sentence
 * naming app, channel, version and effect, the request body with the channel's expected revision,
 * what a 409 means, and the CLI command a yank is handed to (the release key never reaches a browser).
 */
import { formatBp } from '../protocol/format.ts';
import { describePlan } from '../protocol/plan-text.ts';
import { AnswerError } from './api.ts';
import type { Plan, RolloutView, Whoami } from './types.ts';

export type StateAction = 'pause' | 'resume' | 'halt' | 'complete';
export const STATE_ACTIONS: readonly StateAction[] = ['pause', 'resume', 'halt', 'complete'];

/** Rollout changes need a publisher (or admin) token (docs/api.md); an analyst only reads. */
export function canAct(role: Whoami['role'] | undefined): boolean {
  return role === 'publisher' || role === 'admin';
}

/** The API's transitions (docs/api.md, rollouts): from which states each action is allowed. */
const FROM: Record<StateAction, readonly RolloutView['state'][]> = {
  pause: ['active'],
  resume: ['paused', 'halted'],
  halt: ['active', 'paused'],
  complete: ['active', 'paused'],
};

/** What can be done to a rollout now; a yanked release is never offered again (resume, complete, promote). */
export function availableActions(
  rollout: Pick<RolloutView, 'state'>,
  yanked: boolean,
): { state: StateAction[]; promote: boolean; yank: boolean } {
  const state = STATE_ACTIONS.filter(
    (a) => FROM[a].includes(rollout.state) && !(yanked && (a === 'resume' || a === 'complete')),
  );
  return { state, promote: !yanked && rollout.state !== 'halted', yank: !yanked };
}

export interface Target {
  app: string;
  channel: string;
  version: string;
}

function on(t: Target): string {
  return `${t.version} on ${t.channel} of ${t.app}`;
}

const VERB: Record<StateAction, string> = {
  pause: 'Pause',
  resume: 'Resume',
  halt: 'Halt',
  complete: 'Complete',
};

export function actionLabel(action: StateAction): string {
  return VERB[action];
}

function planned(rollout: RolloutView): rollout is RolloutView & { plan: Plan } {
  return rollout.plan !== undefined && rollout.plan !== null;
}

/** "Halt 1.1.0 on stable of demo: nobody new gets it; clients already on it keep it." */
export function stateActionText(action: StateAction, t: Target, rollout: RolloutView): string {
  const share = formatBp(rollout.percent_bp);
  const plan = planned(rollout);
  const step = (rollout.step ?? 0) + 1;
  switch (action) {
    case 'halt':
      return `Halt ${on(t)}: nobody new gets it; clients already on it keep it.${plan ? ' Its staged plan stops for good (resume restarts the current step).' : ''}`;
    case 'pause':
      return `Pause ${on(t)}: it stays offered to ${share} of the channel${plan ? ' and its staged plan stops advancing until resumed' : ', and no plan moves it'}.`;
    case 'resume':
      return rollout.state === 'halted'
        ? `Resume ${on(t)}: it is offered again to ${share} of the channel${plan ? `, and its staged plan restarts step ${step} with a fresh bake time` : ''}.`
        : `Resume ${on(t)}: it stays at ${share}${plan ? `, and its staged plan continues step ${step} with the bake time restarted` : ''}.`;
    case 'complete':
      return `Complete ${on(t)}: every client of the channel gets it (100%)${plan ? '; its staged plan ends' : ''}${rollout.standby_yank ? '; the armed automatic rollback is discarded' : ''}.`;
  }
}

/** How a promote changes what clients get: "Promote 1.1.0 on stable of demo to 50% (from 25%): …". */
export function promoteText(t: Target, percentBp: number, rollout: RolloutView | undefined): string {
  const to = formatBp(percentBp);
  if (!rollout) {
    return `Promote ${on(t)} to ${to}: ${percentBp === 0 ? 'nobody gets it yet' : `${to} of the channel's clients get it`}; it becomes an active rollout.`;
  }
  const from = formatBp(rollout.percent_bp);
  const change =
    percentBp > rollout.percent_bp
      ? `more clients get it (${to} of the channel)`
      : percentBp < rollout.percent_bp
        ? 'nobody new outside the smaller share gets it; clients already on it keep it'
        : 'the share stays as it is';
  const notes = [
    planned(rollout) ? 'its staged plan is dropped (you take manual control)' : null,
    rollout.state === 'paused' ? 'it stays paused' : null,
    rollout.state === 'complete' && percentBp < 10_000 ? 'it becomes active again' : null,
  ].filter((n) => n !== null);
  return `Promote ${on(t)} to ${to} (from ${from}): ${change}${notes.map((n) => `; ${n}`).join('')}.`;
}

/** "Attach a staged plan to 1.1.0 on stable of demo: it restarts at 1% …" (the app's default plan when `plan` is "default"). */
export function planText(t: Target, plan: Plan | 'default', rollout: RolloutView | undefined): string {
  const verb = rollout && planned(rollout) ? 'Change the staged plan of' : 'Attach a staged plan to';
  const rollback = rollout?.standby_yank
    ? ' The armed automatic rollback is discarded: this plan only halts.'
    : '';
  if (plan === 'default') {
    return `${verb} ${on(t)}: the app's default plan; the rollout restarts at its first step with a fresh bake time.${rollback}`;
  }
  return `${verb} ${on(t)}: it restarts at ${formatBp(plan.steps_bp[0] ?? 0)} and follows ${describePlan(plan)}.${rollback}`;
}

/** The body of a rollout action: the channel's revision as the page saw it, and the reason for the audit log. */
export function actionBody(
  expectedRevision: number,
  reason: string,
): { expected_revision: number; reason?: string } {
  const trimmed = reason.trim();
  return trimmed === ''
    ? { expected_revision: expectedRevision }
    : { expected_revision: expectedRevision, reason: trimmed };
}

export const STALE_TEXT =
  'The channel changed since this page loaded: reload to see it. Nothing was changed, so nothing was overwritten.';

/** True for the API's "someone changed this channel first": 409 `stale_revision`, or `conflict` for a raced write. */
export function isStale(error: unknown): boolean {
  return (
    error instanceof AnswerError &&
    error.status === 409 &&
    (error.is('stale_revision') || error.is('conflict'))
  );
}

/** One line for a failed action, fit for the dialog. */
export function failureText(error: unknown): string {
  if (isStale(error)) return STALE_TEXT;
  if (error instanceof AnswerError) {
    if (error.status === 401)
      return 'Your token was not accepted (unknown, revoked or expired). Sign in again.';
    if (error.status === 403) return `This token may not do that: ${error.message}`;
    return `The server refused: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A shell word in double quotes: `"` `\` `$` and backquote escaped, so the command pastes as shown. */
export function shellQuote(text: string): string {
  return `"${text.replace(/["\\$`]/g, (c) => `\\${c}`)}"`;
}

/**
 * The command that yanks (docs/cli.md, `updraft yank`): signed with the release key on the release
 * engineer's machine. `rollbackTo` null sends `--rollback-to none`.
 */
export function yankCommand(app: string, version: string, rollbackTo: string | null, reason: string): string {
  const why = reason.trim() === '' ? '…' : reason.trim();
  return `npx updraft yank ${app} ${version} --rollback-to ${rollbackTo ?? 'none'} --reason ${shellQuote(why)}`;
}

/**
 * The rollback target the CLI would choose by default (scripts/commands/yank.ts): the highest lower
 * release that is not yanked, passing over prereleases when a stable release is yanked. `releases`
 * come newest first (GET …/releases orders them by version), so "lower" is "listed after".
 */
export function suggestedRollback(
  releases: readonly { version: string; yanked: boolean }[],
  version: string,
): string | null {
  const index = releases.findIndex((r) => r.version === version);
  if (index < 0) return null;
  const stable = !isPrerelease(version);
  return (
    releases.slice(index + 1).find((r) => !r.yanked && (!stable || !isPrerelease(r.version)))?.version ?? null
  );
}

function isPrerelease(version: string): boolean {
  return (version.split('+', 1)[0] ?? '').includes('-');
}
