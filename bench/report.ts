/**
 * Results: the JSON under bench/results/ and the generated table of BENCHMARKS.md (between its
 * markers; the findings written around it by hand are kept). Every figure is judged against the
 * same run's hello-world baseline or its own target, never against a fixed time.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { PeerResults } from './peer-hot-updater.ts';
import { ROOT } from './servers.ts';
import type { ScenarioFigures } from './types.ts';

export interface Machine {
  cpu: string;
  cores: number;
  memory_gib: number;
  node: string;
  workerd: string;
  /** The 1-minute load average when the run started: above ~0.5 other work shared the cores. */
  load_1m_at_start: number;
}

export type HealthKey = `health_query_ms_${string}`;

export type BenchResults = {
  date: string;
  machine: Machine;
  scenarios: Record<string, ScenarioFigures>;
  check_by_releases: Record<string, { rps: number }>;
  /** Each adapter of docs/protocol.md §9: its checks per second and their ratio to the native check's, same round. */
  adapters?: Record<string, { rps: number; of_check: number }>;
  /** The Expo manifest route (expo-updates protocol v1) against the native check, same round. */
  expo_manifest?: { rps: number; of_check: number };
  /** electron-updater's feed with the fewest and the most releases in the channel. */
  electron_by_releases?: Record<string, { rps: number }>;
  telemetry_events_per_s: number;
  /** The busiest release against its baseline (GET …/compare), over the same events as the health figure. */
  compare_query_ms?: number;
  bundle_gzip_bytes: number;
  /** `--peer hot-updater`: its check and Updraft's by bundles in the channel, same rounds. */
  peer?: PeerResults;
} & { [key: HealthKey]: number };

/** Issue 16's targets (its warm check and 1,000 ÷ 1 figures raised the earlier 0.70 and 0.80). */
export const TARGETS = {
  warmCheckOfHello: 0.8,
  thousandReleasesOfOne: 0.9,
  telemetryEventsPerS: 20_000,
  healthQueryMs: 100,
  bundleGzipBytes: 150 * 1024,
  adapterOfCheck: 0.9,
  /** expo-updates' manifest route: it decides twice (first to learn which release the client runs). */
  expoOfCheck: 0.8,
  /** Updraft's check against hot-updater's, by bundles in the channel (issue 16). */
  ofPeer: { '5': 10, '1000': 20 } as Readonly<Record<string, number>>,
} as const;

export async function machine(): Promise<Machine> {
  const workerd = JSON.parse(await readFile(join(ROOT, 'node_modules', 'workerd', 'package.json'), 'utf8'));
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memory_gib: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    workerd: String(workerd.version),
    load_1m_at_start: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** `1m` for 1,000,000 events, `100k` for 100,000: the label of the health figure. */
export function countLabel(count: number): string {
  if (count >= 1_000_000 && count % 1_000_000 === 0) return `${count / 1_000_000}m`;
  if (count >= 1_000 && count % 1_000 === 0) return `${count / 1_000}k`;
  return String(count);
}

/**
 * Writes `<timestamp>.json` and `latest.json` (quick runs: `<timestamp>-quick.json` and
 * `latest-quick.json`, so a quick check never replaces the full run's figures).
 */
export async function writeResults(results: BenchResults, quick: boolean): Promise<string> {
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = results.date.replace(/[:.]/g, '-');
  const suffix = quick ? '-quick' : '';
  const health = healthFigure(results);
  // The documented shape, in its order: the health figure before the bundle size.
  const ordered = {
    date: results.date,
    machine: results.machine,
    scenarios: results.scenarios,
    check_by_releases: results.check_by_releases,
    telemetry_events_per_s: results.telemetry_events_per_s,
    [`health_query_ms_${health.label}`]: health.ms,
    ...(results.compare_query_ms !== undefined && { compare_query_ms: results.compare_query_ms }),
    bundle_gzip_bytes: results.bundle_gzip_bytes,
    ...(results.peer && { peer: results.peer }),
  };
  const text = `${JSON.stringify(ordered, null, 2)}\n`;
  const file = join(dir, `${stamp}${suffix}.json`);
  await writeFile(file, text);
  await writeFile(join(dir, `latest${suffix}.json`), text);
  return file;
}

const num = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (n: number) => n.toFixed(2);
const verdict = (pass: boolean) => (pass ? '**pass**' : '**miss**');
const perf = (s: ScenarioFigures) => `${num(s.rps)} req/s · p50 ${s.p50_ms} ms · p99 ${s.p99_ms} ms`;

/** The healthKey of `results` and its value. */
export function healthFigure(results: BenchResults): { label: string; ms: number } {
  const key = Object.keys(results).find((k): k is HealthKey => k.startsWith('health_query_ms_'));
  if (key === undefined) throw new Error('results carry no health_query_ms_* figure');
  return { label: key.slice('health_query_ms_'.length), ms: results[key] ?? Number.NaN };
}

/** The Markdown table: every figure, its ratio to the same run's baseline, and the targets. */
export function renderTable(results: BenchResults): string {
  const s = results.scenarios;
  const hello = s.hello?.rps ?? Number.NaN;
  const of = (name: string) => (s[name]?.rps ?? Number.NaN) / hello;
  const releases = results.check_by_releases;
  const levels = Object.keys(releases).sort((a, b) => Number(a) - Number(b));
  const top = levels[levels.length - 1] ?? '1';
  const scale = (releases[top]?.rps ?? Number.NaN) / (releases['1']?.rps ?? Number.NaN);
  const health = healthFigure(results);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const scenarioRow = (name: string, label: string, target?: number) => {
    const figures = s[name];
    if (!figures) return row([label, 'not measured', '', '', '']);
    const r = of(name);
    return target === undefined
      ? row([label, perf(figures), `${ratio(r)} × hello`, '', ''])
      : row([
          label,
          perf(figures),
          `${ratio(r)} × hello`,
          `≥ ${ratio(target)} × hello`,
          verdict(r >= target),
        ]);
  };
  return [
    row(['figure', 'measured', 'ratio', 'target', '']),
    row(['---', '---', '---', '---', '---']),
    scenarioRow('hello', 'hello-world Worker (baseline)'),
    scenarioRow('check_warm', 'check, isolate cache warm', TARGETS.warmCheckOfHello),
    scenarioRow('check_cold', 'check, isolate cache off (every request reads KV)'),
    scenarioRow('artifact_1mib', 'artifact download, 1 MiB'),
    scenarioRow('telemetry', 'telemetry POST, 100 events each (1 in 5 a session report)'),
    row([
      'check by releases in the channel',
      Object.entries(releases)
        .map(([n, f]) => `${n}: ${num(f.rps)} req/s`)
        .join(' · '),
      `${top} ÷ 1 = ${ratio(scale)}`,
      `≥ ${ratio(TARGETS.thousandReleasesOfOne)} (1000 ÷ 1)`,
      top === '1000' ? verdict(scale >= TARGETS.thousandReleasesOfOne) : 'not judged (quick run)',
    ]),
    ...Object.entries(results.adapters ?? {}).map(([name, figure]) =>
      row([
        `${name} adapter check (1,000 clients polling)`,
        `${num(figure.rps)} req/s`,
        `${ratio(figure.of_check)} × check`,
        `≥ ${ratio(TARGETS.adapterOfCheck)} × check`,
        verdict(figure.of_check >= TARGETS.adapterOfCheck),
      ]),
    ),
    ...(results.expo_manifest
      ? [
          row([
            'expo manifest (1,000 clients polling)',
            `${num(results.expo_manifest.rps)} req/s`,
            `${ratio(results.expo_manifest.of_check)} × check`,
            `≥ ${ratio(TARGETS.expoOfCheck)} × check`,
            verdict(results.expo_manifest.of_check >= TARGETS.expoOfCheck),
          ]),
        ]
      : []),
    ...adapterScaleRow(results, scale),
    row([
      'telemetry end to end (accepted until stored in D1; 1 in 5 a session report)',
      `${num(results.telemetry_events_per_s)} events/s`,
      '',
      `≥ ${num(TARGETS.telemetryEventsPerS)} events/s`,
      verdict(results.telemetry_events_per_s >= TARGETS.telemetryEventsPerS),
    ]),
    row([
      `release health over ${health.label} events (median)`,
      `${health.ms} ms`,
      '',
      `< ${TARGETS.healthQueryMs} ms${health.label === '1m' ? '' : ' (at 1m)'}`,
      health.label === '1m' ? verdict(health.ms < TARGETS.healthQueryMs) : 'not judged (quick run)',
    ]),
    ...(results.compare_query_ms === undefined
      ? []
      : [
          row([
            `release against its baseline over ${health.label} events (median)`,
            `${results.compare_query_ms} ms`,
            '',
            `< ${TARGETS.healthQueryMs} ms${health.label === '1m' ? '' : ' (at 1m)'}`,
            health.label === '1m'
              ? verdict(results.compare_query_ms < TARGETS.healthQueryMs)
              : 'not judged (quick run)',
          ]),
        ]),
    row([
      'Worker bundle, gzip',
      `${num(results.bundle_gzip_bytes / 1024, 1)} KiB`,
      '',
      `< ${TARGETS.bundleGzipBytes / 1024} KiB`,
      verdict(results.bundle_gzip_bytes < TARGETS.bundleGzipBytes),
    ]),
  ].join('\n');
}

/** electron-updater's feed from the fewest to the most releases, against the check's own ratio. */
function adapterScaleRow(results: BenchResults, checkScale: number): string[] {
  const levels = Object.entries(results.electron_by_releases ?? {}).sort(([a], [b]) => Number(a) - Number(b));
  const first = levels[0];
  const last = levels[levels.length - 1];
  if (!first || !last || first === last) return [];
  const scale = last[1].rps / first[1].rps;
  return [
    `| electron-updater feed by releases in the channel | ${levels.map(([n, f]) => `${n}: ${num(f.rps)} req/s`).join(' · ')} | ${last[0]} ÷ ${first[0]} = ${ratio(scale)} | ≥ the check's ${ratio(checkScale)} − 0.10 | ${verdict(scale >= checkScale - 0.1)} |`,
  ];
}

/**
 * Updraft's check beside the peer's at each level of bundles in the channel, with the ratio of the
 * same round and issue 16's targets (× the peer at 5 and at 1,000 bundles).
 */
export function renderPeerTable(results: BenchResults): string {
  const peer = results.peer;
  if (!peer) return '';
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const levels = Object.entries(peer.levels).sort(([a], [b]) => Number(a) - Number(b));
  const judged = levels.map(([n]) => n);
  const unmeasured = Object.keys(TARGETS.ofPeer).filter((n) => !judged.includes(n));
  return [
    row([
      'bundles in the channel',
      'Updraft check',
      `${peer.name} check`,
      `Updraft ÷ ${peer.name}`,
      'target',
      '',
    ]),
    row(['---', '---', '---', '---', '---', '---']),
    ...levels.map(([n, level]) => {
      const target = TARGETS.ofPeer[n];
      return row([
        num(Number(n)),
        perf(level.updraft),
        perf(level.peer),
        `${ratio(level.ratio)} ×`,
        target === undefined ? '' : `≥ ${target} ×`,
        target === undefined ? '' : verdict(level.ratio >= target),
      ]);
    }),
    ...unmeasured.map((n) =>
      row([num(Number(n)), 'not measured', '', '', `≥ ${TARGETS.ofPeer[n]} ×`, 'not judged (quick run)']),
    ),
  ].join('\n');
}

export function renderMachine(results: BenchResults): string {
  const m = results.machine;
  return [
    `Run of ${results.date} on ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB; Node ${m.node},`,
    `workerd ${m.workerd}; 1-minute load average ${m.load_1m_at_start} at the start.`,
  ].join(' ');
}

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';
const PEER_START = '<!-- bench:peer:start -->';
const PEER_END = '<!-- bench:peer:end -->';

/** `text` with the block between `start` and `end` replaced by `lines`. */
function replaceBlock(text: string, start: string, end: string, lines: string[]): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`BENCHMARKS.md lacks the ${start} … ${end} block`);
  return `${text.slice(0, from)}${[start, ...lines, end].join('\n')}${text.slice(to + end.length)}`;
}

/**
 * BENCHMARKS.md's `text` with its generated block replaced, everything written around it kept; a
 * run with `--peer` also replaces the peer's block, which runs without it leave as it is.
 */
export function renderBenchmarksMd(text: string, results: BenchResults): string {
  const updated = replaceBlock(text, START, END, [renderMachine(results), '', renderTable(results)]);
  if (!results.peer) return updated;
  const { name, package: pkg, version, load_1m_at_start: load } = results.peer;
  return replaceBlock(updated, PEER_START, PEER_END, [
    `${renderMachine(results)} ${name}: \`${pkg}@${version}\` from the npm registry; load average ${load} when its phase started.`,
    '',
    renderPeerTable(results),
  ]);
}

/** Rewrites BENCHMARKS.md's generated blocks (renderBenchmarksMd). */
export async function updateBenchmarksMd(results: BenchResults): Promise<void> {
  const path = join(ROOT, 'BENCHMARKS.md');
  await writeFile(path, renderBenchmarksMd(await readFile(path, 'utf8'), results));
}
