/**
 * Response shapes of the public HTTP API that the Worker produces and clients (the CLI, the SDK,
 * tests) consume. Types only: the Worker builds them, clients verify the signed parts themselves.
 */

/** `GET /v1/apps/{app}/check` (DESIGN §4). */
export interface CheckResponse {
  status: 'update' | 'rollback' | 'none';
  channel: string;
  version?: string;
  mandatory?: boolean;
  yanked?: boolean;
  artifact?: { url: string; sha256: string; size: number };
  /** Compact JWS documents: the channel snapshot, and the release manifest and yank statement in play. */
  signed: { snapshot: string; release?: string; yank?: string };
}

/**
 * `GET /v1/apps/{app}/check?…&snapshot=<sha256>` when the client already holds the current snapshot
 * (DESIGN §4): the same answer with the snapshot left out and its SHA-256 (hex) in its place. The
 * client verifies the copy it holds, which must hash to `snapshot_sha256`; without one it must refuse.
 */
export interface ElidedCheckResponse extends Omit<CheckResponse, 'signed'> {
  signed: { snapshot_sha256: string; release?: string; yank?: string };
}

/**
 * `GET /v1/apps/{app}/check` while the Worker cannot verify the channel's KV projection (a tampered
 * value, a snapshot signed by a key `keys:current` does not list): nothing offered and nothing signed.
 * A client can verify nothing in it, so it must not act on it; the SDK refuses it as `unverifiable`.
 */
export interface UnverifiedCheckResponse {
  status: 'none';
  channel: string;
  yanked: false;
  signed: Record<string, never>;
}
