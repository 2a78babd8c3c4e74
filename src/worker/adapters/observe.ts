/**
 * What the Worker observes of the clients of DESIGN §9 (their checks, with the version they run when
 * they say it, and their downloads) feeds the same telemetry pipeline as the SDK's own events,
 * marked with the client kind, so that adoption, stats, the dashboard and the gates see them.
 * A check must not cost one stored row per poll.
 */
import type { Context } from 'hono';
import type { Arch, Platform } from '../../protocol/documents.ts';
import type { AppEnv } from '../types.ts';

/** The updaters Updraft answers: its own SDK and the ones of DESIGN §9 and §10. */
export const CLIENT_KINDS = ['sdk', 'electron', 'tauri', 'sparkle', 'squirrel', 'expo'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** One check of an adapter's client, after its decision. */
export interface CheckObservation {
  kind: ClientKind;
  app: string;
  channel: string;
  clientId: string;
  /** The version the client runs, when it says it. */
  installed: string | undefined;
  /** The version offered, when the decision is an update or a rollback. */
  offered: string | undefined;
  platform: Platform;
  arch: Arch;
}

/**
 * Records a check without delaying the answer (the work runs after it, in `waitUntil`).
 * NOT YET IMPLEMENTED (issue 12, in progress): observations are dropped.
 */
export function observeCheck(_c: Context<AppEnv>, _observation: CheckObservation): void {}
