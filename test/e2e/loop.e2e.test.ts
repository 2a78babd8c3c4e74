/**
 * The release loop through the real `updraft` binary against the real Worker under `wrangler dev`:
 * keys → app → publish → staged promote → client checks → halt → yank → rollback, plus the
 * mistakes a user makes on the way (each one line on stderr, exit 1).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucket } from '../../src/protocol/bucket.ts';
import { type RunResult, runBin } from '../scripts/helpers.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

let server: DevServer | undefined;
let work = '';
let keysDir = '';
let env: NodeJS.ProcessEnv = {};

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

/** Runs the binary against the test server; a non-zero exit fails with its stderr. */
async function cli(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await runBin(args, { ...env, ...extraEnv }, work);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function expectOneLine(result: RunResult, pattern: RegExp): void {
  expect(result.code).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

interface CheckAnswer {
  status: 'update' | 'rollback' | 'none';
  version?: string;
  mandatory?: boolean;
  yanked?: boolean;
  artifact?: { url: string; sha256: string; size: number };
}

async function check(
  clientId: string,
  version: string,
  platform = 'linux',
  arch = 'x64',
): Promise<CheckAnswer> {
  const query = new URLSearchParams({ client_id: clientId, version, platform, arch });
  const response = await fetch(`${dev().url}/v1/apps/demo/check?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as CheckAnswer;
}

/** The data plane reads a projection cached for a few seconds: retry until `assertion` holds. */
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

const CLIENTS = Array.from({ length: 200 }, (_, i) => `e2e-client-${i}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-loop-'));
  keysDir = join(work, 'keys');
  // keys init runs before the server exists: the Worker needs the online key it creates as a secret.
  const init = await runBin(['keys', 'init', '--offline', '--keys', keysDir], {}, work);
  expect(init.code, init.stderr).toBe(0);
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: server.adminToken, UPDRAFT_KEYS: keysDir };
  for (const [name, text] of [
    ['demo-1.0.0.tar.gz', 'one'],
    ['demo-1.0.0.zip', 'one mac'],
    ['demo-1.1.0.tar.gz', 'two'],
    ['demo-1.1.0.zip', 'two mac'],
  ] as const) {
    await writeFile(join(work, name), text.repeat(1000));
  }
});

afterAll(async () => {
  await server?.stop();
});

describe('the release loop', () => {
  it('registers keys and creates the app', async () => {
    expect(await cli(['keys', 'register'])).toMatch(/Registered keys document 1/);
    const app = JSON.parse(await cli(['app', 'create', 'demo', '--channel', 'beta', '--json'])) as {
      channels: { name: string }[];
    };
    expect(app.channels.map((c) => c.name).sort()).toEqual(['beta', 'stable']);
  });

  it('publishes two releases with two artifacts each and stages the second to 25 %', async () => {
    for (const version of ['1.0.0', '1.1.0']) {
      const out = await cli([
        'publish',
        'demo',
        version,
        '--artifact',
        `linux-x64=${join(work, `demo-${version}.tar.gz`)}`,
        '--artifact',
        `darwin-arm64=${join(work, `demo-${version}.zip`)}`,
        '--notes',
        `release ${version}`,
      ]);
      expect(out).toMatch(new RegExp(`Published demo ${version.replaceAll('.', '\\.')}`));
    }
    await cli(['promote', 'demo', '1.0.0', '--channel', 'stable']);
    await cli(['promote', 'demo', '1.1.0', '--channel', 'stable', '--percent', '25']);
  });

  it('offers 1.1.0 to exactly the clients whose bucket is inside 25 %', async () => {
    const status = JSON.parse(await cli(['status', 'demo', '--json'])) as {
      channels: {
        name: string;
        rollouts: { version: string; percent_bp: number; state: string; salt: string }[];
      }[];
    };
    const rollout = status.channels
      .find((c) => c.name === 'stable')
      ?.rollouts.find((r) => r.version === '1.1.0');
    expect(rollout).toMatchObject({ percent_bp: 2500, state: 'active' });
    const salt = rollout?.salt ?? '';
    const expected = await Promise.all(CLIENTS.map(async (id) => (await bucket(salt, id)) < 2500));
    await eventually(async () => {
      const answers = await Promise.all(CLIENTS.map((id) => check(id, '1.0.0')));
      expect(answers.map((a) => a.status === 'update')).toEqual(expected);
    });
    const updated = CLIENTS.filter((_, i) => expected[i]).length;
    expect(updated).toBeGreaterThan(20);
    expect(updated).toBeLessThan(80);

    const inside = CLIENTS[expected.indexOf(true)] ?? '';
    const answer = await check(inside, '1.0.0');
    expect(answer).toMatchObject({ status: 'update', version: '1.1.0' });
    const bytes = new Uint8Array(await (await fetch(answer.artifact?.url ?? '')).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(answer.artifact?.sha256);
  });

  it('halts 1.1.0: nobody new gets it', async () => {
    await cli(['halt', 'demo', '1.1.0', '--channel', 'stable', '--reason', 'crash reports']);
    await eventually(async () => {
      const answers = await Promise.all(CLIENTS.slice(0, 50).map((id) => check(id, '1.0.0')));
      expect(answers.every((a) => a.status === 'none')).toBe(true);
    });
  });

  it('yanks 1.1.0: clients on it roll back to 1.0.0', async () => {
    const yank = JSON.parse(await cli(['yank', 'demo', '1.1.0', '--reason', 'crash on start', '--json'])) as {
      rollback_to: string;
    };
    expect(yank.rollback_to).toBe('1.0.0');
    await eventually(async () => {
      const answer = await check('e2e-client-1', '1.1.0', 'darwin', 'arm64');
      expect(answer).toMatchObject({ status: 'rollback', version: '1.0.0', mandatory: true });
    });
    const history = JSON.parse(await cli(['history', 'demo', '--json'])) as { entries: { action: string }[] };
    expect(history.entries.length).toBeGreaterThan(5);
  });
});

describe('mistakes through the binary', () => {
  it('a wrong token is one line and exit 1', async () => {
    const result = await runBin(['status', 'demo'], { ...env, UPDRAFT_TOKEN: 'updr_wrong' }, work);
    expectOneLine(result, /^updraft: .*\(401 invalid_token\)$/);
  });

  it('promoting an unknown version is one line and exit 1', async () => {
    const result = await runBin(['promote', 'demo', '9.9.9', '--channel', 'stable'], env, work);
    expectOneLine(result, /^updraft: .*\(404 unknown_release\)$/);
  });

  it('a revoked token stops working', async () => {
    const created = JSON.parse(
      await cli(['token', 'create', '--name', 'ci', '--role', 'analyst', '--json']),
    ) as {
      id: string;
      token: string;
    };
    expect(await cli(['status', 'demo'], { UPDRAFT_TOKEN: created.token })).toMatch(/Channel stable/);
    const denied = await runBin(
      ['promote', 'demo', '1.0.0', '--channel', 'beta'],
      { ...env, UPDRAFT_TOKEN: created.token },
      work,
    );
    expectOneLine(denied, /\(403 forbidden\)$/);
    await cli(['token', 'revoke', created.id]);
    const revoked = await runBin(['status', 'demo'], { ...env, UPDRAFT_TOKEN: created.token }, work);
    expectOneLine(revoked, /\(401 invalid_token\)$/);
  });
});
