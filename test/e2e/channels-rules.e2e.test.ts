/**
 * Channels and channel rules through the real `updraft` binary against the real Worker under
 * `wrangler dev`: `channel add|set`, `rules`, `rules set` (flags and a file), `rules test` (whose
 * answer must be the channel the Worker's check route picks), and `publish --os`.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesTest } from '../../scripts/commands/rules-test.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import type { AppView } from '../../src/protocol/admin-api.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { type RunResult, runBin } from '../scripts/helpers.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

let server: DevServer | undefined;
let work = '';
let env: NodeJS.ProcessEnv = {};

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

async function cli(args: readonly string[]): Promise<string> {
  const result = await runBin(args, env, work);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function mistake(args: readonly string[]): Promise<string> {
  const result: RunResult = await runBin(args, env, work);
  expect(result.code, result.stdout).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

async function check(params: Record<string, string>): Promise<CheckResponse> {
  const query = new URLSearchParams({ version: '0.9.0', platform: 'linux', arch: 'x64', ...params });
  const response = await fetch(`${dev().url}/v1/apps/demo/check?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as CheckResponse;
}

/** The data plane caches the projection for a few seconds: retry until `assertion` holds. */
async function eventually(assertion: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((done) => setTimeout(done, 500));
    }
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-channels-'));
  const keysDir = join(work, 'keys');
  const init = await runBin(['keys', 'init', '--offline', '--keys', keysDir], {}, work);
  expect(init.code, init.stderr).toBe(0);
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: server.adminToken, UPDRAFT_KEYS: keysDir };
  await cli(['keys', 'register']);
  await cli(['app', 'create', 'demo']);
  await writeFile(join(work, 'demo-1.0.0.tar.gz'), 'one'.repeat(1000));
});

afterAll(async () => {
  await server?.stop();
});

describe('channels', () => {
  it('adds a public and a private channel, and refuses to add one twice', async () => {
    const beta = JSON.parse(await cli(['channel', 'add', 'demo', 'beta', '--json'])) as AppView;
    expect(beta.channels.find((c) => c.name === 'beta')).toMatchObject({ public: true });
    const out = await cli(['channel', 'add', 'demo', 'internal', '--private']);
    expect(out).toMatch(/^Added channel internal: private \(reached only through channel rules\)\./);
    expect(out).toMatch(/internal +private/);
    expect(await mistake(['channel', 'add', 'demo', 'beta'])).toBe(
      'updraft: demo already has a channel beta (change it with `updraft channel set`)',
    );
  });

  it('makes beta the default channel, which clients that ask for nothing then get', async () => {
    expect((await check({ client_id: 'someone' })).channel).toBe('stable');
    const view = JSON.parse(await cli(['channel', 'set', 'demo', 'beta', '--default', '--json'])) as AppView;
    expect(view.default_channel).toBe('beta');
    await eventually(async () => expect((await check({ client_id: 'someone' })).channel).toBe('beta'));
    expect(await cli(['channel', 'set', 'demo', 'beta', '--default'])).toMatch(
      /^Nothing to change: beta: public, the default channel\./,
    );
    expect(await mistake(['channel', 'set', 'demo', 'nope', '--public'])).toBe(
      'updraft: demo has no channel nope (add it with `updraft channel add`)',
    );
    expect(
      await mistake(['channel', 'set', 'demo', 'stable', '--private', '--expected-revision', '1']),
    ).toMatch(/^updraft: expected_revision 1 does not match the app's revision \d+ \(409 stale_revision\)$/);
  });

  it('switches visibility: a private channel asked for by name is not served, a public one is', async () => {
    await cli(['channel', 'set', 'demo', 'internal', '--public']);
    await eventually(async () =>
      expect((await check({ client_id: 'someone', channel: 'internal' })).channel).toBe('internal'),
    );
    await cli(['channel', 'set', 'demo', 'internal', '--private']);
    await eventually(async () =>
      expect((await check({ client_id: 'someone', channel: 'internal' })).channel).toBe('beta'),
    );
  });
});

describe('rules and publish --os', () => {
  it('publishes an artifact for Linux 5 and later to the private channel', async () => {
    await cli([
      'publish',
      'demo',
      '1.0.0',
      '--artifact',
      `linux-x64=${join(work, 'demo-1.0.0.tar.gz')}`,
      '--os',
      'linux-x64=>=5.0.0',
    ]);
    await cli(['promote', 'demo', '1.0.0', '--channel', 'internal', '--percent', '100']);
  });

  it('sets rules from flags and lists them, a cohort with the salt the server drew', async () => {
    const out = await cli([
      'rules',
      'set',
      'demo',
      '--rule',
      'internal:client_ids=tester-1,tester-2',
      '--rule',
      'stable:platforms=darwin;percent=50',
    ]);
    expect(out.split('\n').slice(0, 3)).toEqual([
      expect.stringMatching(
        /^Channel rules of demo \(revision \d+\), tried in order; the first that matches decides:$/,
      ),
      '  1. → internal  client_ids tester-1, tester-2',
      expect.stringMatching(/^ {2}2\. → stable +platforms darwin and a 50% cohort \(salt [0-9a-f]{8}…\)$/),
    ]);
    expect(await cli(['rules', 'demo'])).toBe(out);
  });

  it('round-trips the listing through a file, salts included', async () => {
    const listed = await cli(['rules', 'demo', '--json']);
    const file = join(work, 'rules.json');
    await writeFile(file, listed);
    const after = JSON.parse(await cli(['rules', 'set', 'demo', '--file', file, '--json'])) as AppView;
    expect(after.rules).toEqual((JSON.parse(listed) as AppView).rules);
    expect(await mistake(['rules', 'set', 'demo', '--rule', 'nochannel'])).toBe(
      'updraft: rules.0.channel: app demo has no channel named nochannel (400 unknown_channel)',
    );
  });

  it('rules test names the channel the Worker routes to, and why, for every kind of client', async () => {
    const client = new ApiClient({ server: dev().url, token: dev().adminToken });
    const cases: { id: string; platform: 'darwin' | 'linux'; channel?: string }[] = [
      ...Array.from({ length: 20 }, (_, i) => ({ id: `mac-${i}`, platform: 'darwin' as const })),
      { id: 'tester-2', platform: 'darwin' as const },
      { id: 'linux-1', platform: 'linux' as const, channel: 'stable' },
      { id: 'linux-2', platform: 'linux' as const, channel: 'internal' },
    ];
    const seen = new Set<string>();
    // Retried as a whole: the check route may still hold the app's rules of a few seconds ago.
    await eventually(async () => {
      seen.clear();
      for (const c of cases) {
        const test = { clientId: c.id, platform: c.platform, ...(c.channel ? { channel: c.channel } : {}) };
        const predicted = await rulesTest({ client, app: 'demo', test });
        const routed = await check({
          client_id: c.id,
          platform: c.platform,
          ...(c.channel ? { channel: c.channel } : {}),
        });
        expect(predicted.channel, c.id).toBe(routed.channel);
        seen.add(`${predicted.channel}:${predicted.reason.kind}`);
      }
    });
    // The cohort splits the Macs, the tester list wins over it, and a private channel asked for is ignored.
    expect([...seen].sort()).toEqual(['beta:default', 'internal:rule', 'stable:requested', 'stable:rule']);
  });

  it('prints the reasons, and what the server offers there with --os-version', async () => {
    const tester = JSON.parse(
      await cli([
        'rules',
        'test',
        'demo',
        '--client-id',
        'tester-1',
        '--platform',
        'linux',
        '--version',
        '0.9.0',
        '--arch',
        'x64',
        '--os-version',
        '6.1',
        '--json',
      ]),
    ) as { channel: string; reason: unknown; offer: CheckResponse };
    expect(tester.channel).toBe('internal');
    expect(tester.reason).toEqual({ kind: 'rule', index: 0 });
    expect(tester.offer).toMatchObject({ status: 'update', channel: 'internal', version: '1.0.0' });

    const oldKernel = await cli([
      'rules',
      'test',
      'demo',
      '--client-id',
      'tester-1',
      '--platform',
      'linux',
      '--version',
      '0.9.0',
      '--arch',
      'x64',
      '--os-version',
      '4.19',
    ]);
    expect(oldKernel).toBe(
      [
        'tester-1 → internal: rule 1 matched (client_ids tester-1, tester-2)',
        'The server offers it in internal: nothing',
        '',
      ].join('\n'),
    );

    const other = await cli([
      'rules',
      'test',
      'demo',
      '--client-id',
      'someone',
      '--platform',
      'linux',
      '--channel',
      'internal',
    ]);
    expect(other.split('\n').slice(0, 2)).toEqual([
      'someone → beta: no rule matched; it asks for internal, which is private (reached only through rules), so it gets the default channel',
      '  rule 1 (→ internal, client_ids tester-1, tester-2): someone is not one of its client_ids',
    ]);
    expect(other.split('\n')[2]).toMatch(
      /^ {2}rule 2 \(→ stable, platforms darwin and a 50% cohort \(salt [0-9a-f]{8}…\)\): platform linux is not one of its platforms$/,
    );
    expect(await mistake(['rules', 'test', 'demo', '--client-id', 'x'])).toBe(
      'updraft: give --platform: rule 2 matches on platforms',
    );
    const badOs = ['--platform', 'linux', '--version', '1.0.0', '--arch', 'x64', '--os-version', 'latest'];
    expect(await mistake(['rules', 'test', 'demo', '--client-id', 'x', ...badOs])).toBe(
      'updraft: os_version: must be an OS version such as 14.2, at most 32 characters (400 invalid_query)',
    );
  });

  it('clears the rules', async () => {
    expect(await cli(['rules', 'set', 'demo', '--clear'])).toMatch(/^demo has no channel rules/);
  });
});
