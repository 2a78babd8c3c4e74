import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, parseInterval, watch } from '../../scripts/commands/watch.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import {
  progressBar,
  renderFrame,
  renderLine,
  terminalFrames,
  type WatchPoll,
} from '../../scripts/lib/watch-view.ts';
import type { RolloutView, StatusView } from '../../src/protocol/admin-api.ts';
import { BIN, closedPort, fakeServer, type Handler, runBin } from './helpers.ts';
import {
  channel,
  manualRollout,
  PLAN,
  plannedRollout,
  releaseHealth,
  statusView,
} from './rollout-fixtures.ts';

const NOW = new Date('2026-11-21T19:48:05Z');

function poll(over: Partial<WatchPoll> = {}): WatchPoll {
  return {
    at: '2026-11-21T19:48:05Z',
    app: 'demo',
    channel: 'stable',
    version: '1.3.0',
    rollout: plannedRollout(),
    health: releaseHealth(60, 1, 0),
    yanked: false,
    outcome: null,
    ...over,
  };
}

describe('rendering a poll', () => {
  it('draws the step, a bar, the health since the step began, the last judgement and what comes next', () => {
    expect(renderFrame(poll(), NOW)).toEqual([
      'demo 1.3.0 on stable · active · step 2/5 (5%) · 2026-11-21 19:48:05Z',
      `[${'█'.repeat(2)}${'░'.repeat(28)}]     5%   1% → [5%] → 25% → 50% → 100%`,
      'health, this step (since 2026-11-21 19:00:00Z): 60 installs · failure rate 1.6% (0.29–8.7%), limit 2% · rollback rate 0% (0–6%), limit 1%',
      'last judgement: wait at 2026-11-21 19:48:00Z: baking: 1h12m left',
      '  it saw 57 installs · failure rate 1.7% (0.3–9.1%) · rollback rate 0% (0–6.3%)',
      'next: bakes 1h12m more, then advances to 25% if it has 200 installs and no gate is clearly breached',
    ]);
  });

  it('says what the scheduler waits for once the bake is over', () => {
    const frame = renderFrame(poll(), new Date('2026-11-21T21:00:30Z'));
    expect(frame.at(-1)).toBe('next: baked; waits for 200 installs (has 57), then advances to 25%');
    const enough = plannedRollout({ step: 3, percent_bp: 5000 });
    const judged = enough.judgement;
    if (!judged) throw new Error('fixture');
    const rollout = { ...enough, judgement: { ...judged, figures: { ...judged.figures, installs: 250 } } };
    expect(renderFrame(poll({ rollout }), new Date('2026-11-21T22:00:00Z')).at(-1)).toBe(
      'next: completes the rollout (100%) at the next judgement (every minute) unless a gate is clearly breached',
    );
  });

  it('ends with the outcome, and the halt reason when the scheduler halted it', () => {
    const base = plannedRollout();
    if (!base.judgement) throw new Error('fixture');
    const halted = plannedRollout({
      state: 'halted',
      judgement: { ...base.judgement, action: 'halt', reason: 'failure rate above 2 %' },
    });
    const frame = renderFrame(poll({ rollout: halted, outcome: 'halted' }), NOW);
    expect(frame.at(-1)).toBe('Rollout halted by the scheduler: nobody new gets 1.3.0.');
    expect(frame).toContain('last judgement: halt at 2026-11-21 19:48:00Z: failure rate above 2 %');
    expect(frame.some((l) => l.startsWith('next:'))).toBe(false);
    const done = renderFrame(
      poll({
        rollout: plannedRollout({ state: 'complete', step: 4, percent_bp: 10_000 }),
        outcome: 'complete',
      }),
      NOW,
    );
    expect(done[0]).toBe('demo 1.3.0 on stable · complete · step 5/5 (100%) · 2026-11-21 19:48:05Z');
    expect(done.at(-1)).toBe('Rollout complete: 1.3.0 reaches all of stable.');
  });

  it('shows a manual rollout without plan lines, and a missing analytics API as –', () => {
    const frame = renderFrame(poll({ rollout: manualRollout({ percent_bp: 2500 }), health: null }), NOW);
    expect(frame).toEqual([
      'demo 1.3.0 on stable · active · 2026-11-21 19:48:05Z',
      `[${'█'.repeat(8)}${'░'.repeat(22)}]    25%   manual rollout (no plan)`,
      'health, the last 7 days: – (this server has no analytics routes)',
      'next: nothing automatic; a manual rollout changes with promote, pause, halt and complete',
    ]);
  });

  it('prints one compact line for logs, without the poll time', () => {
    expect(renderLine(poll())).toBe(
      'demo 1.3.0 on stable · active · step 2/5 (5%) · 60 installs · failure 1.6% (0.29–8.7%) · rollback 0% (0–6%) · last judgement wait: baking: 1h12m left',
    );
    expect(renderLine(poll({ at: '2026-11-21T19:49:00Z' }))).toBe(renderLine(poll()));
  });

  it('draws bars for 0, a part and everything', () => {
    expect(progressBar(0, 10)).toBe('[░░░░░░░░░░]');
    expect(progressBar(5000, 10)).toBe('[█████░░░░░]');
    expect(progressBar(10_000, 10)).toBe('[██████████]');
  });

  it('redraws a terminal frame in place and cuts lines to the width', () => {
    let out = '';
    const draw = terminalFrames(
      (text) => {
        out += text;
      },
      () => 24,
    );
    draw(['first', 'a line much longer than the terminal is wide']);
    expect(out).toBe('first\na line much longer tha…\n');
    out = '';
    draw(['second']);
    expect(out).toBe('\x1b[2F\x1b[Jsecond\n');
  });
});

/** A fake admin API whose status answers follow `script`, one per poll (the last one repeats). */
function scripted(script: (StatusView | { status: number; body?: unknown })[]): Handler {
  let polls = 0;
  return (req) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.endsWith('/health')) return { status: 200, body: releaseHealth(60, 1, 0) };
    const answer = script[Math.min(polls++, script.length - 1)];
    if (answer && 'channels' in answer) return { status: 200, body: answer };
    return { status: answer?.status ?? 500, body: answer?.body };
  };
}

/** The status of an app whose one channel holds `rollout`. */
function step(rollout: RolloutView): StatusView {
  return statusView([channel([rollout])]);
}

describe('watch', () => {
  it('polls until the rollout completes, sleeping the interval between polls', async () => {
    const server = await fakeServer(
      scripted([
        step(plannedRollout()),
        step(plannedRollout({ step: 2, percent_bp: 2500, step_started_at: '2026-11-21T21:00:00Z' })),
        step(plannedRollout({ state: 'complete', step: 4, percent_bp: 10_000 })),
      ]),
    );
    try {
      const polls: WatchPoll[] = [];
      const sleeps: number[] = [];
      const outcome = await watch({
        client: new ApiClient({ server: server.url, token: 't' }),
        app: 'demo',
        version: '1.3.0',
        intervalMs: 2000,
        onPoll: (p) => polls.push(p),
        now: () => NOW,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      });
      expect(outcome).toBe('complete');
      expect(EXIT_CODES[outcome]).toBe(0);
      expect(polls.map((p) => [p.rollout.percent_bp, p.outcome])).toEqual([
        [500, null],
        [2500, null],
        [10_000, 'complete'],
      ]);
      expect(sleeps).toEqual([2000, 2000]);
      // Health over the current step; a step that starts after our clock uses the default window.
      const health = server.requests.filter((r) => r.url.includes('/health')).map((r) => r.url);
      expect(health[0]).toBe(
        '/v1/admin/apps/demo/health?version=1.3.0&channel=stable&from=2026-11-21T19%3A00%3A00Z',
      );
      expect(health[1]).toBe('/v1/admin/apps/demo/health?version=1.3.0&channel=stable');
    } finally {
      await server.close();
    }
  });

  it('ends with halted (exit 3), and with yanked when the release is yanked', async () => {
    const halted = await fakeServer(scripted([step(plannedRollout({ state: 'halted' }))]));
    const yanked = await fakeServer(
      scripted([
        statusView([
          channel([plannedRollout()], {
            yanked: [{ version: '1.3.0', rollback_to: '1.1.0', reason: 'crash' }],
          }),
        ]),
      ]),
    );
    try {
      for (const [server, want] of [
        [halted, 'halted'],
        [yanked, 'yanked'],
      ] as const) {
        const outcome = await watch({
          client: new ApiClient({ server: server.url, token: 't' }),
          app: 'demo',
          version: '1.3.0',
          channel: 'stable',
          onPoll: () => {},
          sleep: async () => {},
        });
        expect(outcome).toBe(want);
        expect(EXIT_CODES[outcome]).toBe(3);
      }
    } finally {
      await halted.close();
      await yanked.close();
    }
  });

  it('retries a failing server after the first poll, and stops at once on abort', async () => {
    const server = await fakeServer(
      scripted([
        step(plannedRollout()),
        { status: 503, body: { error: { code: 'unavailable', message: 'try later' } } },
        step(plannedRollout()),
      ]),
    );
    try {
      const controller = new AbortController();
      const polls: WatchPoll[] = [];
      const outcome = await watch({
        client: new ApiClient({ server: server.url, token: 't' }),
        app: 'demo',
        version: '1.3.0',
        onPoll: (p) => {
          polls.push(p);
          if (polls.length === 3) controller.abort();
        },
        signal: controller.signal,
        now: () => NOW,
        sleep: async () => {},
      });
      expect(outcome).toBe('interrupted');
      expect(EXIT_CODES[outcome]).toBe(130);
      expect(polls.map((p) => p.error)).toEqual([undefined, 'try later (503 unavailable)', undefined]);
    } finally {
      await server.close();
    }
  });

  it('refuses in one error what retrying cannot fix', async () => {
    const port = await closedPort();
    const options = { app: 'demo', version: '1.3.0', onPoll: () => {}, sleep: async () => {} };
    await expect(
      watch({ ...options, client: new ApiClient({ server: `http://127.0.0.1:${port}`, token: 't' }) }),
    ).rejects.toThrow(/cannot reach/);
    const server = await fakeServer(
      scripted([
        statusView([
          channel([plannedRollout()]),
          channel([plannedRollout()], { name: 'beta' }),
          channel([manualRollout()], { name: 'canary' }),
        ]),
      ]),
    );
    try {
      const client = new ApiClient({ server: server.url, token: 't' });
      // On two channels: the default one wins.
      const seen: string[] = [];
      await watch({
        ...options,
        client,
        onPoll: (p) => {
          seen.push(p.channel);
          throw new UserError('stop');
        },
      }).catch(() => undefined);
      expect(seen).toEqual(['stable']);
      await expect(watch({ ...options, client, version: '9.9.9' })).rejects.toThrow(
        'demo 9.9.9 has no rollout on any channel',
      );
      await expect(watch({ ...options, client, channel: 'canary' })).rejects.toThrow(
        'demo 1.3.0 has no rollout on canary',
      );
    } finally {
      await server.close();
    }
  });
});

describe('updraft watch through the binary', () => {
  it('prints a line per change when stdout is not a terminal and exits 3 on a halt', async () => {
    const server = await fakeServer(
      scripted([step(plannedRollout()), step(plannedRollout()), step(plannedRollout({ state: 'halted' }))]),
    );
    try {
      const result = await runBin(['watch', 'demo', '1.3.0', '--interval', '1s'], {
        UPDRAFT_SERVER: server.url,
        UPDRAFT_TOKEN: 't',
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(3);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:]+Z {2}demo 1\.3\.0 on stable · active · step 2\/5 \(5%\)/,
      );
      expect(lines[1]).toMatch(/· halted · .*Rollout halted: nobody new gets 1\.3\.0\.$/);
    } finally {
      await server.close();
    }
  });

  it('prints one JSON object per poll with --json', async () => {
    const server = await fakeServer(
      scripted([step(plannedRollout()), step(plannedRollout({ state: 'complete', step: 4 }))]),
    );
    try {
      const result = await runBin(['watch', 'demo', '1.3.0', '--interval', '1s', '--json'], {
        UPDRAFT_SERVER: server.url,
        UPDRAFT_TOKEN: 't',
      });
      expect(result.code).toBe(0);
      const polls = result.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as WatchPoll);
      expect(polls.map((p) => [p.channel, p.rollout.state, p.outcome])).toEqual([
        ['stable', 'active', null],
        ['stable', 'complete', 'complete'],
      ]);
      expect(polls[0]?.rollout.plan).toEqual(PLAN);
      expect(polls[0]?.health?.installs).toBe(60);
    } finally {
      await server.close();
    }
  });

  it('stops cleanly on Ctrl-C (SIGINT) with exit code 130', async () => {
    const server = await fakeServer(scripted([step(plannedRollout())]));
    try {
      const child = spawn(process.execPath, [BIN, 'watch', 'demo', '1.3.0', '--interval', '10m'], {
        env: { PATH: process.env.PATH, UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: 't' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        child.kill('SIGINT');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
      expect(code).toBe(130);
      expect(stdout).toMatch(/· active · step 2\/5 \(5%\)/);
      expect(stderr).toBe('Stopped watching; the rollout goes on.\n');
    } finally {
      await server.close();
    }
  });

  it('exits quietly when the reader of --json closes the pipe (`watch --json | head -1`)', async () => {
    const server = await fakeServer(scripted([step(plannedRollout())]));
    try {
      const child = spawn(process.execPath, [BIN, 'watch', 'demo', '1.3.0', '--interval', '1s', '--json'], {
        env: { PATH: process.env.PATH, UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: 't' },
      });
      let first = '';
      let stderr = '';
      // As `head -1` does: read the first line, then close the read end; the next poll's line hits EPIPE.
      child.stdout.on('data', (chunk: Buffer) => {
        first ||= chunk.toString().split('\n')[0] ?? '';
        child.stdout.destroy();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exit = await new Promise<{ code: number | null; signal: string | null }>((done) =>
        child.on('exit', (code, signal) => done({ code, signal })),
      );
      expect(JSON.parse(first)).toMatchObject({ app: 'demo', version: '1.3.0', outcome: null });
      expect(stderr).toBe('');
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      await server.close();
    }
  });

  it.each([
    [['--interval', '0s'], /--interval must be from 1s to 10m/],
    [['--interval', 'often'], /--interval: "often" is not a duration/],
  ])('refuses %j in one line', async (extra, pattern) => {
    const result = await runBin(['watch', 'demo', '1.3.0', ...extra]);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
  });

  it('parses --interval', () => {
    expect(parseInterval(undefined)).toBe(5000);
    expect(parseInterval('30s')).toBe(30_000);
    expect(parseInterval('1m')).toBe(60_000);
  });
});
