/**
 * The SDK's public types that its modules share (a leaf: it imports nothing of the SDK). index.ts
 * exports them with `createUpdater`, whose own options and result (`UpdaterOptions`, `Updater`) are
 * declared there.
 */
import type { Artifact, ReleasePayload } from '../protocol/documents.ts';
import type { TelemetryEvent } from '../protocol/telemetry.ts';

/** Where the SDK keeps what must survive restarts: client ID, highest snapshot revision seen, trusted keys, queued telemetry. */
export interface StorageAdapter {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** An event the telemetry intake refused with a reason other than the rate limit; it is not retried. */
export interface RejectedEvent {
  event: TelemetryEvent;
  code: string;
  message: string;
}

/** A verified answer of `check()`. */
export type CheckResult =
  | { status: 'none'; channel: string; yanked: boolean }
  | {
      status: 'update' | 'rollback';
      channel: string;
      version: string;
      mandatory: boolean;
      /** The verified release manifest and the artifact for this client from it. */
      release: ReleasePayload;
      artifact: Artifact & { url: string };
    };

/** Stable codes of every refusal; see docs/client.md and docs/security.md. */
export type UpdraftErrorCode =
  | 'keys_untrusted'
  | 'snapshot_invalid'
  | 'snapshot_expired'
  | 'snapshot_future'
  | 'snapshot_replayed'
  | 'release_invalid'
  | 'release_not_listed'
  | 'release_mismatch'
  | 'downgrade'
  | 'yank_invalid'
  | 'bucket_mismatch'
  | 'artifact_too_large'
  | 'artifact_size'
  | 'artifact_hash'
  | 'server_error'
  | 'unverifiable'
  | 'redirect_refused'
  | 'timeout'
  | 'network';

/** A telemetry event as an app reports it; the SDK adds `id`, `client_id`, `channel`, `platform`, `arch`, `os_version` and `occurred_at`. */
export interface ReportInput {
  type:
    | 'check'
    | 'download_started'
    | 'download_succeeded'
    | 'download_failed'
    | 'install_succeeded'
    | 'install_failed'
    | 'rollback';
  from_version?: string;
  to_version?: string;
  error_code?: string;
  error_message?: string;
  duration_ms?: number;
}

export interface CheckOptions {
  /** Aborts the check; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Deadline of the whole check, keys included (default 30 s); past it, `UpdraftError('timeout')`. */
  timeoutMs?: number;
}

export interface DownloadOptions {
  /** Aborts the download; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  onProgress?: (received: number, total: number) => void;
  /** Deadline of the whole download (default 60 s plus the signed size at 32 kB/s); past it, `UpdraftError('timeout')`. */
  timeoutMs?: number;
  /** A transfer with no byte for this long (default 30 s) is cut and resumed. */
  idleTimeoutMs?: number;
  /** How often an interrupted transfer is resumed with `Range` (default 3) before `UpdraftError('network')`. */
  resumes?: number;
}
