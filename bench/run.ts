/**
 * `npm run bench [-- --quick] [-- --peer hot-updater[@version]]`: builds the Worker, serves it and a
 * hello-world baseline from workerd through Miniflare, drives each scenario from a separate load
 * process, and writes bench/results/*.json and the table of BENCHMARKS.md (BENCHMARKS.md says what
 * each figure means). With `--peer`, the published hot-updater Worker is served beside it and the
 * two checks are compared by bundles in the channel (bench/peer-hot-updater.ts).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildWorker } from './build.ts';
import { EXPO_APP, EXPO_RUNTIME, expectExpoAnswers, expoWorkload } from './expo.ts';
import { adminQueryMs, drainedAt, median, medianRound, rpsOf, runLoad } from './measure.ts';
import { comparePeer, type PeerResults } from './peer-hot-updater.ts';
import {
  type BenchResults,
  countLabel,
  machine,
  renderMachine,
  renderPeerTable,
  renderTable,
  updateBenchmarksMd,
  writeResults,
} from './report.ts';
import {
  addReleases,
  bootstrapKeys,
  complete,
  createApp,
  heldSnapshotSha256,
  promote,
  publishExpoRelease,
  publishRelease,
  tinyArtifact,
} from './seed.ts';
import { seedEvents } from './seed-events.ts';
import {
  freshSecrets,
  restartUpdraft,
  startHello,
  startUpdraft,
  type UpdraftServerOptions,
  workDir,
  wranglerConfig,
} from './servers.ts';
import type { LoadResult, LoadSpec, ScenarioFigures, Workload } from './types.ts';

interface Profile {
  /** Seconds of measured load per scenario, after `warmupS` of the same load. */
  durationS: number;
  warmupS: number;
  /** Seconds of telemetry load: longer, so that the drain after it weighs less in the end-to-end rate. */
  telemetryS: number;
  connections: number;
  releaseLevels: readonly number[];
  healthEvents: number;
  healthRuns: number;
  /**
   * How many times the runs that are compared with each other alternate (the median run counts). Many
   * short rounds rather than a few long ones: the machine's speed moves within seconds, and the
   * median of nine ratios moves less than that of five.
   */
  rounds: number;
  /** Bundles in the channel at which `--peer` compares the checks (issue 16's targets: 5 and 1,000). */
  peerLevels: readonly number[];
}

const FULL: Profile = {
  durationS: 4,
  warmupS: 1,
  telemetryS: 15,
  connections: 10,
  releaseLevels: [1, 10, 100, 1000],
  healthEvents: 1_000_000,
  healthRuns: 15,
  rounds: 9,
  peerLevels: [1, 5, 100, 1000],
};
/** A smoke run in under two minutes: publishing 1,000 releases alone takes longer, so it stops at 100. */
const QUICK: Profile = {
  ...FULL,
  durationS: 3,
  warmupS: 1,
  telemetryS: 5,
  releaseLevels: [1, 10, 100],
  healthEvents: 100_000,
  healthRuns: 5,
  rounds: 1,
  peerLevels: [1, 5, 100],
};

const BENCH_APP = 'bench';
const scaleApp = (releases: number) => `scale-${releases}`;
const HEALTH_APP = 'health';
const HEALTH_VERSIONS = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'] as const;
/** Rotating client IDs per load run: enough that no cache or limiter keyed by client sees repeats. */
const CLIENTS = 100_000;

/** The SHA-256 (hex) of each app's current snapshot, as an SDK holds it after its first check. */
const heldSnapshots = new Map<string, string>();
const holdSnapshot = async (origin: URL, app: string) => {
  heldSnapshots.set(app, await heldSnapshotSha256(origin, app));
};

const checkPath = (app: string, installed: string) => {
  const held = heldSnapshots.get(app);
  return `/v1/apps/${app}/check?client_id={client}&version=${installed}&platform=linux&arch=x64${held ? `&snapshot=${held}` : ''}`;
};

/** The check of a channel of `level` releases by clients on 0.9.0: every release is a candidate. */
const scaleCheck = (level: number): Workload => ({
  kind: 'get',
  path: checkPath(scaleApp(level), '0.9.0'),
  clients: CLIENTS,
});

/**
 * The check of each adapter of docs/protocol.md §9 for a client on `installed`, as that updater sends it: the
 * client id and version where it puts them (docs/clients/).
 */
const adapterWorkloads = (app: string, installed: string) =>
  ({
    electron: {
      kind: 'get',
      path: `/v1/apps/${app}/electron/stable/latest-linux.yml`,
      clients: CLIENTS,
      headers: { 'x-user-staging-id': '{client}', 'x-updraft-version': installed },
    },
    tauri: {
      kind: 'get',
      path: `/v1/apps/${app}/tauri/stable/linux/x86_64/${installed}`,
      clients: CLIENTS,
      headers: { 'x-updraft-client-id': '{client}' },
    },
    sparkle: {
      kind: 'get',
      path: `/v1/apps/${app}/sparkle/stable/appcast.xml?client_id={client}&version=${installed}`,
      clients: CLIENTS,
    },
    squirrel: {
      kind: 'get',
      path: `/v1/apps/${app}/squirrel/stable/darwin-arm64/${installed}?client_id={client}`,
      clients: CLIENTS,
    },
  }) satisfies Record<string, Workload>;

const log = (line: string) => console.log(line);

/**
 * Runs `runs` one after another, in their order in even rounds and in reverse in odd ones, and
 * returns the results in their order: whatever drifts within a round (the machine warming up, the
 * consumer catching up) falls on each side alike.
 */
async function inTurn(round: number, runs: readonly (() => Promise<LoadResult>)[]): Promise<LoadResult[]> {
  const results: LoadResult[] = new Array(runs.length);
  const order = [...runs.keys()];
  if (round % 2 === 1) order.reverse();
  for (const i of order) results[i] = await (runs[i] as () => Promise<LoadResult>)();
  return results;
}

/** `--peer hot-updater`, `--peer=hot-updater@0.35.8`: the version of the peer to fetch, if any. */
function peerVersion(argv: readonly string[]): string | undefined {
  const at = argv.findIndex((arg) => arg === '--peer' || arg.startsWith('--peer='));
  if (at < 0) return undefined;
  const arg = argv[at] ?? '';
  const spec = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[at + 1] ?? '');
  const [name, version] = spec.split('@');
  if (name !== 'hot-updater') throw new Error(`--peer knows only hot-updater, not "${spec}"`);
  return version || 'latest';
}

/** `record` with `keys` first, in that order (the JSON reads in the order the table does). */
const pick = <T>(record: Record<string, T>, keys: readonly string[]) =>
  Object.fromEntries(keys.flatMap((key) => (record[key] === undefined ? [] : [[key, record[key]]])));
const figures = ({ rps, p50_ms, p99_ms }: ScenarioFigures): ScenarioFigures => ({ rps, p50_ms, p99_ms });

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const profile = quick ? QUICK : FULL;
  const peer = peerVersion(process.argv);
  const started = Date.now();
  const date = new Date().toISOString();
  const host = await machine();
  const work = await workDir('updraft-bench-');
  try {
    log(
      `${quick ? 'quick' : 'full'} run${peer ? ` with the hot-updater peer` : ''}; load average ${host.load_1m_at_start}`,
    );
    const bundle = await buildWorker(join(work, 'dist'));
    log(`bundle: ${bundle.bytes} bytes, ${bundle.gzipBytes} gzip`);

    const secrets = freshSecrets();
    const server: UpdraftServerOptions = {
      scriptPath: bundle.scriptPath,
      persistDir: join(work, 'state'),
      secrets,
    };
    const hello = await startHello(wranglerConfig().compatibility_date);
    let updraft = await startUpdraft(server);
    const scenarios: Record<string, ScenarioFigures> = {};
    const load = async (name: string, origin: URL, workload: Workload) => {
      // Telemetry runs cold: a warm-up's events would be counted by the drain too.
      const events = workload.kind === 'events';
      const spec: LoadSpec = {
        origin: origin.origin,
        workload,
        connections: profile.connections,
        durationS: events ? profile.telemetryS : profile.durationS,
        warmupS: events ? 0 : profile.warmupS,
      };
      const result = await runLoad(spec);
      log(`${name}: ${result.rps} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms`);
      return result;
    };

    // The app every client scenario uses: 1.0.0 (with the 1 MiB artifact) everywhere, and 1.1.0
    // staged to half the clients, so each check hashes the client into its bucket.
    const publisher = await bootstrapKeys(updraft.url.origin, secrets.adminToken, secrets.onlineKey);
    await createApp(publisher, BENCH_APP);
    const mib = { file: `${BENCH_APP}-1.0.0.tar.gz`, bytes: new Uint8Array(randomBytes(1024 * 1024)) };
    await publishRelease(publisher, BENCH_APP, '1.0.0', mib);
    await promote(publisher, BENCH_APP, '1.0.0', 10_000);
    const staged = { file: `${BENCH_APP}-1.1.0.tar.gz`, bytes: new Uint8Array(randomBytes(4096)) };
    await publishRelease(publisher, BENCH_APP, '1.1.0', staged);
    await promote(publisher, BENCH_APP, '1.1.0', 5_000);
    // The same shape as Expo releases (unsigned manifests: the Worker serves a stored signature as it
    // is, so signing would not change its work per request).
    await createApp(publisher, EXPO_APP);
    const expoOrigin = updraft.url.origin;
    const expoCurrent = await publishExpoRelease(publisher, expoOrigin, EXPO_APP, '1.0.0', EXPO_RUNTIME);
    await promote(publisher, EXPO_APP, '1.0.0', 10_000);
    await publishExpoRelease(publisher, expoOrigin, EXPO_APP, '1.1.0', EXPO_RUNTIME);
    await promote(publisher, EXPO_APP, '1.1.0', 5_000);
    await expectExpoAnswers(updraft.url.origin, expoWorkload(EXPO_APP, expoCurrent, 1));

    // The baseline and the warm check drift with whatever else the machine does: measure them back to
    // back, `rounds` times, and keep the round with the median ratio.
    await holdSnapshot(updraft.url, BENCH_APP);
    const check: Workload = { kind: 'get', path: checkPath(BENCH_APP, '1.0.0'), clients: CLIENTS };
    const pairs: LoadResult[][] = [];
    for (let round = 0; round < profile.rounds; round++) {
      pairs.push(
        await inTurn(round, [
          () => load('hello', hello.url, { kind: 'get', path: '/?client_id={client}', clients: CLIENTS }),
          () => load('check_warm', updraft.url, check),
        ]),
      );
    }
    const [helloRun, warmRun] = medianRound(pairs, ([base, warm]) => rpsOf(warm) / rpsOf(base));
    if (!helloRun || !warmRun) throw new Error('no hello or check_warm run');
    scenarios.hello = figures(helloRun);
    scenarios.check_warm = figures(warmRun);
    // Each adapter of docs/protocol.md §9 against the native check, in rounds of back-to-back runs: the same
    // app, decision and clients (1,000 rotating ids polling again and again, as a fleet does: only a
    // client's first check of a version in 12 hours queues an observed event).
    const adapterRounds: LoadResult[][] = [];
    // One fleet, the same 1,000 client ids in the priming pass and in every measured run.
    const fleet = { clients: 1_000, fleet: 'adapters' };
    // A priming pass: the fleet's first checks queue their observed events, which the consumer then
    // writes to D1 on the same workerd thread. Measured runs start once that is done, so they see
    // the steady state of a fleet that polls again and again, and no run pays for another's events.
    for (const [name, workload] of Object.entries(adapterWorkloads(BENCH_APP, '1.0.0'))) {
      await load(`priming ${name}`, updraft.url, { ...workload, ...fleet });
    }
    const expo = { ...expoWorkload(EXPO_APP, expoCurrent, fleet.clients), fleet: fleet.fleet };
    await load('priming expo', updraft.url, expo);
    await new Promise((settle) => setTimeout(settle, 5_000));
    for (let round = 0; round < profile.rounds; round++) {
      adapterRounds.push(
        await inTurn(round, [
          () => load('check (fleet)', updraft.url, { ...check, ...fleet }),
          ...Object.entries(adapterWorkloads(BENCH_APP, '1.0.0')).map(
            ([name, workload]) =>
              () =>
                load(`adapter ${name}`, updraft.url, { ...workload, ...fleet }),
          ),
          () => load('expo manifest', updraft.url, expo),
        ]),
      );
    }
    const adapterRatios: Record<string, { rps: number; of_check: number }> = {};
    Object.keys(adapterWorkloads(BENCH_APP, '1.0.0')).forEach((name, i) => {
      const ratioOf = (runs: LoadResult[]) => rpsOf(runs[i + 1]) / rpsOf(runs[0]);
      const round = medianRound(adapterRounds, ratioOf);
      adapterRatios[name] = { rps: rpsOf(round[i + 1]), of_check: Math.round(ratioOf(round) * 100) / 100 };
    });
    // The Expo manifest route last in each round, judged the same way on its own median round.
    const expoRatioOf = (runs: LoadResult[]) => rpsOf(runs[runs.length - 1]) / rpsOf(runs[0]);
    const expoRound = medianRound(adapterRounds, expoRatioOf);
    const expoManifest = {
      rps: rpsOf(expoRound[expoRound.length - 1]),
      of_check: Math.round(expoRatioOf(expoRound) * 100) / 100,
    };
    const artifact = `/v1/apps/${BENCH_APP}/artifacts/1.0.0/linux-x64/${mib.file}`;
    scenarios.artifact_1mib = figures(
      await load('artifact_1mib', updraft.url, { kind: 'get', path: artifact, clients: 1 }),
    );

    // The same check against 1, 10, 100 and 1,000 releases, each level a channel of its own (clients
    // on 0.9.0: every release is a candidate). The levels are measured in turn, `rounds` times, and
    // the round with the median ratio of the largest level to one release counts.
    for (const level of profile.releaseLevels) {
      const seeding = Date.now();
      await createApp(publisher, scaleApp(level));
      await addReleases(publisher, scaleApp(level), 0, level);
      await holdSnapshot(updraft.url, scaleApp(level));
      log(`${level} releases seeded in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
    }
    // electron-updater's feed at the smallest and the largest level, in the same rounds: an adapter
    // must not grow with releases beyond what the native check shows.
    const edges = [
      profile.releaseLevels[0] ?? 1,
      profile.releaseLevels[profile.releaseLevels.length - 1] ?? 1,
    ];
    const levelRounds: LoadResult[][] = [];
    const electronRounds: LoadResult[][] = [];
    for (let round = 0; round < profile.rounds; round++) {
      levelRounds.push(
        await inTurn(
          round,
          profile.releaseLevels.map(
            (level) => () => load(`check with ${level} releases`, updraft.url, scaleCheck(level)),
          ),
        ),
      );
      electronRounds.push(
        await inTurn(
          round,
          edges.map((level) => () => {
            const workload = { ...adapterWorkloads(scaleApp(level), '0.9.0').electron, clients: 1_000 };
            return load(`electron with ${level} releases`, updraft.url, workload);
          }),
        ),
      );
    }
    const levels = medianRound(levelRounds, (runs) => rpsOf(runs[runs.length - 1]) / rpsOf(runs[0]));
    const checkByReleases: Record<string, { rps: number }> = {};
    profile.releaseLevels.forEach((level, i) => {
      checkByReleases[String(level)] = { rps: rpsOf(levels[i]) };
    });
    const electronLevels = medianRound(electronRounds, (runs) => rpsOf(runs[1]) / rpsOf(runs[0]));
    const electronByReleases: Record<string, { rps: number }> = {};
    edges.forEach((level, i) => {
      electronByReleases[String(level)] = { rps: rpsOf(electronLevels[i]) };
    });

    // With --peer: the published hot-updater Worker's check against Updraft's, level by level.
    let peerResults: PeerResults | undefined;
    if (peer !== undefined) {
      for (const level of profile.peerLevels.filter((n) => !profile.releaseLevels.includes(n))) {
        await createApp(publisher, scaleApp(level));
        await addReleases(publisher, scaleApp(level), 0, level);
        await holdSnapshot(updraft.url, scaleApp(level));
      }
      peerResults = await comparePeer({
        version: peer,
        work,
        levels: profile.peerLevels,
        rounds: profile.rounds,
        updraft,
        updraftCheck: scaleCheck,
        load,
        log,
      });
    }

    // Release health over a week of seeded events, and the busiest release against its baseline:
    // every release but the last complete, the last staged, so the one below it is the baseline.
    await createApp(publisher, HEALTH_APP);
    for (const [i, version] of HEALTH_VERSIONS.entries()) {
      await publishRelease(publisher, HEALTH_APP, version, tinyArtifact(HEALTH_APP, version));
      const last = i === HEALTH_VERSIONS.length - 1;
      await promote(publisher, HEALTH_APP, version, last ? 1_000 : 10_000);
      if (!last) await complete(publisher, HEALTH_APP, version);
    }
    const seeding = Date.now();
    const db = await updraft.mf.getD1Database('DB');
    await seedEvents(db, {
      app: HEALTH_APP,
      channel: 'stable',
      events: profile.healthEvents,
      versions: HEALTH_VERSIONS,
      now: Date.now(),
    });
    log(`${profile.healthEvents} events seeded in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
    const busiest = { app: HEALTH_APP, version: HEALTH_VERSIONS[HEALTH_VERSIONS.length - 1] ?? '' };
    const timeQuery = async (query: 'health' | 'compare') => {
      const { timings, answer } = await adminQueryMs(updraft.url.origin, secrets.adminToken, {
        ...busiest,
        query,
        runs: profile.healthRuns,
      });
      const ms = Math.round(median(timings) * 10) / 10;
      log(`${query}: median ${ms} ms of ${timings.map((run) => run.toFixed(0)).join(', ')}`);
      return { ms, answer };
    };
    const { ms: healthMs, answer: health } = await timeQuery('health');
    const { ms: compareMs, answer: comparison } = await timeQuery('compare');
    // The figures are only worth reporting if the queries found what was seeded.
    const seenSessions = (health as { sessions?: { total?: number } }).sessions?.total ?? 0;
    const baseline = (comparison as { baseline_version?: string | null }).baseline_version;
    if (seenSessions === 0 || baseline !== HEALTH_VERSIONS[HEALTH_VERSIONS.length - 2]) {
      throw new Error(`health saw ${seenSessions} sessions and compared with baseline ${baseline}`);
    }

    // Telemetry: POSTs of 100 events, then the time until every accepted event is in D1.
    const telemetry = await load('telemetry', updraft.url, {
      kind: 'events',
      app: BENCH_APP,
      channel: 'stable',
      version: '1.1.0',
      perRequest: 100,
    });
    scenarios.telemetry = figures(telemetry);
    const accepted = telemetry.accepted ?? 0;
    const stored = await drainedAt(updraft.mf, BENCH_APP, accepted, 180_000);
    const eventsPerS = Math.round(accepted / ((stored - telemetry.started_at) / 1000));
    log(
      `telemetry end to end: ${accepted} events in ${((stored - telemetry.started_at) / 1000).toFixed(1)} s`,
    );

    // The same check with the isolate cache off: every request reads and parses KV.
    updraft = await restartUpdraft(updraft, { ...server, vars: { STATE_CACHE_TTL_MS: '0' } });
    scenarios.check_cold = figures(await load('check_cold', updraft.url, check));

    await hello.mf.dispose();
    await updraft.mf.dispose();

    const results: BenchResults = {
      date,
      machine: host,
      scenarios: {
        ...pick(scenarios, ['hello', 'check_warm', 'check_cold', 'artifact_1mib', 'telemetry']),
        ...scenarios,
      },
      check_by_releases: checkByReleases,
      adapters: adapterRatios,
      expo_manifest: expoManifest,
      electron_by_releases: electronByReleases,
      telemetry_events_per_s: eventsPerS,
      bundle_gzip_bytes: bundle.gzipBytes,
      ...(peerResults && { peer: peerResults }),
    };
    // 1m in a full run, 100k in a quick one: the label says how many events were queried.
    results[`health_query_ms_${countLabel(profile.healthEvents)}`] = healthMs;
    results.compare_query_ms = compareMs;
    const file = await writeResults(results, quick);
    if (!quick) await updateBenchmarksMd(results);
    log(`\n${renderMachine(results)}\n\n${renderTable(results)}\n`);
    if (results.peer) log(`${renderPeerTable(results)}\n`);
    log(`wrote ${file}${quick ? '' : ', bench/results/latest.json and BENCHMARKS.md'}`);
    log(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
