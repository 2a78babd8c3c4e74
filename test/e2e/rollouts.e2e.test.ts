/**
 * Staged rollouts through the real `updraft` binary against the real Worker under `wrangler dev`:
 * promote with a plan → healthy telemetry through the public intake → the cron, run at future times
 * through wrangler's scheduled route so bake times pass at once → the plan advances and completes
 * (`status --json`, `watch` exits 0), while a broken release on another channel is halted
 * (`watch` exits 3) and the app's webhook receives the signed scheduler actions.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import type { WatchPoll } from '../../scripts/lib/watch-view.ts';
import type { ReleaseHealth, RolloutView, StatusView } from '../../src/protocol/admin-api.ts';
import { signWebhook } from '../../src/protocol/webhook.ts';
import { runBin } from '../scripts/helpers.ts';
import { type DevServer, startDevServer, triggerScheduled } from './dev-server.ts';

const APP = 'rollouts';
const MINUTE = 60_000;

let server: DevServer | undefined;
let admin: ApiClient;
let work = '';
let env: NodeJS.ProcessEnv = {};
const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => {
    body += chunk.toString();
  });
  req.on('end', () => {
    hooks.push({ headers: req.headers, body });
    res.writeHead(204).end();
  });
});

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

async function cli(args: readonly string[]): Promise<string> {
  const result = await runBin(args, env, work);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function rollout(channel: string): Promise<RolloutView> {
  const status = JSON.parse(await cli(['status', APP, '--json'])) as StatusView;
  const found = status.channels.find((c) => c.name === channel)?.rollouts.find((r) => r.version === '1.1.0');
  if (!found) throw new Error(`no rollout of 1.1.0 on ${channel}`);
  return found;
}

function stepStart(r: RolloutView): Date {
  if (!r.step_started_at) throw new Error(`rollout on step ${r.step} has no step_started_at`);
  return new Date(r.step_started_at);
}

/**
 * Reports installs of 1.1.0 on `channel` from new clients, `failed` of them failing, one second
 * after `at` (the step's start, which may be ahead of the clock), then waits for the queue consumer
 * to write them: the health over the step must show them all.
 */
async function report(channel: string, at: Date, succeeded: number, failed: number): Promise<void> {
  const occurred = new Date(Math.max(at.getTime(), Date.now()) + 1000).toISOString();
  const events = Array.from({ length: succeeded + failed }, (_, i) => ({
    id: randomUUID(),
    type: i < succeeded ? 'install_succeeded' : 'install_failed',
    client_id: `${channel}-${at.getTime()}-${i}`,
    channel,
    from_version: '1.0.0',
    to_version: '1.1.0',
    platform: 'linux',
    arch: 'x64',
    ...(i < succeeded ? { duration_ms: 1200 } : { error_code: 'disk_full' }),
    occurred_at: occurred,
  }));
  const response = await fetch(`${dev().url}/v1/apps/${APP}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  expect(response.status, await response.clone().text()).toBe(202);
  expect(((await response.json()) as { accepted: number }).accepted).toBe(events.length);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const health = await admin.get<ReleaseHealth>(`/v1/admin/apps/${APP}/health`, {
      query: {
        version: '1.1.0',
        channel,
        from: at.toISOString(),
        to: new Date(at.getTime() + 10 * MINUTE).toISOString(),
      },
    });
    if (health.installs === succeeded && health.failures === failed) return;
    if (Date.now() > deadline) throw new Error(`events not written: ${JSON.stringify(health)}`);
    await new Promise((done) => setTimeout(done, 500));
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-rollouts-'));
  const keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  server = await startDevServer({ onlineKey });
  admin = new ApiClient({ server: server.url, token: server.adminToken });
  env = { UPDRAFT_SERVER: server.url, UPDRAFT_TOKEN: server.adminToken, UPDRAFT_KEYS: keysDir };
  await cli(['keys', 'register']);
  await cli(['app', 'create', APP, '--channel', 'beta']);
  for (const version of ['1.0.0', '1.1.0']) {
    const file = join(work, `${APP}-${version}.tar.gz`);
    await writeFile(file, version.repeat(500));
    await cli(['publish', APP, version, '--artifact', `linux-x64=${file}`]);
  }
  await cli(['promote', APP, '1.0.0', '--channel', 'stable']);
  await cli(['promote', APP, '1.0.0', '--channel', 'beta']);
});

afterAll(async () => {
  await server?.stop();
  await new Promise<void>((done) => receiver.close(() => done()));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a staged rollout driven by the scheduler', () => {
  let secret = '';

  it('sets a webhook and shows its secret once', async () => {
    const { port } = receiver.address() as AddressInfo;
    const out = await cli(['app', 'settings', APP, '--webhook-url', `http://127.0.0.1:${port}/updraft`]);
    secret = /New webhook secret, shown once[^\n]*\n[^\n]*\n\n {2}(\S+)\n/.exec(out)?.[1] ?? '';
    expect(secret).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(await cli(['app', 'settings', APP])).not.toContain(secret);
  });

  it('promotes with a plan: the first step, its plan and bake clock', async () => {
    const out = await cli([
      'promote',
      APP,
      '1.1.0',
      '--channel',
      'stable',
      '--plan',
      '10,50,100',
      '--bake',
      '1m',
      '--min-installs',
      '5',
    ]);
    expect(out).toMatch(/^Promoted rollouts 1\.1\.0 to 10% of stable, staged: 10% → 50% → 100%, 1m per step/);
    expect(out).toContain('1.1.0: step 1/3 (10%) of 10% → 50% → 100%');
    const r = await rollout('stable');
    expect(r).toMatchObject({
      percent_bp: 1000,
      state: 'active',
      step: 0,
      plan: {
        steps_bp: [1000, 5000, 10_000],
        bake_seconds: 60,
        gates: { max_failure_rate: 0.05, max_rollback_rate: 0.02, min_installs: 5 },
      },
    });
    expect(Date.parse(r.bake_ends_at ?? '') - stepStart(r).getTime()).toBe(MINUTE);
    await cli([
      'promote',
      APP,
      '1.1.0',
      '--channel',
      'beta',
      '--plan',
      '10,100',
      '--bake',
      '1m',
      '--min-installs',
      '5',
      '--max-failure-rate',
      '2%',
    ]);
  });

  it('advances the healthy one after its bake and halts the failing one', async () => {
    const stable = stepStart(await rollout('stable'));
    const beta = stepStart(await rollout('beta'));
    await report('stable', stable, 8, 0);
    await report('beta', beta, 6, 6);
    await triggerScheduled(dev(), new Date(Math.max(stable.getTime(), beta.getTime()) + 2 * MINUTE));

    const advanced = await rollout('stable');
    expect(advanced).toMatchObject({ percent_bp: 5000, state: 'active', step: 1 });
    expect(advanced.judgement).toMatchObject({ action: 'advance', figures: { installs: 8, failures: 0 } });
    const halted = await rollout('beta');
    expect(halted).toMatchObject({ percent_bp: 1000, state: 'halted', step: 0 });
    expect(halted.judgement).toMatchObject({ action: 'halt', figures: { installs: 6, failures: 6 } });
    expect(halted.judgement?.figures.failure_rate.low).toBeGreaterThan(0.02);

    const text = await cli(['status', APP]);
    expect(text).toContain('1.1.0: step 2/3 (50%) of 10% → 50% → 100%');
    expect(text).toMatch(/last judgement: advance at [\d-]+ [\d:]+Z: /);
    expect(text).toMatch(/next: nothing: halted, offered to nobody new/);

    const watched = await runBin(['watch', APP, '1.1.0', '--channel', 'beta', '--json'], env, work);
    expect(watched.code).toBe(3);
    expect((JSON.parse(watched.stdout.trim()) as WatchPoll).outcome).toBe('halted');
  });

  it('completes the plan while `updraft watch` follows it, which then exits 0', async () => {
    const step2 = stepStart(await rollout('stable'));
    await report('stable', step2, 6, 0);
    const watching = runBin(['watch', APP, '1.1.0', '--interval', '1s'], env, work);
    await new Promise((done) => setTimeout(done, 2500));
    await triggerScheduled(dev(), new Date(step2.getTime() + 2 * MINUTE));
    const watched = await watching;
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/rollouts 1\.1\.0 on stable · active · step 2\/3 \(50%\)/);
    expect(lines.at(-1)).toMatch(
      /· complete · step 3\/3 \(100%\) · .*Rollout complete: 1\.1\.0 reaches all of stable\.$/,
    );
    expect(await rollout('stable')).toMatchObject({ percent_bp: 10_000, state: 'complete', step: 2 });
  });

  it('posted each scheduler action to the webhook, signed, and lists the deliveries', async () => {
    expect(hooks.map((h) => (JSON.parse(h.body) as { event: string }).event).sort()).toEqual([
      'rollout.advance',
      'rollout.complete',
      'rollout.halt',
    ]);
    for (const hook of hooks) {
      const timestamp = Number(hook.headers['x-updraft-timestamp']);
      expect(hook.headers['x-updraft-signature']).toBe(await signWebhook(secret, timestamp, hook.body));
      expect((JSON.parse(hook.body) as { text: string }).text).toMatch(
        /^rollouts 1\.1\.0 on (stable|beta): /,
      );
    }
    const table = await cli(['app', 'webhooks', APP]);
    expect(table.split('\n')[0]).toMatch(/^ID\s+CREATED\s+EVENT\s+ATTEMPTS\s+STATE\s+URL$/);
    expect(table.match(/ delivered /g)).toHaveLength(3);
  });
});
