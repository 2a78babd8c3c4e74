/** Shapes of the admin API's answers (docs/api.md), as the CLI and the dashboard read them. Types only. */
import type { Artifact, RolloutState } from './documents.ts';
import type { Plan, RolloutJudgement } from './plan.ts';
import type { Role } from './roles.ts';
import type { Rate, RateDifference } from './wilson.ts';

export interface AppView {
  name: string;
  default_channel: string;
  revision: number;
  created_at: string;
  channels: { name: string; public: boolean; revision: number }[];
  rules: unknown[];
  /**
   * The D1 binding holding the app's telemetry: `DB` or a `TELEMETRY_*` one (docs/protocol.md §11). Always
   * sent by this Worker; optional for clients of servers that predate it.
   */
  telemetry_db?: string;
}

export interface RolloutView {
  version: string;
  percent_bp: number;
  state: RolloutState;
  salt: string;
  created_at: string;
  updated_at: string;
  /**
   * Staged rollouts (docs/rollouts.md): the plan (null when manual), the index of the current step,
   * when its bake clock started and ends, and the scheduler's last judgement. Absent from servers
   * older than staged rollouts.
   */
  plan?: Plan | null;
  step?: number | null;
  step_started_at?: string | null;
  bake_ends_at?: string | null;
  judgement?: RolloutJudgement | null;
  /**
   * The standby yank armed for a plan with `on_breach: rollback` (docs/protocol.md §6): published by the
   * scheduler on a clear breach. Null when none is stored (a manual rollout, a plan that only halts,
   * or once it was published or discarded); absent from servers older than automatic rollback.
   */
  standby_yank?: StandbyYankView | null;
}

export interface StandbyYankView {
  yank_sha256: string;
  /** Where clients on the release go back to; null when it had no baseline. */
  rollback_to: string | null;
  /** When the promote stored it. */
  signed_at: string;
}

export interface ChannelView {
  name: string;
  public: boolean;
  revision: number;
  issued_at: string;
  expires: string;
  rollouts: RolloutView[];
  yanked: { version: string; rollback_to: string | null; reason: string }[];
}

export interface StatusView {
  app: string;
  default_channel: string;
  channels: ChannelView[];
}

export interface ReleaseView {
  version: string;
  published_at: string;
  mandatory: boolean;
  critical: boolean;
  requires: string;
  notes: string;
  release_sha256: string;
  yanked: boolean;
  artifacts: Artifact[];
}

/** One change of the audit log, as the history API returns it. */
export interface AuditEntry {
  id: number | string;
  at: string;
  actor: string;
  /** Dotted verb, e.g. `rollout.promote`, `yank.register`, `channel.resign`. */
  action: string;
  app: string | null;
  /** What was changed inside the app: `stable/1.2.0`, a token id, a keys version… */
  target: string | null;
  before: unknown;
  after: unknown;
}

export interface TokenView {
  id: string;
  name: string;
  role: Role;
  /** The apps the token is limited to (docs/protocol.md §4), or null for every app; absent from older servers. */
  apps?: string[] | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  created_by: string;
}

export interface UploadResult {
  key: string;
  size: number;
  sha256: string;
}

/** An upload no registered release listed, as its removal (`DELETE …/uploads/…`) took it away. */
export interface RemovedUpload {
  key: string;
  size: number;
  /** The SHA-256 the upload declared; null for an object no upload route wrote. */
  sha256: string | null;
  /** When R2 stored it, and when it was removed (RFC 3339). */
  uploaded: string;
  removed_at: string;
}

/** A rate with its 95 % Wilson interval, as fractions; `{0, 0, 1}` when nothing is known yet. */
export type { Rate };

/** A half-open window [from, to) of stored timestamps (`2026-11-21T18:00:00.000Z`). */
export interface TimeWindow {
  from: string;
  to: string;
}

/** An error code and how many events carried it. */
export interface ErrorCount {
  code: string;
  count: number;
}

/** Nearest-rank percentiles in milliseconds; null when there is no sample. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

/** A release's sessions in the window (docs/protocol.md §5): counts of the `session` reports. */
export interface SessionTotals {
  /** Sessions of every outcome: ok, errored, crashed and abnormal. */
  total: number;
  crashed: number;
  errored: number;
  abnormal: number;
  /** Distinct clients with any session, and with a crashed one: crash-free users' denominator and numerator. */
  clients: number;
  crashed_clients: number;
}

/**
 * docs/protocol.md §5: one release's health in a channel over a window (GET …/health?version=), as a reader
 * meets it: a server older than sessions (migrations/0010) sends no `exposed`, `sessions` or
 * crash-free rates, hence optional here. This Worker sends every field: SentReleaseHealth.
 */
export interface ReleaseHealth {
  app: string;
  channel: string;
  version: string;
  window: TimeWindow;
  installs: number;
  failures: number;
  failure_rate: Rate;
  rollbacks: number;
  /** Distinct clients known to have run the release in the window: the rollback rate's denominator. */
  exposed?: number;
  rollback_rate: Rate;
  adoption: number;
  duration_ms: Percentiles;
  top_errors: ErrorCount[];
  sessions?: SessionTotals;
  /** 1 − crashed / all sessions; the interval is the crash rate's Wilson interval turned around. */
  crash_free_sessions?: Rate;
  /** 1 − clients with a crashed session / clients with any session, likewise. */
  crash_free_users?: Rate;
}

/** ReleaseHealth as this Worker sends it (src/worker/storage/analytics.ts): every field present. */
export type SentReleaseHealth = Required<ReleaseHealth>;

/** GET …/health without a version: every release of the channel, newest first. */
export interface ChannelHealth {
  app: string;
  channel: string;
  window: { from: string; to: string };
  releases: ReleaseHealth[];
}

/** A difference of two rates (canary − baseline) with its 95 % Newcombe interval, fractions in [−1, 1]. */
export type { RateDifference };

/**
 * GET …/compare?version=: a release (the canary) and its baseline (docs/protocol.md §6: the highest complete,
 * not yanked release of the channel below it) over the same window, and canary − baseline of each
 * rate. `baseline`, `baseline_version` and `differences` are null when the channel has no baseline.
 */
export interface ReleaseComparison {
  app: string;
  channel: string;
  window: { from: string; to: string };
  canary: ReleaseHealth;
  baseline: ReleaseHealth | null;
  baseline_version: string | null;
  differences: ComparisonDifferences | null;
}

/** canary − baseline of each rate of ReleaseComparison; higher is worse for all four. */
export interface ComparisonDifferences {
  failure_rate: RateDifference;
  rollback_rate: RateDifference;
  /**
   * Of the crash rates, crashed / all sessions and clients with a crashed session / clients with any:
   * 1 − crash-free sessions and users. Optional to readers: a server before the crash comparison
   * omits them.
   */
  crashed_sessions?: RateDifference;
  crashed_users?: RateDifference;
}

export type { Plan, RolloutJudgement };

/** GET/PUT /v1/admin/apps/{app}/settings; `webhook_secret` only in the answer that made one. */
export interface AppSettings {
  webhook_url: string | null;
  default_plan: Plan | null;
  webhook_secret?: string;
}

/** One row of GET /v1/admin/apps/{app}/webhooks, newest first. */
export interface WebhookDelivery {
  id: number | string;
  event: string;
  url: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}
