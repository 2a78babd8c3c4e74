/** The admin API's answers (docs/api.md) as the dashboard reads them: the shared ones from src/protocol. */
export type {
  AppView,
  AuditEntry,
  ChannelHealth,
  ChannelView,
  Plan,
  Rate,
  RateDifference,
  ReleaseComparison,
  ReleaseHealth,
  ReleaseView,
  RolloutView,
  StatusView,
  TimeWindow,
} from '../protocol/admin-api.ts';

import type { TimeWindow } from '../protocol/admin-api.ts';
import type { Role } from '../protocol/roles.ts';

export interface Whoami {
  actor: string;
  role: Role;
  /**
   * The apps the token is limited to (docs/protocol.md §4): it gets 403 `app_forbidden` on any other app and
   * 403 `scope_forbidden` on deployment-wide routes. null: every app. Absent from older servers.
   */
  apps?: string[] | null;
}

export interface AdoptionView {
  app: string;
  channel: string;
  interval: 'hour' | 'day';
  window: TimeWindow;
  points: { at: string; clients: number; versions: Record<string, number> }[];
}

export interface ClientsView {
  app: string;
  channel: string;
  active_24h: number;
  versions: { version: string; clients: number; share: number }[];
  platforms: { platform: string; clients: number }[];
  /** By updater: `sdk`, or an adapter of docs/protocol.md §9 (`electron`, `tauri`, …). */
  kinds?: { kind: string; clients: number }[];
}
