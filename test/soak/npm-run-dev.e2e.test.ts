/**
 * `npm run dev`, the real script, on a free loopback port with its own state folder (`--state`, so the
 * developer's .updraft, .dev.vars and .wrangler/state are never touched), used as the README's
 * walk-through uses it:
 *
 * - /healthz answers 503 `seeding` until the demo is whole: at its first 200 the releases, rollouts
 *   and telemetry are all there;
 * - the cron runs every minute with no manual trigger: a plan with a one-minute bake advances by
 *   itself (minutes: this file runs with the soak project);
 * - `updraft keys rotate --role online` restarts the Worker, whose snapshots are then signed with the
 *   new key;
 * - after a restart, the banner's example checks say what the Worker answers now.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDevVars } from '../../scripts/lib/config.ts';
import { freePort } from '../../scripts/lib/net.ts';
import type { ChannelHealth, StatusView } from '../../src/protocol/admin-api.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { decodeDocument } from '../../src/protocol/jws.ts';
import { ROOT, runBin } from '../scripts/helpers.ts';

interface NpmDev {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

let dir = '';
let port = 0;
let server = '';
let dev: NpmDev | undefined;

/** `npm run dev -- --state <dir>` with PORT set, in its own process group; none of our UPDRAFT_* settings. */
function startNpmDev(): NpmDev {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), WRANGLER_SEND_METRICS: 'false' };
  for (const name of Object.keys(env)) if (name.startsWith('UPDRAFT_')) delete env[name];
  const child = spawn('npm', ['run', 'dev', '--', '--state', dir], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const signal = (name: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, name);
        } catch {
          // already gone
        }
      };
      // Ctrl-C reaches the whole group, as in a terminal.
      signal('SIGINT');
      const timer = setTimeout(() => signal('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForOutput(text: string | RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const seen = () => {
    const out = dev?.output() ?? '';
    return typeof text === 'string' ? out.includes(text) : text.test(out);
  };
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`npm run dev never printed ${text}:\n${dev?.output()}`);
    if (dev?.child.exitCode !== null) throw new Error(`npm run dev exited:\n${dev?.output()}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

async function token(): Promise<string> {
  const value = parseDevVars(await readFile(join(dir, 'dev.vars'), 'utf8')).UPDRAFT_ADMIN_TOKEN;
  if (!value) throw new Error('no admin token in dev.vars');
  return value;
}

async function admin<T>(path: string): Promise<T> {
  const response = await fetch(`${server}${path}`, { headers: { authorization: `Bearer ${await token()}` } });
  const text = await response.text();
  expect(response.status, `${path}: ${text}`).toBe(200);
  return JSON.parse(text) as T;
}

async function cli(args: string[]) {
  return runBin(args, {
    UPDRAFT_SERVER: server,
    UPDRAFT_TOKEN: await token(),
    UPDRAFT_KEYS: join(dir, 'keys'),
  });
}

async function snapshotKid(): Promise<string> {
  const response = await fetch(
    `${server}/v1/apps/demo/check?client_id=kid-probe&version=1.0.0&platform=linux&arch=x64`,
  );
  const answer = (await response.json()) as CheckResponse;
  return decodeDocument(answer.signed.snapshot).header.kid;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'updraft-npm-dev-'));
  port = await freePort();
  server = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await dev?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run dev', () => {
  it('answers /healthz 503 `seeding` until the demo is seeded, then 200 with the demo whole', async () => {
    dev = startNpmDev();
    const answers: { status: number; code?: string }[] = [];
    const deadline = Date.now() + 300_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`no 200 from /healthz:\n${dev.output()}`);
      if (dev.child.exitCode !== null) throw new Error(`npm run dev exited:\n${dev.output()}`);
      try {
        const response = await fetch(`${server}/healthz`);
        const body = (await response.json()) as { error?: { code: string } };
        if (response.status === 200) break;
        answers.push({ status: response.status, code: body.error?.code });
      } catch {
        // not listening yet, or between the seeding stand-in and the Worker
      }
      await new Promise((done) => setTimeout(done, 200));
    }

    // The seeding took long enough to be seen, and nothing but `seeding` answered before the 200.
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((a) => a.status === 503 && a.code === 'seeding')).toBe(true);

    // At the first 200 the demo is whole: releases, rollouts and the telemetry the consumer wrote.
    const status = await admin<StatusView>('/v1/admin/apps/demo/status');
    const rollouts = (channel: string) =>
      status.channels
        .find((c) => c.name === channel)
        ?.rollouts.map((r) => `${r.version} ${r.percent_bp} ${r.state}`);
    expect(rollouts('stable')).toEqual(['1.1.0 2500 active', '1.0.0 10000 complete']);
    expect(rollouts('beta')).toEqual(['1.2.0-beta.1 10000 active']);
    const stable = await admin<ChannelHealth>('/v1/admin/apps/demo/health?channel=stable');
    for (const version of ['1.0.0', '1.1.0']) {
      const release = stable.releases.find((r) => r.version === version);
      expect(release?.installs, version).toBeGreaterThan(0);
      expect(release?.sessions?.total, version).toBeGreaterThan(0);
    }
    await waitForOutput('Ctrl-C stops the server.', 60_000);
    expect(dev.output()).toContain('Cron: the scheduled handler runs at the start of every minute');
  }, 360_000);

  it('advances a plan with a one-minute bake by itself: the cron runs every minute', async () => {
    const artifact = join(dir, 'demo-1.4.0-linux-x64.tar.gz');
    await writeFile(artifact, randomBytes(2048));
    const published = await cli(['publish', 'demo', '1.4.0', '--artifact', `linux-x64=${artifact}`]);
    expect(published.code, published.stderr).toBe(0);
    // The README's fast way: a short bake, few installs needed, and a simulated fleet to install it.
    const promoted = await cli([
      'promote',
      'demo',
      '1.4.0',
      '--channel',
      'stable',
      '--plan',
      '10,100',
      '--bake',
      '1m',
      '--min-installs',
      '5',
    ]);
    expect(promoted.code, promoted.stderr).toBe(0);
    const promotedAt = Date.now();
    const simulated = await cli(['simulate', 'demo', '--clients', '200', '--rounds', '1']);
    expect(simulated.code, simulated.stderr).toBe(0);

    const rollout = async () =>
      (await admin<StatusView>('/v1/admin/apps/demo/status')).channels
        .find((c) => c.name === 'stable')
        ?.rollouts.find((r) => r.version === '1.4.0');
    expect(await rollout()).toMatchObject({ percent_bp: 1000, state: 'active', step: 0 });
    // Bake 1 minute, then the next whole minute's run: at most two minutes, with slack for a slow machine.
    const deadline = promotedAt + 180_000;
    let last = await rollout();
    while (last?.state !== 'complete' && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 3_000));
      last = await rollout();
    }
    expect(last, JSON.stringify(last?.judgement)).toMatchObject({ percent_bp: 10_000, state: 'complete' });
    expect(last?.judgement?.at).toBeDefined();
  }, 300_000);

  it('restarts the Worker with the new online key after `updraft keys rotate --role online`', async () => {
    const before = await snapshotKid();
    const rotated = await cli(['keys', 'rotate', '--role', 'online']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain('A local `npm run dev` using this keys folder restarts its Worker');
    const kid = /New online key (\S+);/.exec(rotated.stdout)?.[1];
    expect(kid).toBeDefined();
    expect(kid).not.toBe(before);

    await waitForOutput(`the Worker now signs with online key ${kid}`, 120_000);
    // A change re-signs the channel: its snapshot is now signed with the new key.
    const paused = await cli(['pause', 'demo', '1.1.0', '--channel', 'stable']);
    expect(paused.code, paused.stderr).toBe(0);
    await expect.poll(snapshotKid, { timeout: 15_000, interval: 1_000 }).toBe(kid);
  }, 180_000);

  it('prints, after a restart, example checks that say what the Worker answers now', async () => {
    await dev?.stop();
    const firstRun = dev?.output() ?? '';
    dev = startNpmDev();
    await waitForOutput('Ctrl-C stops the server.', 180_000);
    const output = dev.output();
    // Seeded once: the restart goes straight to the public port.
    expect(firstRun).toContain('seeding the demo app');
    expect(output).not.toContain('seeding the demo app');
    // 1.4.0 completed under the cron: the banner's stable line and every example say so.
    expect(output).toMatch(/stable: 1\.4\.0 100 % complete/);
    const examples = [...output.matchAll(/curl '([^']+\/check\?[^']+)'\s+# (.+)/g)];
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const [, url, claim] of examples) {
      if (url === undefined) continue;
      const answer = (await (await fetch(url)).json()) as CheckResponse;
      const actual = answer.status === 'none' ? 'none' : `${answer.status} to ${answer.version}`;
      expect(claim?.trim(), url).toBe(actual);
    }
    expect(examples.map(([, , claim]) => claim?.trim())).toContain('update to 1.4.0');
  }, 240_000);
});
