/**
 * Soak: 30 s of mixed traffic against the real Worker under `wrangler dev`. A seeded fleet of SDK
 * clients (scripts/lib/fleet.ts) checks, downloads, installs and reports round after round; two
 * admin readers poll what the CLI and the dashboard read (status, health, adoption, clients, errors,
 * the audit log, /healthz); and an operator, in the middle of it, promotes 1.1.0 to 10 % and then
 * 100 %, yanks it back to 1.0.0, promotes the forward fix 1.1.1 to everyone and fires the cron
 * twice. Every loop is bounded and stops by itself.
 *
 * Afterwards: no 5xx (nor a failed connection) anywhere; every event id the intake answered 202 for
 * is in D1 exactly once, read from the dev server's own database with `wrangler d1 execute`, and
 * the hourly rollups count each once; and after a final round every client is on 1.1.1, by its own
 * state and by D1's `clients` table. The seed fixes the client IDs and every draw; what is asserted
 * does not depend on how rounds and admin changes interleave.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appCreate } from '../../scripts/commands/app-create.ts';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { keysRegister } from '../../scripts/commands/keys-register.ts';
import { promote } from '../../scripts/commands/promote.ts';
import { publish } from '../../scripts/commands/publish.ts';
import { yank } from '../../scripts/commands/yank.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { createFleet, type Fleet, type RoundReport } from '../../scripts/lib/fleet.ts';
import { readPinnedRootKeys } from '../../scripts/lib/keys-folder.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { type DevServer, startDevServer, triggerScheduled } from '../e2e/dev-server.ts';
import { newTraffic, recordingFetch } from './traffic.ts';

const APP = 'soak';
const CHANNEL = 'stable';
const SEED = 20261121;
const CLIENTS = 150;
const CONCURRENCY = 32;
const SOAK_MS = 30_000;
/**
 * A round starts at most every 2 s: each client flushes its telemetry once a round, and a faster
 * machine must not push a client past the intake's 60 requests a minute (wrangler.toml).
 */
const MIN_ROUND_MS = 2_000;
/** Safety bounds: the soak stops at SOAK_MS; these only stop a loop that would not. */
const MAX_SOAK_ROUNDS = 60;
const MAX_CONVERGE_ROUNDS = 4;
const MAX_ADMIN_READS = 2_000;
const ADMIN_PAUSE_MS = 150;
const FIX = '1.1.1';

const ROOT = join(import.meta.dirname, '..', '..');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');

let server: DevServer | undefined;
let admin: ApiClient;
let work = '';
let keysDir = '';
let fleet: Fleet;
const rounds: RoundReport[] = [];
let soakRounds = 0;
let soakMs = 0;
let readsDone = 0;
/** What the operator did, and when. */
let changes: string[] = [];

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The Worker's complaints so far (errors, refusals), for failure messages. */
function workerLog(): string {
  const lines = (server?.output() ?? '').split('\n');
  const notable = lines.filter((line) => /error|refus|fail|warn/i.test(line));
  return `wrangler dev said:\n${notable.slice(-30).join('\n')}`;
}

// Every answer the fleet and the admin readers get, and the event ids the intake accepted.
const traffic = newTraffic();
const http = recordingFetch(globalThis.fetch, traffic);

// The dev server's D1, read as an operator would: `wrangler d1 execute DB --local --persist-to`.

function wranglerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' };
  for (const name of Object.keys(env)) if (name.startsWith('UPDRAFT_')) delete env[name];
  return env;
}

const d1Answer = z.array(z.object({ results: z.array(z.record(z.string(), z.unknown())) }));

/** Runs `;`-separated statements in one wrangler call (each starts a local runtime): one result set each. */
async function d1(sql: string): Promise<Record<string, unknown>[][]> {
  // startDevServer keeps the Worker's state in <dir>/state (its --persist-to).
  const persist = join(dev().dir, 'state');
  const { stdout } = await promisify(execFile)(
    WRANGLER,
    ['d1', 'execute', 'DB', '--local', '--persist-to', persist, '--json', '--command', sql],
    { cwd: ROOT, env: wranglerEnv(), maxBuffer: 64 * 1024 * 1024 },
  );
  return d1Answer.parse(JSON.parse(stdout)).map((statement) => statement.results);
}

/** The soak app's event ids, the sum of its hourly rollups, and its clients by version, from D1. */
async function storedTelemetry(): Promise<{ ids: string[]; rolledUp: number; versions: unknown[] }> {
  const [events = [], rollups = [], clients = []] = await d1(
    [
      `SELECT id FROM events WHERE app = '${APP}'`,
      `SELECT coalesce(sum(count), 0) AS n FROM event_rollups_hourly WHERE app = '${APP}'`,
      `SELECT version, count(*) AS n FROM clients WHERE app = '${APP}' GROUP BY version`,
    ].join('; '),
  );
  return {
    ids: events.map((row) => z.object({ id: z.string() }).parse(row).id),
    rolledUp: z.object({ n: z.number() }).parse(rollups[0]).n,
    versions: clients,
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-soak-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  server = await startDevServer({ onlineKey });
  admin = new ApiClient({ server: server.url, token: server.adminToken });
  await keysRegister({ client: admin, keysDir });
  await appCreate({ client: admin, app: APP, defaultChannel: CHANNEL });
  for (const version of ['1.0.0', '1.1.0', FIX]) {
    const path = join(work, `soak-${version}.tar.gz`);
    await writeFile(path, `soak ${version}\n`.repeat(512));
    await publish({
      client: admin,
      keysDir,
      app: APP,
      version,
      artifacts: [{ platform: 'linux', arch: 'x64', path }],
    });
  }
  await promote({ client: admin, app: APP, version: '1.0.0', channel: CHANNEL });
  await untilServing();
  fleet = createFleet({
    server: server.url,
    app: APP,
    channel: CHANNEL,
    clients: CLIENTS,
    seed: SEED,
    rootKeys: await readPinnedRootKeys(keysDir),
    concurrency: CONCURRENCY,
    // 1.1.0 is the bad release (it gets yanked); the fix installs cleanly.
    failureRates: new Map([['1.1.0', 0.1]]),
    rollbackRates: new Map([['1.1.0', 0.05]]),
    reportChecks: true,
    fetch: http,
  });
});

afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Waits (outside the recorded traffic) until /healthz answers 200 and a check is answered from a
 * verified projection. The soak measures a deployment in service: right after the first keys
 * registration the Worker may still hold "no keys document yet" in its few-second state cache.
 */
async function untilServing(): Promise<void> {
  const query = new URLSearchParams({
    client_id: 'soak-probe',
    version: '1.0.0',
    platform: 'linux',
    arch: 'x64',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const health = await fetch(`${dev().url}/healthz`);
    const answer = (await (
      await fetch(`${dev().url}/v1/apps/${APP}/check?${query}`)
    ).json()) as CheckResponse;
    if (health.status === 200 && answer.signed.snapshot !== undefined) return;
    if (Date.now() > deadline)
      throw new Error(`not serving after 30 s: /healthz ${health.status}\n${workerLog()}`);
    await sleep(250);
  }
}

/** The operator's changes, at fixed times into the soak, while the fleet and the readers run. */
const SCHEDULE: { at: number; what: string; run: () => Promise<unknown> }[] = [
  {
    at: 3_000,
    what: 'promote 1.1.0 to 10 %',
    run: () => promote({ client: admin, app: APP, version: '1.1.0', channel: CHANNEL, percentBp: 1000 }),
  },
  {
    at: 9_000,
    what: 'promote 1.1.0 to 100 %',
    run: () => promote({ client: admin, app: APP, version: '1.1.0', channel: CHANNEL, percentBp: 10_000 }),
  },
  { at: 12_000, what: 'cron', run: () => triggerScheduled(dev(), new Date()) },
  {
    at: 16_000,
    what: 'yank 1.1.0 back to 1.0.0',
    run: () => yank({ client: admin, keysDir, app: APP, version: '1.1.0', reason: 'soak: crash on start' }),
  },
  {
    at: 22_000,
    what: `promote the fix ${FIX} to 100 %`,
    run: () => promote({ client: admin, app: APP, version: FIX, channel: CHANNEL }),
  },
  { at: 25_000, what: 'cron', run: () => triggerScheduled(dev(), new Date()) },
];

async function operator(start: number): Promise<string[]> {
  const done: string[] = [];
  for (const step of SCHEDULE) {
    await sleep(Math.max(0, start + step.at - performance.now()));
    await step.run();
    done.push(`${step.what} at ${((performance.now() - start) / 1000).toFixed(1)} s`);
  }
  return done;
}

/** What `updraft status`, `stats`, `watch` and the dashboard read, round-robin, until told to stop. */
async function adminReader(offset: number, stopped: () => boolean): Promise<number> {
  const app = `/v1/admin/apps/${APP}`;
  const from = encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString());
  const paths = [
    `${app}/status`,
    `${app}/health?channel=${CHANNEL}`,
    `${app}/health?channel=${CHANNEL}&version=1.1.0`,
    `${app}/adoption?channel=${CHANNEL}&interval=hour&from=${from}`,
    `${app}/clients?channel=${CHANNEL}`,
    `${app}/errors?channel=${CHANNEL}`,
    `/v1/admin/audit?app=${APP}&limit=20`,
    '/healthz',
  ];
  let reads = 0;
  for (let i = offset; reads < MAX_ADMIN_READS && !stopped(); i++) {
    const response = await http(`${dev().url}${paths[i % paths.length] ?? '/healthz'}`, {
      headers: { authorization: `Bearer ${dev().adminToken}` },
    });
    await response.arrayBuffer();
    reads++;
    await sleep(ADMIN_PAUSE_MS);
  }
  return reads;
}

/** Raw checks until the answer shows the change (the Worker caches channel state for a few seconds). */
async function waitForAnswer(
  version: string,
  want: Pick<CheckResponse, 'status' | 'version'>,
): Promise<void> {
  const query = new URLSearchParams({
    client_id: 'soak-probe',
    version,
    platform: 'linux',
    arch: 'x64',
    channel: CHANNEL,
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = (await (await http(`${dev().url}/v1/apps/${APP}/check?${query}`)).json()) as CheckResponse;
    if (answer.status === want.status && answer.version === want.version) return;
    if (Date.now() > deadline) {
      throw new Error(`check on ${version} still answers ${answer.status} ${answer.version ?? ''}`);
    }
    await sleep(250);
  }
}

describe('soak: 30 s of checks, telemetry and admin traffic through a promote, a yank and a fix', () => {
  it('runs the fleet, the admin readers and the operator together without a 5xx', async () => {
    const start = performance.now();
    let stop = false;
    const readers = [adminReader(0, () => stop), adminReader(4, () => stop)];
    const fleetLoop = async () => {
      while (performance.now() - start < SOAK_MS && rounds.length < MAX_SOAK_ROUNDS) {
        const began = performance.now();
        rounds.push(await fleet.runRound());
        await sleep(Math.min(began + MIN_ROUND_MS, start + SOAK_MS) - performance.now());
      }
    };
    try {
      // The operator's last change is due well before the soak ends; the soak waits for it anyway.
      [changes] = await Promise.all([operator(start), fleetLoop()]);
    } finally {
      stop = true;
      readsDone = (await Promise.all(readers)).reduce((a, b) => a + b, 0);
    }
    soakMs = Math.round(performance.now() - start);
    soakRounds = rounds.length;

    expect(traffic.networkErrors, workerLog()).toEqual([]);
    expect(traffic.serverErrors, workerLog()).toEqual([]);
    // Everything the soak sent was well-formed and within the limits: no 4xx either.
    const unexpected = [...traffic.answers].filter(([key]) => !/ (200|202|206|304)$/.test(key));
    expect(unexpected, workerLog()).toEqual([]);
    expect(readsDone).toBeGreaterThan(20);
    const moved = rounds.reduce((n, r) => n + r.counts.installed + r.counts.rolled_back, 0);
    expect(moved).toBeGreaterThan(0);
  });

  it('every client converges on the fix, and a final round finds them all current', async () => {
    // A client on 1.0.0 and one on the yanked 1.1.0 are both offered the fix.
    await waitForAnswer('1.0.0', { status: 'update', version: FIX });
    await waitForAnswer('1.1.0', { status: 'update', version: FIX });
    const converged = () => fleet.clients.every((c) => c.version === FIX && c.pendingRollback === undefined);
    for (let i = 0; i < MAX_CONVERGE_ROUNDS && !converged(); i++) rounds.push(await fleet.runRound());
    expect(fleet.summary().versions).toEqual({ [FIX]: CLIENTS });

    const final = await fleet.runRound();
    rounds.push(final);
    expect(final.counts.current).toBe(CLIENTS);
    const summary = fleet.summary();
    expect(summary.refusals, workerLog()).toEqual({});
    expect(traffic.serverErrors, workerLog()).toEqual([]);
    expect(traffic.networkErrors, workerLog()).toEqual([]);
    // The intake accepted every event the fleet sent, each once: nothing had to be sent again.
    expect(summary.events).toMatchObject({ rejected: 0, failed_requests: 0 });
    expect(summary.events.accepted).toBe(summary.events.sent);
    expect(traffic.accepted.size).toBe(summary.events.accepted);
    expect(traffic.rejected).toBe(0);
    expect(traffic.acceptedAgain).toBe(0);
  });

  it('every accepted event is in D1 exactly once, and counted once in the rollups', async () => {
    const expected = traffic.accepted.size;
    // The consumer batches for up to 5 s: read until D1 holds as many events as were accepted.
    const deadline = Date.now() + 60_000;
    let stored = await storedTelemetry();
    while (stored.ids.length < expected && Date.now() < deadline) {
      await sleep(1_000);
      stored = await storedTelemetry();
    }
    const inD1 = new Set(stored.ids);
    expect(inD1.size).toBe(stored.ids.length);
    const missing = [...traffic.accepted].filter((id) => !inD1.has(id));
    const unknown = stored.ids.filter((id) => !traffic.accepted.has(id));
    expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
    expect(stored.ids.length).toBe(expected);
    expect(stored.rolledUp).toBe(expected);
    // D1's view of the fleet, from each client's newest event, agrees with the fleet's own.
    expect(stored.versions).toEqual([{ version: FIX, n: CLIENTS }]);

    const summary = fleet.summary();
    console.info(
      [
        `soak: ${CLIENTS} clients, ${soakRounds} rounds in ${(soakMs / 1000).toFixed(1)} s, then ${summary.rounds - soakRounds} to converge and confirm`,
        `operator: ${changes.join('; ')}`,
        `${summary.checks} checks, ${expected} events accepted and each in D1 once, ${readsDone} admin reads`,
        `answers: ${JSON.stringify(Object.fromEntries([...traffic.answers].sort()))}`,
      ].join('\n'),
    );
  });
});
