/**
 * The Updraft client SDK (contract; being implemented). WebCrypto and fetch only: runs in Node 20+,
 * browsers, Electron and React Native (with a WebCrypto polyfill). Import as `updraft/client`.
 */
import type { Arch, Artifact, Platform, PublicJwk, ReleasePayload } from '../protocol/documents.ts';

/** Where the SDK keeps what must survive restarts: client ID, highest snapshot revision seen, trusted keys, queued telemetry. */
export interface StorageAdapter {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface UpdaterOptions {
  /** Base URL of the Updraft Worker, e.g. https://updates.example.com */
  server: string;
  app: string;
  /** Channel to ask for; the server's rules may route the client elsewhere. */
  channel?: string;
  /** Pinned root public keys (from `updraft keys init`): the only keys trusted without a chain. */
  rootKeys: PublicJwk[];
  storage: StorageAdapter;
  platform: Platform;
  arch: Arch;
  currentVersion: string;
  osVersion?: string;
  /** Defaults to a random ID created once and kept in storage. */
  clientId?: string;
  /** Also check that this client's own bucket is inside the rollout it is offered (DESIGN §2). */
  verifyBucket?: boolean;
  /** Injectable for tests and runtimes without a global fetch. */
  fetch?: typeof fetch;
  /** Injectable clock. */
  now?: () => Date;
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
  | 'network';
