import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { describeRound, describeSimulation, targetsFromFlags } from '../../scripts/commands/simulate.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { type FleetSummary, mapLimit, type RoundReport, versionCounts } from '../../scripts/lib/fleet.ts';
import { countingFetch, type EventCounts, freshFor, privateCache } from '../../scripts/lib/fleet-fetch.ts';
import {
  draw,
  MIX_TARGETS,
  parseCount,
  parseRates,
  parseSeed,
  simClientId,
} from '../../scripts/lib/fleet-model.ts';
import { readPinnedRootKeys } from '../../scripts/lib/keys-folder.ts';
import { type RunResult, runBin } from './helpers.ts';

describe('the fleet model', () => {
  it('draws the same number for the same seed, client, round and purpose, and others otherwise', () => {
    const a = draw(42, 'sim-42-0', 1, 'install');
    expect(draw(42, 'sim-42-0', 1, 'install')).toBe(a);
    expect(new Set([a, draw(43, 'sim-42-0', 1, 'install'), draw(42, 'sim-42-1', 1, 'install')]).size).toBe(3);
    expect(draw(42, 'sim-42-0', 2, 'install')).not.toBe(a);
    expect(draw(42, 'sim-42-0', 1, 'rollback')).not.toBe(a);
  });

  it('draws uniformly from [0, 1)', () => {
    const draws = Array.from({ length: 20_000 }, (_, i) => draw(1, simClientId(1, i), 1, 'install'));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const below = draws.filter((d) => d < 0.2).length / draws.length;
    expect(below).toBeGreaterThan(0.19);
    expect(below).toBeLessThan(0.21);
  });

  it('names clients sim-<seed>-<index>', () => {
    expect(simClientId(42, 0)).toBe('sim-42-0');
  });

  it('parses rate maps, as fractions or percentages, comma-separated or repeated', () => {
    const rates = parseRates(['1.1.0=0.2,1.2.0-beta.1=5%', '2.0.0=0.5%'], '--failure-rate');
    expect([...rates]).toEqual([
      ['1.1.0', 0.2],
      ['1.2.0-beta.1', 0.05],
      ['2.0.0', 0.005],
    ]);
    expect(parseRates([], '--failure-rate').size).toBe(0);
  });

  it.each([
    ['1.1.0', /takes <version>=<rate> pairs/],
    ['v1=0.2', /the version in --failure-rate must be a semantic version/],
    ['1.1.0=2', /--failure-rate 1\.1\.0: "2" is not a rate/],
    ['1.1.0=0.1,1.1.0=0.2', /names 1\.1\.0 twice/],
  ])('refuses --failure-rate %s', (text, pattern) => {
    expect(() => parseRates([text], '--failure-rate')).toThrow(pattern);
  });

  it('parses seeds and counts', () => {
    expect(parseSeed('0')).toBe(0);
    expect(parseSeed('4294967295')).toBe(4294967295);
    expect(() => parseSeed('4294967296')).toThrow(UserError);
    expect(() => parseSeed('-1')).toThrow(/--seed must be a whole number/);
    expect(parseCount('2000', '--clients', 1_000_000)).toBe(2000);
    expect(() => parseCount('0', '--clients', 10)).toThrow(/--clients must be a whole number from 1 to 10/);
    expect(() => parseCount('11', '--clients', 10)).toThrow(UserError);
  });

  it('picks one target or the mix', () => {
    expect(targetsFromFlags({})).toEqual([{ platform: 'linux', arch: 'x64' }]);
    expect(targetsFromFlags({ platform: 'darwin', arch: 'arm64' })).toEqual([
      { platform: 'darwin', arch: 'arm64' },
    ]);
    expect(targetsFromFlags({ mix: true })).toBe(MIX_TARGETS);
    expect(() => targetsFromFlags({ mix: true, arch: 'x64' })).toThrow(/--mix spreads clients/);
    expect(() => targetsFromFlags({ platform: 'plan9' })).toThrow(/--platform must be one of linux/);
  });
});

describe('fleet helpers', () => {
  it('counts versions, highest first by semver', () => {
    const clients = ['1.0.0', '1.10.0', '1.9.0', '1.10.0'].map((version) => ({ version }));
    expect(Object.entries(versionCounts(clients))).toEqual([
      ['1.10.0', 2],
      ['1.9.0', 1],
      ['1.0.0', 1],
    ]);
  });

  it('maps with bounded concurrency and keeps the order', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n, i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((done) => setTimeout(done, n));
      running--;
      return `${i}:${n}`;
    });
    expect(out).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3', '5:0']);
    expect(most).toBe(2);
  });

  it('counts the events posted and what the intake accepted, and passes everything through', async () => {
    const counts: EventCounts = { sent: 0, accepted: 0, duplicates: 0, rejected: 0, failed_requests: 0 };
    const seen: string[] = [];
    const base: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      seen.push(`${init?.method ?? 'GET'} ${url}`);
      if (url.endsWith('/events') && seen.length === 2) {
        return Response.json({ accepted: 2, duplicates: 1, rejected: [{ index: 3 }] }, { status: 202 });
      }
      if (url.endsWith('/events')) return Response.json({ error: { code: 'rate_limited' } }, { status: 429 });
      return new Response('{}');
    };
    const wrapped = countingFetch(base, 'http://127.0.0.1:9/', counts);
    const body = JSON.stringify({ events: [1, 2, 3, 4] });
    await wrapped('http://127.0.0.1:9/v1/apps/demo/check?x=1');
    const answer = await wrapped('http://127.0.0.1:9/v1/apps/demo/events', { method: 'POST', body });
    expect(await answer.json()).toMatchObject({ accepted: 2 });
    await wrapped(new Request('http://127.0.0.1:9/v1/apps/demo/events', { method: 'POST', body }));
    expect(counts).toEqual({ sent: 8, accepted: 2, duplicates: 1, rejected: 1, failed_requests: 1 });
    expect(seen).toHaveLength(3);
    // Clients post at the same time: no count may be lost between them.
    const post = () => wrapped('http://127.0.0.1:9/v1/apps/demo/events', { method: 'POST', body });
    await Promise.all([post(), post(), post()]);
    expect(counts.sent).toBe(20);
  });
});

describe('the private HTTP cache of a client', () => {
  it('reads max-age unless no-store or no-cache', () => {
    expect(freshFor('public, max-age=60')).toBe(60);
    expect(freshFor('public, max-age=31536000, immutable')).toBe(31536000);
    expect(freshFor('private, no-cache')).toBe(0);
    expect(freshFor('no-store, max-age=60')).toBe(0);
    expect(freshFor(null)).toBe(0);
  });

  it('reuses a fresh cacheable GET answer and asks again once it is stale', async () => {
    let clock = 0;
    const asked: string[] = [];
    const base: typeof fetch = async (input) => {
      const url = String(input);
      asked.push(url);
      const cacheControl = url.endsWith('/keys') ? 'public, max-age=60' : 'private, no-cache';
      return new Response(`answer ${asked.length}`, { headers: { 'Cache-Control': cacheControl } });
    };
    const cached = privateCache(base, () => clock);
    expect(await (await cached('http://x/v1/keys')).text()).toBe('answer 1');
    clock = 59_000;
    expect(await (await cached('http://x/v1/keys')).text()).toBe('answer 1');
    expect(await (await cached('http://x/check')).text()).toBe('answer 2');
    expect(await (await cached('http://x/check')).text()).toBe('answer 3');
    clock = 60_000;
    expect(await (await cached('http://x/v1/keys')).text()).toBe('answer 4');
    await cached('http://x/v1/keys', { method: 'POST' });
    expect(asked).toHaveLength(5);
  });
});

describe('pinned root keys', () => {
  it('reads the roots of the first keys document of a folder, a keys-N.jws, or a JWK', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'updraft-sim-')), 'keys');
    const { keys } = await keysInit({ keysDir: dir, offline: true });
    expect(await readPinnedRootKeys(dir)).toEqual([keys.root]);
    expect(await readPinnedRootKeys(join(dir, 'keys-1.jws'))).toEqual([keys.root]);
    expect(await readPinnedRootKeys(join(dir, 'root.json'))).toEqual([keys.root]);
    const pub = join(dir, 'root.pub.json');
    await writeFile(pub, JSON.stringify(keys.root));
    expect(await readPinnedRootKeys(pub)).toEqual([keys.root]);
  });

  it('refuses what is not a key, in one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'updraft-sim-'));
    await writeFile(join(dir, 'junk.jws'), 'not.a.jws');
    await writeFile(join(dir, 'junk.json'), '{"kty":"RSA"}');
    await expect(readPinnedRootKeys(join(dir, 'junk.jws'))).rejects.toThrow(/is not a keys document/);
    await expect(readPinnedRootKeys(join(dir, 'junk.json'))).rejects.toThrow(/is not an Ed25519 JWK/);
    await expect(readPinnedRootKeys(join(dir, 'nothing'))).rejects.toThrow(/no keys folder or file at/);
    await expect(readPinnedRootKeys(dir)).rejects.toThrow(/no root key at/);
  });
});

describe('the simulate summary', () => {
  const round: RoundReport = {
    round: 1,
    clients: [],
    counts: {
      current: 1790,
      installed: 180,
      rolled_back: 0,
      install_failed: 20,
      download_failed: 0,
      refused: 10,
      declined: 0,
      self_rollback: 0,
    },
    checks: 2000,
    elapsedMs: 6400,
  };
  const summary: FleetSummary = {
    app: 'demo',
    channel: 'stable',
    seed: 42,
    clients: 2000,
    rounds: 1,
    versions: { '1.1.0': 180, '1.0.0': 1820 },
    outcomes: round.counts,
    events: { sent: 600, accepted: 600, duplicates: 0, rejected: 0, failed_requests: 0 },
    refusals: { network: 10 },
    checks: 2000,
    elapsed_ms: 6400,
    checks_per_second: 313,
  };

  it('prints one progress line per round', () => {
    expect(describeRound(round, 3)).toBe(
      'round 1/3: 2000 checks, 180 installed, 20 failed to install, 10 refused in 6.4 s',
    );
  });

  it('prints versions, events, refusals and the check rate', () => {
    const text = describeSimulation(summary, [round]);
    expect(text.split('\n')[0]).toBe(
      'Simulated 2000 clients of demo on channel stable (seed 42): 1 round in 6.4 s',
    );
    expect(text).toMatch(/ROUND\s+CHECKS\s+INSTALLED\s+ROLLED BACK\s+INSTALL FAILED/);
    expect(text).toMatch(/\n1\s+2000\s+180\s+0\s+20\s+0\s+0\s+10\s+6\.4 s\n/);
    expect(text).toMatch(
      /Fleet versions\nVERSION\s+CLIENTS\s+SHARE\n1\.1\.0\s+180\s+9%\n1\.0\.0\s+1820\s+91%/,
    );
    expect(text).toContain('Events: 600 sent, 600 accepted, 0 duplicates, 0 rejected');
    expect(text).toMatch(/Refusals \(UpdraftError codes\):\nCODE\s+COUNT\nnetwork\s+10/);
    expect(text).toContain('Checks: 2000 at 313/s');
  });
});

describe('updraft simulate through the binary: mistakes are one line', () => {
  function expectOneLine(result: RunResult, pattern: RegExp): void {
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
  }

  it.each([
    [['simulate', 'demo'], /missing --clients <n>/],
    [['simulate', 'demo', '--clients', '0'], /--clients must be a whole number from 1 to 1000000/],
    [['simulate', 'demo', '--clients', '5', '--mix', '--platform', 'linux'], /--mix spreads clients/],
    [
      ['simulate', 'demo', '--clients', '5', '--failure-rate', '1.1.0'],
      /--failure-rate takes <version>=<rate>/,
    ],
    [['simulate', 'demo', '--clients', '5', '--seed', 'abc'], /--seed must be a whole number/],
    [
      ['simulate', 'demo', '--clients', '5', '--root-keys', '/nonexistent/keys'],
      /no keys folder or file at \/nonexistent\/keys \(--root-keys: /,
    ],
  ])('%j', async (args, pattern) => {
    expectOneLine(await runBin(args), pattern);
  });

  it('refuses a plain-HTTP server that is not this machine, as the SDK does', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'updraft-sim-')), 'keys');
    await keysInit({ keysDir: dir, offline: true });
    const args = ['simulate', 'demo', '--clients', '2', '--root-keys', dir, '--server', 'http://example.com'];
    expectOneLine(await runBin(args), /server must be https:\/\/ \(or http:\/\/ on localhost\)/);
  });

  it('has help', async () => {
    const result = await runBin(['simulate', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: updraft simulate <app> --clients <n>');
    expect(result.stdout).toContain('--failure-rate <v>=<rate>');
  });
});
