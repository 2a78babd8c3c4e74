/**
 * `node bench/profile.ts <check|scale|telemetry|expo> [isolate] [seconds]`: a CPU profile of workerd while
 * one benchmark load runs, taken through its V8 inspector (Chrome DevTools protocol). `isolate` is a
 * workerd isolate name (default `core:user:`, the Worker; `d1:db`, `queues:queue`… are Miniflare's).
 * Writes bench/results/<scenario>.cpuprofile (open it in Chrome DevTools) and prints the functions
 * with the most self time. BENCHMARKS.md says what these profiles showed.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../scripts/lib/net.ts';
import { buildWorker } from './build.ts';
import { EXPO_APP, EXPO_RUNTIME, expectExpoAnswers, expoWorkload } from './expo.ts';
import { runLoad } from './measure.ts';
import {
  addReleases,
  bootstrapKeys,
  createApp,
  promote,
  publishExpoRelease,
  publishRelease,
  tinyArtifact,
} from './seed.ts';
import { freshSecrets, ROOT, startUpdraft, workDir } from './servers.ts';
import type { Workload } from './types.ts';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
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
};

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
  const [scenario = 'check', isolate = 'core:user:', seconds = '5'] = process.argv.slice(2);
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
      workload = expoWorkload(EXPO_APP, current, 1_000);
      await expectExpoAnswers(url.origin, workload);
      await runLoad({ origin: url.origin, workload, connections: 10, durationS: 3, warmupS: 0 });
      await new Promise((settle) => setTimeout(settle, 5_000));
    }
    if (!workload) throw new Error(`no workload ${scenario}`);

    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
      title: string;
      webSocketDebuggerUrl: string;
    }[];
    const target = targets.find((t) => t.title.endsWith(isolate));
    if (!target) throw new Error(`no isolate ${isolate}: ${targets.map((t) => t.title).join(', ')}`);
    const session = await inspect(target.webSocketDebuggerUrl);
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: 200 });
    await session.send('Profiler.start');
    const result = await runLoad({
      origin: url.origin,
      workload,
      connections: 10,
      durationS: Number(seconds),
      warmupS: 0,
    });
    const { profile } = (await session.send('Profiler.stop')) as { profile: CpuProfile };
    session.close();
    await mf.dispose();

    const dir = join(ROOT, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${scenario}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    console.log(`${scenario}: ${result.rps} req/s while profiling ${target.title}; wrote ${file}`);
    console.log(topSelf(profile, 25).join('\n'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
