/**
 * `node bench/profile.ts <check|scale|telemetry|expo|electron|sparkle> [isolates] [seconds]`: a CPU profile of workerd while
 * one benchmark load runs, taken through its V8 inspector (Chrome DevTools protocol). `isolates` is one
 * workerd isolate name or several joined by commas (default `core:user:`, the Worker; `d1:db`,
 * `queues:queue`… are Miniflare's; `all` takes every one, `none` profiles nothing). Writes
 * bench/results/<scenario>[.<isolate>].cpuprofile (open it in Chrome DevTools) and prints each
 * isolate's busy time and the functions with the most self time. For `telemetry` the profiles run
 * until D1 holds every accepted event, so the consumer's and SQLite's work is in them, and the times
 * are also given per event, with the Worker's split by the functions on the stack (intake, consumer),
 * beside the CPU time workerd's process spent (/proc): the one figure that no sampling inflates.
 * BENCHMARKS.md says what these profiles showed.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../scripts/lib/net.ts';
import { buildWorker } from './build.ts';
import { EXPO_APP, EXPO_RUNTIME, expectExpoAnswers, expoWorkload } from './expo.ts';
import { drainedAt, runLoad } from './measure.ts';
import {
  addReleases,
  bootstrapKeys,
  createApp,
  heldSnapshotSha256,
  promote,
  publishExpoRelease,
  publishRelease,
  tinyArtifact,
} from './seed.ts';
import { freshSecrets, ROOT, startUpdraft, workDir } from './servers.ts';
import type { Workload } from './types.ts';

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

const WORKLOADS: Record<string, Workload> = {
  check: {
    kind: 'get',
    path: '/v1/apps/bench/check?client_id={client}&version=1.0.0&platform=linux&arch=x64',
    clients: 100_000,
  },
  scale: {
    kind: 'get',
    path: '/v1/apps/scale/check?client_id={client}&version=0.9.0&platform=linux&arch=x64',
    clients: 100_000,
  },
  telemetry: { kind: 'events', app: 'bench', channel: 'stable', version: '1.1.0', perRequest: 100 },
  // run.ts's electron-updater feed: a fleet of 1,000 polling again and again (primed below).
  electron: {
    kind: 'get',
    path: '/v1/apps/bench/electron/stable/latest-linux.yml',
    clients: 1_000,
    fleet: 'profile',
    headers: { 'x-user-staging-id': '{client}', 'x-updraft-version': '1.0.0' },
  },
  // run.ts's Sparkle appcast, the same way.
  sparkle: {
    kind: 'get',
    path: '/v1/apps/bench/sparkle/stable/appcast.xml?client_id={client}&version=1.0.0',
    clients: 1_000,
    fleet: 'profile',
  },
};

/** A function of the bundle by its source name (esbuild may add a digit to keep names apart). */
const named =
  (...names: string[]) =>
  (name: string) =>
    names.some((n) => name === n || (name.startsWith(n) && /^\d+$/.test(name.slice(n.length))));

/**
 * What the Worker does for telemetry, by the functions of src/worker/routes/events.ts and
 * src/worker/telemetry/queue.ts on the stack (the nearest wins: `judge` inside the intake handler is `validate`).
 */
const WORKER_PARTS: [string, (name: string) => boolean][] = [
  ['intake: read body, JSON.parse, envelope', named('readBody', 'parseEnvelope')],
  ['intake: validate events (zod), ids', named('judge')],
  ['intake: app lookup (KV, cached)', named('loadApp')],
  ['intake: rate limiter', named('limitedClients')],
  ['consumer: decode, validate again', named('parseMessage')],
  ['consumer: rows (toRow)', named('toRow')],
  ['consumer: storeEvents (JSON, D1 calls)', named('storeEvents')],
  ['consumer: the rest', named('consumeEvents', 'byDatabase')],
  ['(idle)', named('(idle)')],
  ['(garbage collector)', named('(garbage collector)')],
  ['(program)', named('(program)')],
];

/**
 * CPU time, milliseconds, of the workerd processes this one started (Linux /proc; utime + stime of
 * every thread): what the Worker, the broker, D1 and its SQLite cost together, whoever is sampled.
 */
async function workerdCpuMs(): Promise<number> {
  let ticks = 0;
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid … utime(14) stime(15): fields counted after the closing parenthesis.
    const [, comm = '', rest = ''] = /^\d+ \((.*)\) (.*)$/s.exec(stat) ?? [];
    const fields = rest.split(' ');
    if (comm === 'workerd' && Number(fields[1]) === process.pid) {
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** A minimal Chrome DevTools protocol session over the inspector's WebSocket. */
async function inspect(url: string) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', reject);
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      id += 1;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}

/** Time that is not the isolate waiting: everything but `(idle)`, milliseconds. */
function busyMs(profile: CpuProfile): number {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  return (
    profile.samples.reduce(
      (sum, sample, i) => sum + (idle.has(sample) ? 0 : (profile.timeDeltas[i] ?? 0)),
      0,
    ) / 1000
  );
}

/**
 * Time by the nearest of `parts` on each sample's stack (the sample's own function, else its caller's
 * and so on): the Worker's time split by what it was doing. Milliseconds; `other` matched none.
 */
function splitMs(profile: CpuProfile, parts: [string, (name: string) => boolean][]): Map<string, number> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const part = new Map<number, string>();
  const partOf = (id: number): string => {
    let found = part.get(id);
    if (found !== undefined) return found;
    const name = byId.get(id)?.callFrame.functionName ?? '';
    const up = parent.get(id);
    found = parts.find(([, match]) => match(name))?.[0] ?? (up === undefined ? 'other' : partOf(up));
    part.set(id, found);
    return found;
  };
  const spent = new Map<string, number>();
  profile.samples.forEach((sample, i) => {
    const key = partOf(sample);
    spent.set(key, (spent.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return spent;
}

function topSelf(profile: CpuProfile, count: number): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  profile.samples.forEach((sample, i) => {
    const frame = byId.get(sample)?.callFrame;
    if (!frame) return;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop() ?? ''}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((sum, t) => sum + t, 0);
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, t]) => `${((100 * t) / total).toFixed(1).padStart(5)} %  ${key}`);
}

async function main(): Promise<void> {
  const [scenario = 'check', isolates = 'core:user:', seconds = '5'] = process.argv.slice(2);
  let workload = WORKLOADS[scenario];
  if (!workload && scenario !== 'expo')
    throw new Error(`scenario is one of ${[...Object.keys(WORKLOADS), 'expo'].join(', ')}`);
  const work = await workDir('updraft-profile-');
  try {
    const bundle = await buildWorker(join(work, 'dist'), { readable: true });
    const secrets = freshSecrets();
    const inspectorPort = await freePort();
    const { mf, url } = await startUpdraft({
      scriptPath: bundle.scriptPath,
      persistDir: join(work, 'state'),
      secrets,
      inspectorPort,
    });
    const publisher = await bootstrapKeys(url.origin, secrets.adminToken, secrets.onlineKey);
    await createApp(publisher, 'bench');
    for (const [version, percent] of [
      ['1.0.0', 10_000],
      ['1.1.0', 5_000],
    ] as const) {
      await publishRelease(publisher, 'bench', version, tinyArtifact('bench', version));
      await promote(publisher, 'bench', version, percent);
    }
    if (scenario === 'scale') {
      await createApp(publisher, 'scale');
      await addReleases(publisher, 'scale', 0, 1000);
    }
    if (scenario === 'expo') {
      // run.ts's Expo app and fleet of 1,000, primed as there: its first checks queue observed
      // events, which the consumer writes before the profile starts.
      await createApp(publisher, EXPO_APP);
      const current = await publishExpoRelease(publisher, url.origin, EXPO_APP, '1.0.0', EXPO_RUNTIME);
      await promote(publisher, EXPO_APP, '1.0.0', 10_000);
      await publishExpoRelease(publisher, url.origin, EXPO_APP, '1.1.0', EXPO_RUNTIME);
      await promote(publisher, EXPO_APP, '1.1.0', 5_000);
      workload = { ...expoWorkload(EXPO_APP, current, 1_000), fleet: 'profile' };
      await expectExpoAnswers(url.origin, workload);
      await runLoad({ origin: url.origin, workload, connections: 10, durationS: 3, warmupS: 0 });
      await new Promise((settle) => setTimeout(settle, 5_000));
    }
    if (!workload) throw new Error(`no workload ${scenario}`);
    if (scenario === 'electron' || scenario === 'sparkle') {
      // As run.ts primes its adapters: the fleet's first checks queue their observed events first.
      await runLoad({ origin: url.origin, workload, connections: 10, durationS: 3, warmupS: 0 });
      await new Promise((settle) => setTimeout(settle, 5_000));
    }
    // The checks hold the current snapshot, as in `npm run bench` (run.ts): answered without it.
    if (scenario === 'check' || scenario === 'scale') {
      const held = await heldSnapshotSha256(url, scenario === 'check' ? 'bench' : 'scale');
      if (workload.kind === 'get') workload = { ...workload, path: `${workload.path}&snapshot=${held}` };
    }

    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
      title: string;
      webSocketDebuggerUrl: string;
    }[];
    const wanted =
      isolates === 'none'
        ? []
        : isolates === 'all'
          ? targets
          : isolates.split(',').map((name) => {
              const target = targets.find((t) => t.title.endsWith(name));
              if (!target) throw new Error(`no isolate ${name}: ${targets.map((t) => t.title).join(', ')}`);
              return target;
            });
    const sessions = await Promise.all(
      wanted.map(async (target) => ({ target, session: await inspect(target.webSocketDebuggerUrl) })),
    );
    for (const { session } of sessions) {
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 200 });
    }
    const cpuBefore = await workerdCpuMs();
    const started = performance.now();
    await Promise.all(sessions.map(({ session }) => session.send('Profiler.start')));
    const result = await runLoad({
      origin: url.origin,
      workload,
      connections: 10,
      durationS: Number(seconds),
      warmupS: 0,
    });
    // Telemetry: on until D1 holds every accepted event, so that the consumer's work is all in.
    const events = workload.kind === 'events' ? (result.accepted ?? 0) : 0;
    if (events > 0) await drainedAt(mf, workload.kind === 'events' ? workload.app : '', events, 180_000);
    const wallMs = performance.now() - started;
    const cpuMs = (await workerdCpuMs()) - cpuBefore;
    const profiles = await Promise.all(
      sessions.map(async ({ target, session }) => {
        const { profile } = (await session.send('Profiler.stop')) as { profile: CpuProfile };
        session.close();
        return { target, profile };
      }),
    );
    await mf.dispose();

    const dir = join(ROOT, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    const perEvent = (ms: number) =>
      events > 0 ? ` = ${((ms * 1000) / events).toFixed(1)} µs per event` : '';
    console.log(
      `${scenario}: ${result.rps} req/s${events > 0 ? `, ${events} events accepted` : ''}; ` +
        `${wallMs.toFixed(0)} ms from the first request${events > 0 ? ' until D1 held them all' : ''}` +
        perEvent(wallMs),
    );
    console.log(`workerd: ${cpuMs} ms of CPU in that time${perEvent(cpuMs)}`);
    for (const { target, profile } of profiles) {
      const suffix = profiles.length > 1 ? `.${target.title.replace(/[^A-Za-z0-9_-]+/g, '_')}` : '';
      const file = join(dir, `${scenario}${suffix}.cpuprofile`);
      await writeFile(file, JSON.stringify(profile));
      const busy = busyMs(profile);
      console.log(`\n${target.title}: busy ${busy.toFixed(0)} ms${perEvent(busy)}; wrote ${file}`);
      if (events > 0 && target.title.endsWith('core:user:')) {
        for (const [part, ms] of [...splitMs(profile, WORKER_PARTS)].sort((a, b) => b[1] - a[1])) {
          console.log(`  ${part.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms${perEvent(ms)}`);
        }
      }
      console.log(topSelf(profile, 25).join('\n'));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
