/**
 * The load generator, run by run.ts as a separate Node process so that it never shares an event
 * loop with Miniflare: `node bench/load.ts '<LoadSpec JSON>'` drives autocannon against loopback and
 * prints one LoadResult as JSON on stdout (progress and errors go to stderr).
 */
import { randomUUID } from 'node:crypto';
import autocannon, { type RequestSpec } from 'autocannon';
import { HOUR_MS, sessionHour, type TelemetryEventInput } from '../src/protocol/telemetry.ts';
import type { LoadResult, LoadSpec, Workload } from './types.ts';

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? 0;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** A per-process prefix keeps client IDs of one run apart from those of another. */
const RUN = randomUUID().slice(0, 8);

function getRequests(workload: Extract<Workload, { kind: 'get' }>): RequestSpec[] {
  let next = 0;
  // `{n}` only where a workload uses it, so the other workloads' requests are built as before.
  const numbered = [workload.path, ...Object.values(workload.headers ?? {})].some((v) => v.includes('{n}'));
  return [
    {
      method: 'GET',
      setupRequest: (request) => {
        next = (next + 1) % workload.clients;
        const client = `bench-${workload.fleet ?? RUN}-${next}`;
        const n = String(next + 1);
        const fill = (value: string) => {
          const filled = value.replaceAll('{client}', client);
          return numbered ? filled.replaceAll('{n}', n) : filled;
        };
        const headers = Object.fromEntries(
          Object.entries(workload.headers ?? {}).map(([name, value]) => [name, fill(value)]),
        );
        return { ...request, path: fill(workload.path), headers };
      },
    },
  ];
}

/**
 * One client's batch per request, as the SDK flushes it: checks, downloads and installs moving it
 * from the previous version to `version`, and one event in five a session report (docs/protocol.md §5) of one
 * of the client's past hours on `version`, one report per hour as the SDK sends them. Every event
 * gets a fresh UUID and every request a fresh client, so nothing is a duplicate and the per-client
 * rate limit never refuses anything.
 */
function eventsBody(workload: Extract<Workload, { kind: 'events' }>, client: string): string {
  const now = Date.now();
  const events: TelemetryEventInput[] = [];
  for (let i = 0; i < workload.perRequest; i++) {
    const base = {
      id: randomUUID(),
      client_id: client,
      channel: workload.channel,
      platform: 'linux' as const,
      arch: 'x64' as const,
      os_version: '6.8',
      occurred_at: new Date(now - (workload.perRequest - i) * 1000).toISOString(),
    };
    const step = i % 5;
    if (step === 4) {
      const hoursAgo = 1 + Math.floor(i / 5);
      events.push({
        ...base,
        type: 'session',
        from_version: workload.version,
        occurred_at: sessionHour(now - hoursAgo * HOUR_MS),
        sessions: {
          ok: 3 + (i % 4),
          errored: i % 3 === 0 ? 1 : 0,
          crashed: i % 25 === 4 ? 1 : 0,
          abnormal: 0,
        },
      });
    } else if (step === 0) events.push({ ...base, type: 'check', from_version: '0.9.0' });
    else if (step === 1) events.push({ ...base, type: 'download_started', to_version: workload.version });
    else if (step === 2) events.push({ ...base, type: 'download_succeeded', to_version: workload.version });
    else
      events.push({
        ...base,
        type: 'install_succeeded',
        from_version: '0.9.0',
        to_version: workload.version,
        duration_ms: 1000 + (i % 97) * 13,
      });
  }
  return JSON.stringify({ events });
}

function eventRequests(
  workload: Extract<Workload, { kind: 'events' }>,
  tally: { accepted: number },
): RequestSpec[] {
  let next = 0;
  return [
    {
      method: 'POST',
      path: `/v1/apps/${workload.app}/events`,
      headers: { 'Content-Type': 'application/json' },
      setupRequest: (request) => {
        next += 1;
        return { ...request, body: eventsBody(workload, `bench-${RUN}-${next}`) };
      },
      onResponse: (status, body) => {
        if (status !== 202) return;
        const answer: unknown = JSON.parse(body);
        if (typeof answer === 'object' && answer !== null && 'accepted' in answer) {
          tally.accepted += Number(answer.accepted);
        }
      },
    },
  ];
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const tally = { accepted: 0 };
  const requests =
    spec.workload.kind === 'get' ? getRequests(spec.workload) : eventRequests(spec.workload, tally);
  const latencies: number[] = [];
  let startedAt = Date.now();
  const instance = autocannon({
    url: spec.origin,
    connections: spec.connections,
    duration: spec.durationS,
    timeout: 30,
    requests,
    ...(spec.warmupS > 0 && { warmup: { connections: spec.connections, duration: spec.warmupS } }),
  });
  // With a warmup, these events come from the measured run only (the warmup has its own emitter).
  instance.on('start', () => {
    startedAt = Date.now();
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  const finishedAt = Date.now();
  latencies.sort((a, b) => a - b);
  const seconds = (finishedAt - startedAt) / 1000;
  return {
    requests: result.requests.total,
    rps: round(result.requests.total / seconds, 1),
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    non2xx: result.non2xx,
    errors: result.errors,
    bytes: result.throughput.total,
    started_at: startedAt,
    finished_at: finishedAt,
    ...(spec.workload.kind === 'events' && { accepted: tally.accepted }),
  };
}

const specArg = process.argv[2];
if (specArg !== undefined) {
  const spec = JSON.parse(specArg) as LoadSpec;
  process.stdout.write(`${JSON.stringify(await runLoad(spec))}\n`);
}
