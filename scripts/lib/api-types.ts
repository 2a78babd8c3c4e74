/** Shapes of the admin API's answers (docs/api.md), as the CLI reads them. */
import type { Artifact, RolloutState } from '../../src/protocol/documents.ts';

export interface AppView {
  name: string;
  default_channel: string;
  revision: number;
  created_at: string;
  channels: { name: string; public: boolean; revision: number }[];
  rules: unknown[];
}

export interface RolloutView {
  version: string;
  percent_bp: number;
  state: RolloutState;
  salt: string;
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
  release_sha256: string;
  yanked: boolean;
  artifacts: Artifact[];
}

export interface AuditEntry {
  id: number | string;
  at: string;
  actor: string;
  action: string;
  app: string | null;
  target: string | null;
  before: unknown;
  after: unknown;
}

export interface TokenView {
  id: string;
  name: string;
  role: string;
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
