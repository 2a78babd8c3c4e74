/**
 * `updraft simulate --crash-rate`: the flag's parsing and refusals, the sessions a fleet runs and the
 * `session` events its SDK updaters report (one hour of the clients' clock per round), and the
 * sessions table of the summary. The gates judging them are tested against a real Worker in
 * test/soak/crash-gates.e2e.test.ts.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { command, describeSimulation, simulate } from '../../scripts/commands/simulate.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { createFleet, type FleetSummary } from '../../scripts/lib/fleet.ts';
import {
  draw,
  firstSessionHour,
  MAX_SESSION_ROUNDS,
  parseRates,
  SESSIONS_PER_ROUND,
} from '../../scripts/lib/fleet-model.ts';
import { readPinnedRootKeys } from '../../scripts/lib/keys-folder.ts';
import { HOUR_MS } from '../../src/protocol/telemetry.ts';
import { type RunResult, runBin } from './helpers.ts';

function expectOneLine(result: RunResult, pattern: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
}

describe('--crash-rate', () => {
  it('parses like --failure-rate: fractions or percentages, comma-separated or repeated', () => {
    expect(parseRates(['1.1.0=6%,1.0.0=0.01'], '--crash-rate')).toEqual(
      new Map([
        ['1.1.0', 0.06],
        ['1.0.0', 0.01],
      ]),
    );
    expect(parseRates(['1.3.0=4%', '1.2.0=1%'], '--crash-rate').get('1.3.0')).toBe(0.04);
    expect(() => parseRates(['1.1.0=1%', '1.1.0=2%'], '--crash-rate')).toThrow(
      new UserError('--crash-rate names 1.1.0 twice'),
    );
  });

  it('draws each session of a round on its own', () => {
    const draws = Array.from({ length: SESSIONS_PER_ROUND }, (_, i) => draw(1, 'sim-1-0', 1, `session-${i}`));
    expect(new Set([...draws, draw(1, 'sim-1-0', 1, 'install')]).size).toBe(SESSIONS_PER_ROUND + 1);
    expect(draw(1, 'sim-1-0', 1, 'session-0')).toBe(draws[0]);
  });

  it('starts the clients’ clock at the next whole hour', () => {
    expect(firstSessionHour(Date.parse('2026-12-06T00:59:59.999Z'))).toBe(Date.parse('2026-12-06T01:00:00Z'));
    expect(firstSessionHour(Date.parse('2026-12-06T01:00:00Z'))).toBe(Date.parse('2026-12-06T02:00:00Z'));
  });

  it.each([
    [
      ['1.1.0'],
      /^--crash-rate takes <version>=<rate> pairs such as 1\.1\.0=0\.2 or 1\.1\.0=5%, got "1\.1\.0"$/,
    ],
    [['1.1.0=0'], /^--crash-rate 1\.1\.0: /],
    [['1.1.0=100%'], /^--crash-rate 1\.1\.0: /],
    [['one=1%'], /the version in --crash-rate/],
  ])('refuses %j', (texts, pattern) => {
    expect(() => parseRates(texts, '--crash-rate')).toThrow(UserError);
    expect(() => parseRates(texts, '--crash-rate')).toThrow(pattern);
  });

  // Through the binary (each run costs half a second of `npm test`): a mistake is one line and exit 1.
  it.each([
    [['--crash-rate', '1.1.0'], /--crash-rate takes <version>=<rate> pairs/],
    [
      ['--crash-rate', '1.1.0=1%', '--rounds', String(MAX_SESSION_ROUNDS + 1)],
      /--crash-rate makes each round an hour of the clients' clock.*--rounds must be at most 22, got 23/,
    ],
  ])('refuses %j in one line', async (flags, pattern) => {
    expectOneLine(await runBin(['simulate', 'demo', '--clients', '5', ...flags]), pattern);
  });

  it('refuses too many rounds from the function too, before any request', async () => {
    await expect(
      simulate({
        server: 'http://127.0.0.1:9',
        app: 'demo',
        clients: 1,
        rounds: 30,
        crashRates: new Map([['1.0.0', 0.1]]),
        rootKeys: '/nonexistent',
      }),
    ).rejects.toThrow(/--rounds must be at most 22, got 30/);
  });

  it('is in the help', () => {
    expect(command.help.join('\n')).toContain('--crash-rate <v>=<rate>');
  });
});

describe('a fleet with crash rates', () => {
  it('runs sessions through the SDK and reports each finished hour as one session event per client', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'updraft-sim-crash-')), 'keys');
    await keysInit({ keysDir: dir, offline: true });
    const posted: { client_id: string; from_version: string; occurred_at: string; sessions: unknown }[] = [];
    // No server: checks are refused (the answer is not signed), but the app runs and reports anyway.
    const fakeFetch: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.includes('/events')) {
        const body = JSON.parse(String(init?.body)) as { events: (typeof posted)[number][] };
        posted.push(...body.events.filter((e) => e.sessions !== undefined));
        return Response.json({ accepted: body.events.length, rejected: [] }, { status: 202 });
      }
      return Response.json({ error: { code: 'unavailable', message: 'none' } }, { status: 503 });
    };
    const started = Date.now();
    const fleet = createFleet({
      server: 'http://127.0.0.1:9',
      app: 'demo',
      channel: 'stable',
      clients: 20,
      seed: 3,
      rootKeys: await readPinnedRootKeys(dir),
      crashRates: new Map([['1.0.0', 0.25]]),
      httpCache: false,
      fetch: fakeFetch,
    });
    await fleet.runRound();
    await fleet.runRound();

    const first = firstSessionHour(started);
    expect(fleet.now().getTime()).toBe(first + 2 * HOUR_MS);
    const crashes = (id: string, round: number) =>
      Array.from({ length: SESSIONS_PER_ROUND }, (_, i) => draw(3, id, round, `session-${i}`) < 0.25).filter(
        Boolean,
      ).length;
    const expected = fleet.clients.flatMap((c) =>
      [1, 2].map((round) => ({
        client_id: c.id,
        from_version: '1.0.0',
        occurred_at: new Date(first + (round - 1) * HOUR_MS).toISOString(),
        sessions: {
          ok: SESSIONS_PER_ROUND - crashes(c.id, round),
          errored: 0,
          crashed: crashes(c.id, round),
          abnormal: 0,
        },
      })),
    );
    const key = (e: { client_id: string; occurred_at: string }) => `${e.client_id} ${e.occurred_at}`;
    const got = posted
      .map(({ client_id, from_version, occurred_at, sessions }) => ({
        client_id,
        from_version,
        occurred_at,
        sessions,
      }))
      .sort((a, b) => key(a).localeCompare(key(b)));
    expect(got).toEqual(expected.sort((a, b) => key(a).localeCompare(key(b))));

    const summary = fleet.summary();
    const crashed = expected.reduce((n, e) => n + e.sessions.crashed, 0);
    expect(crashed).toBeGreaterThan(0);
    expect(summary.sessions).toEqual({ '1.0.0': { sessions: 20 * 2 * SESSIONS_PER_ROUND, crashed } });
    expect(summary.session_hours).toEqual({
      from: new Date(first).toISOString(),
      to: new Date(first + 2 * HOUR_MS).toISOString(),
    });
  });

  it('has no sessions and the real clock without crash rates', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'updraft-sim-crash-')), 'keys');
    await keysInit({ keysDir: dir, offline: true });
    const fleet = createFleet({
      server: 'http://127.0.0.1:9',
      app: 'demo',
      clients: 1,
      rootKeys: await readPinnedRootKeys(dir),
      fetch: async () => new Response('{}', { status: 503 }),
    });
    expect(fleet.summary().sessions).toBeUndefined();
    expect(Math.abs(fleet.now().getTime() - Date.now())).toBeLessThan(5000);
  });
});

describe('the simulate summary with crash rates', () => {
  it('prints the sessions and crashes per version and the hours they are dated', () => {
    const summary: FleetSummary = {
      app: 'demo',
      channel: 'stable',
      seed: 42,
      clients: 200,
      rounds: 2,
      versions: { '1.1.0': 100, '1.0.0': 100 },
      outcomes: {
        current: 300,
        installed: 100,
        rolled_back: 0,
        install_failed: 0,
        download_failed: 0,
        refused: 0,
        declined: 0,
        self_rollback: 0,
      },
      events: { sent: 900, accepted: 900, duplicates: 0, rejected: 0, failed_requests: 0 },
      refusals: {},
      checks: 400,
      elapsed_ms: 4000,
      checks_per_second: 100,
      sessions: { '1.1.0': { sessions: 600, crashed: 36 }, '1.0.0': { sessions: 600, crashed: 6 } },
      session_hours: { from: '2026-12-06T01:00:00.000Z', to: '2026-12-06T03:00:00.000Z' },
    };
    const text = describeSimulation(summary, []);
    expect(text).toMatch(
      /Sessions \(clients' clock 2026-12-06T01:00:00\.000Z to 2026-12-06T03:00:00\.000Z, one hour a round\)\nVERSION\s+SESSIONS\s+CRASHED\s+CRASH RATE\n1\.1\.0\s+600\s+36\s+6%\n1\.0\.0\s+600\s+6\s+1%/,
    );
    const { sessions: _, session_hours: __, ...without } = summary;
    expect(describeSimulation(without, [])).not.toContain('Sessions');
  });
});
