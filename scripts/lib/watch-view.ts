/**
 * What `updraft watch` shows per poll: a frame of a few lines redrawn in place on a terminal, or one
 * compact line for logs. Pure functions of a poll and the clock, so tests render fixtures.
 */

import type { ReleaseHealth, RolloutView } from '../../src/protocol/admin-api.ts';
import { formatBp, formatFraction, formatRate, NO_DATA } from '../../src/protocol/format.ts';
import { figuresText, isPlanned, judgementText, nextAction, stepLabel } from './rollout-plan.ts';
import { formatTime } from './table.ts';

/** How a watch ends: the rollout completed, halted or its release was yanked, or Ctrl-C. */
export type WatchOutcome = 'complete' | 'halted' | 'yanked' | 'interrupted';

/** One poll of a rollout: what `--json` prints as one line. */
export interface WatchPoll {
  /** When the poll was made (RFC 3339). */
  at: string;
  app: string;
  channel: string;
  version: string;
  rollout: RolloutView;
  /**
   * The release's health in the channel since the current step began (the scheduler's window), or
   * over the server's default window (7 days) for a manual rollout; null when the server has no
   * analytics routes.
   */
  health: ReleaseHealth | null;
  /** Whether the release is yanked (a yank ends the watch). */
  yanked: boolean;
  /** Set on the poll that ends the watch. */
  outcome: Exclude<WatchOutcome, 'interrupted'> | null;
  /** A transient error of this poll; the rest of the poll is the last good one. */
  error?: string;
}

const BAR_WIDTH = 30;

/** "[█████░░░░░]" for a share in basis points. */
export function progressBar(bp: number, width = BAR_WIDTH): string {
  const filled = Math.round((Math.min(Math.max(bp, 0), 10_000) / 10_000) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

/** "1% → [5%] → 25% → 100%": the plan with its current step marked. */
function stepsWithCurrent(rollout: RolloutView): string {
  if (!isPlanned(rollout)) return 'manual rollout (no plan)';
  const index = rollout.step ?? 0;
  return rollout.plan.steps_bp.map((bp, i) => (i === index ? `[${formatBp(bp)}]` : formatBp(bp))).join(' → ');
}

function healthText(poll: WatchPoll): string {
  const { health, rollout } = poll;
  if (!health) return `${NO_DATA} (this server has no analytics routes)`;
  const limits = isPlanned(rollout) ? rollout.plan.gates : undefined;
  const limit = (value: number | undefined) =>
    value === undefined ? '' : `, limit ${formatFraction(value)}`;
  return [
    `${health.installs} installs`,
    `failure rate ${formatRate(health.failure_rate)}${limit(limits?.max_failure_rate)}`,
    `rollback rate ${formatRate(health.rollback_rate)}${limit(limits?.max_rollback_rate)}`,
  ].join(' · ');
}

function headline(poll: WatchPoll): string {
  const { rollout } = poll;
  const step = isPlanned(rollout) ? ` · ${stepLabel(rollout)}` : '';
  return `${poll.app} ${poll.version} on ${poll.channel} · ${poll.yanked ? 'yanked' : rollout.state}${step} · ${formatTime(poll.at)}`;
}

function outcomeLine(poll: WatchPoll): string | undefined {
  switch (poll.outcome) {
    case 'complete':
      return `Rollout complete: ${poll.version} reaches all of ${poll.channel}.`;
    case 'halted':
      return `Rollout halted${haltReason(poll.rollout)}: nobody new gets ${poll.version}.`;
    case 'yanked':
      return `${poll.version} was yanked: clients on it roll back.`;
    default:
      return undefined;
  }
}

/** " by the scheduler" when its last judgement halted it (the reason is on the judgement line). */
function haltReason(rollout: RolloutView): string {
  return rollout.judgement?.action === 'halt' ? ' by the scheduler' : '';
}

/** The lines of a terminal frame at `now`. */
export function renderFrame(poll: WatchPoll, now: Date): string[] {
  const { rollout } = poll;
  const window =
    isPlanned(rollout) && rollout.step_started_at
      ? `this step (since ${formatTime(rollout.step_started_at)})`
      : 'the last 7 days';
  const lines = [
    headline(poll),
    `${progressBar(rollout.percent_bp)} ${formatBp(rollout.percent_bp).padStart(6)}   ${stepsWithCurrent(rollout)}`,
    `health, ${window}: ${healthText(poll)}`,
  ];
  if (isPlanned(rollout)) {
    const { judgement } = rollout;
    lines.push(judgement ? `last judgement: ${judgementText(judgement)}` : 'last judgement: none yet');
    if (judgement) lines.push(`  it saw ${figuresText(judgement)}`);
    if (!poll.outcome) lines.push(`next: ${nextAction(rollout, now)}`);
  } else if (!poll.outcome) {
    lines.push('next: nothing automatic; a manual rollout changes with promote, pause, halt and complete');
  }
  const end = outcomeLine(poll);
  if (end) lines.push(end);
  if (poll.error) lines.push(`(${poll.error}; retrying)`);
  return lines;
}

/** One line for logs: the state, step, health and last judgement, without the time of the poll. */
export function renderLine(poll: WatchPoll): string {
  const { rollout, health } = poll;
  const parts = [`${poll.app} ${poll.version} on ${poll.channel}`, poll.yanked ? 'yanked' : rollout.state];
  parts.push(isPlanned(rollout) ? stepLabel(rollout) : formatBp(rollout.percent_bp));
  if (health) {
    parts.push(
      `${health.installs} installs`,
      `failure ${formatRate(health.failure_rate)}`,
      `rollback ${formatRate(health.rollback_rate)}`,
    );
  }
  if (rollout.judgement)
    parts.push(`last judgement ${rollout.judgement.action}: ${rollout.judgement.reason}`);
  const end = outcomeLine(poll);
  if (end) parts.push(end);
  if (poll.error) parts.push(`${poll.error}; retrying`);
  return parts.join(' · ');
}

/**
 * A frame writer for a terminal: each frame replaces the previous one (cursor up, clear to the end
 * of the screen), lines cut to the width so none wraps and the count stays right.
 */
export function terminalFrames(
  write: (text: string) => void,
  columns: () => number,
): (lines: string[]) => void {
  let drawn = 0;
  return (lines) => {
    const width = Math.max(20, columns() - 1);
    const fitted = lines.map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
    write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${fitted.join('\n')}\n`);
    drawn = fitted.length;
  };
}
