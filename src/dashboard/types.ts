/** The admin API's answers (docs/api.md) as the dashboard reads them. */
import type { RolloutState } from '../protocol/documents.ts';
import type { Rate } from '../protocol/wilson.ts';

export type { Rate };

export interface Whoami {
  actor: string;
  role: 'admin' | 'publisher' | 'analyst';
}

export interface AppView {
  name: string;
  default_channel: string;
  revision: number;
  created_at: string;
  channels: { name: string; public: boolean; revision: number }[];
}

export interface RolloutView {
  version: string;
  percent_bp: number;
  state: RolloutState;
  created_at: string;
  updated_at: string;
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
  yanked: boolean;
  artifacts: { platform: string; arch: string; file: string; size: number }[];
}

export interface TimeWindow {
  from: string;
  to: string;
}

/** DESIGN §5: a release's health in a channel over a window. */
export interface ReleaseHealth {
  app: string;
  channel: string;
  version: string;
  window: TimeWindow;
  installs: number;
  failures: number;
  failure_rate: Rate;
  rollbacks: number;
  rollback_rate: Rate;
  adoption: number;
  duration_ms: { p50: number | null; p95: number | null };
  top_errors: { code: string; count: number }[];
}

export interface ChannelHealth {
  app: string;
  channel: string;
  window: TimeWindow;
  releases: ReleaseHealth[];
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
}
