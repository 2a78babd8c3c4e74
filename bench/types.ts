/** What the orchestrator (run.ts) asks of the load process (load.ts), and what it reports back. */

/**
 * The requests of one load run. `get` sends GET `path` (and `headers`) with every `{client}` replaced
 * by the next of `clients` rotating client IDs and every `{n}` by its number (1 to `clients`); `events` POSTs `perRequest` telemetry events of one client each time.
 * The client IDs are the run's own unless `fleet` names them: every run of one fleet polls with the
 * same IDs, as a real fleet does from one poll to the next (run.ts primes a fleet before measuring it).
 */
export type Workload =
  | { kind: 'get'; path: string; clients: number; headers?: Record<string, string>; fleet?: string }
  | { kind: 'events'; app: string; channel: string; version: string; perRequest: number };

export interface LoadSpec {
  /** `http://127.0.0.1:<port>`: loopback only. */
  origin: string;
  workload: Workload;
  connections: number;
  durationS: number;
  /** Seconds of the same load before measuring (0: none). */
  warmupS: number;
}

export interface LoadResult {
  /** Completed requests in the measured window (2xx or not). */
  requests: number;
  rps: number;
  /** Latency of 2xx responses, nearest rank, milliseconds. */
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
  bytes: number;
  /** Epoch milliseconds when the measured window started and ended. */
  started_at: number;
  finished_at: number;
  /** `events` only: events the Worker answered as accepted. */
  accepted?: number;
}

/** One throughput scenario as results JSON stores it. */
export interface ScenarioFigures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
}
