/** The admin API's answers (docs/api.md) as the dashboard reads them: the shared ones from src/protocol. */
export type {
  AppView,
  ChannelHealth,
  ChannelView,
  Rate,
  RateDifference,
  ReleaseComparison,
  ReleaseHealth,
  ReleaseView,
  RolloutView,
  StatusView,
} from '../protocol/admin-api.ts';

export interface Whoami {
  actor: string;
  role: 'admin' | 'publisher' | 'analyst';
}

export interface TimeWindow {
  from: string;
  to: string;
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
  /** By updater: `sdk`, or an adapter of DESIGN §9 (`electron`, `tauri`, …). */
  kinds?: { kind: string; clients: number }[];
}
