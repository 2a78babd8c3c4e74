/**
 * `updraft watch <app> <version> [--channel c] [--interval 5s]`: follows a rollout live until it
 * completes (exit 0), halts or is yanked (exit 3); Ctrl-C stops watching (exit 130) and changes
 * nothing. Each poll reads the status and the release's health over the current step.
 */

import type { ReleaseHealth, StatusView } from '../../src/protocol/admin-api.ts';
import { PlanInputError, parseDuration } from '../../src/protocol/plan.ts';
import { type ApiClient, NetworkError, ServerError, seg } from '../lib/api.ts';
import { arg, type Command, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName, parseVersion, rfc3339 } from '../lib/parse.ts';
import {
  renderFrame,
  renderLine,
  terminalFrames,
  type WatchOutcome,
  type WatchPoll,
} from '../lib/watch-view.ts';

export interface WatchOptions {
  client: ApiClient;
  app: string;
  version: string;
  /** Default: the channel with a rollout of the version (the default channel if several). */
  channel?: string;
  /** Between polls (default 5000). */
  intervalMs?: number;
  /** Called with every poll, and again with the last good one (plus `error`) when a poll fails. */
  onPoll(poll: WatchPoll): void;
  /** Stops the watch (Ctrl-C): the promise resolves to `interrupted`. */
  signal?: AbortSignal;
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Consecutive failed polls (server unreachable or 5xx) before giving up: a minute at 5 s. */
const MAX_FAILED_POLLS = 12;

export const EXIT_CODES: Record<WatchOutcome, number> = {
  complete: 0,
  halted: 3,
  yanked: 3,
  interrupted: 130,
};

/** Polls until the rollout completes, halts or is yanked, or `signal` aborts. */
export async function watch(opts: WatchOptions): Promise<WatchOutcome> {
  const app = parseName(opts.app, 'app name');
  const version = parseVersion(opts.version);
  const now = opts.now ?? (() => new Date());
  const sleep = opts.sleep ?? abortableSleep;
  const { signal } = opts;
  let channel = opts.channel === undefined ? undefined : parseName(opts.channel, '--channel');
  let last: WatchPoll | undefined;
  let failed = 0;
  while (!signal?.aborted) {
    try {
      const status = await opts.client.get<StatusView>(`/v1/admin/apps/${seg(app)}/status`, { signal });
      channel ??= pickChannel(status, version);
      last = await pollOnce(opts.client, status, channel, version, now(), signal);
      failed = 0;
      opts.onPoll(last);
      if (last.outcome) return last.outcome;
    } catch (error) {
      if (signal?.aborted) break;
      if (!last || !isTransient(error) || ++failed >= MAX_FAILED_POLLS) throw error;
      opts.onPoll({
        ...last,
        at: rfc3339(now()),
        error: error instanceof Error ? error.message : String(error),
      });
    }
    await sleep(opts.intervalMs ?? 5000, signal);
  }
  return 'interrupted';
}

/** A server that is down or failing for a moment; anything else (401, 404, a bad name) ends the watch. */
function isTransient(error: unknown): boolean {
  return error instanceof NetworkError || (error instanceof ServerError && error.status >= 500);
}

/** The channel whose rollouts include `version`: the only one, else the default channel among them. */
function pickChannel(status: StatusView, version: string): string {
  const names = status.channels
    .filter((c) => c.rollouts.some((r) => r.version === version))
    .map((c) => c.name);
  if (names.length === 1 && names[0] !== undefined) return names[0];
  if (names.includes(status.default_channel)) return status.default_channel;
  if (names.length === 0) throw new UserError(`${status.app} ${version} has no rollout on any channel`);
  throw new UserError(`${status.app} ${version} rolls out on ${names.join(', ')}: pass --channel`);
}

async function pollOnce(
  client: ApiClient,
  status: StatusView,
  channel: string,
  version: string,
  at: Date,
  signal: AbortSignal | undefined,
): Promise<WatchPoll> {
  const view = status.channels.find((c) => c.name === channel);
  if (!view) throw new UserError(`${status.app} has no channel ${channel}`);
  const rollout = view.rollouts.find((r) => r.version === version);
  if (!rollout) throw new UserError(`${status.app} ${version} has no rollout on ${channel}`);
  // The scheduler's window: the current step so far. A step that starts after our clock (a skewed
  // clock, or a test driving the scheduler ahead) falls back to the server's default window.
  const from =
    rollout.plan && rollout.step_started_at && Date.parse(rollout.step_started_at) < at.getTime()
      ? rollout.step_started_at
      : undefined;
  let health: ReleaseHealth | null = null;
  try {
    health = await client.get<ReleaseHealth>(`/v1/admin/apps/${seg(status.app)}/health`, {
      query: { version, channel, from },
      signal,
    });
  } catch (error) {
    if (!(error instanceof ServerError && error.status === 404)) throw error;
  }
  const yanked = view.yanked.some((y) => y.version === version);
  const outcome = yanked
    ? 'yanked'
    : rollout.state === 'complete' || rollout.state === 'halted'
      ? rollout.state
      : null;
  return { at: rfc3339(at), app: status.app, channel, version, rollout, health, yanked, outcome };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `--interval 5s` → 5000 ms; from 1 s to 10 minutes. */
export function parseInterval(text: string | undefined): number {
  if (text === undefined) return 5000;
  let seconds: number;
  try {
    seconds = parseDuration(text);
  } catch (error) {
    if (error instanceof PlanInputError) throw new UserError(`--interval: ${error.message}`);
    throw error;
  }
  if (seconds < 1 || seconds > 600) throw new UserError(`--interval must be from 1s to 10m, got "${text}"`);
  return seconds * 1000;
}

export const command: Command = {
  name: 'watch',
  summary: 'follow a rollout live until it completes or halts',
  args: ['<app>', '<version>'],
  usage: '<app> <version> [--channel <name>] [--interval 5s]',
  options: { channel: { type: 'string' }, interval: { type: 'string' } },
  help: [
    '--channel <name>   the channel (default: the one rolling the version out, else the default channel)',
    '--interval <time>  between polls: 2s, 30s, 1m (default 5s)',
    'Exits 0 when the rollout completes, 3 when it halts or the release is yanked, 130 on Ctrl-C.',
    'On a terminal the view is redrawn in place; elsewhere a line is printed whenever something',
    'changes. --json prints one JSON object per poll, one per line.',
  ],
  async run(inv) {
    const intervalMs = parseInterval(str(inv.values, 'interval'));
    const terminal = inv.terminal();
    const draw = terminalFrames(inv.write, () => inv.terminal().columns);
    let previous = '';
    const onPoll = (poll: WatchPoll) => {
      if (inv.config.json) return inv.write(`${JSON.stringify(poll)}\n`);
      if (terminal.tty) return draw(renderFrame(poll, new Date()));
      const line = renderLine(poll);
      if (line !== previous) inv.print(`${poll.at}  ${line}`);
      previous = line;
    };
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    try {
      const outcome = await watch({
        client: inv.client(),
        app: arg(inv.positionals, 0),
        version: arg(inv.positionals, 1),
        channel: str(inv.values, 'channel'),
        intervalMs,
        onPoll,
        signal: controller.signal,
      });
      if (outcome === 'interrupted') inv.reporter.info('Stopped watching; the rollout goes on.');
      inv.setExitCode(EXIT_CODES[outcome]);
    } finally {
      process.off('SIGINT', stop);
    }
  },
};
