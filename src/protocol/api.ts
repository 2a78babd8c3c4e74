/**
 * Response shapes of the public HTTP API that the Worker produces and clients (the CLI, the SDK,
 * tests) consume. Types only: the Worker builds them, clients verify the signed parts themselves.
 */
import type { DocumentErrorCode } from './jws.ts';

/** `GET /v1/apps/{app}/check` (docs/protocol.md §4). */
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
 * (docs/protocol.md §4): the same answer with the snapshot left out and its SHA-256 (hex) in its place. The
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

/**
 * Every `code` of the error shape `{"error": {"code", "message"}}` (docs/protocol.md §4; docs/api.md § Errors)
 * the Worker answers with. The Worker's ApiError takes only these, and the CLI and the dashboard
 * match codes through this type, so a code renamed on one side fails to compile on the other.
 */
export type ApiErrorCode =
  | 'already_yanked'
  | 'app_exists'
  | 'app_forbidden'
  | 'app_mismatch'
  | 'artifact_exists'
  | 'artifact_mismatch'
  | 'artifact_missing'
  | 'artifact_registered'
  | 'artifact_removed'
  | 'asset_missing'
  | 'bad_request'
  | 'conflict'
  | 'empty_part'
  | 'forbidden'
  | 'import_complete'
  | 'internal_error'
  | 'invalid_client_id'
  | 'invalid_cookie'
  | 'invalid_expo_manifest'
  | 'invalid_file'
  | 'invalid_form'
  | 'invalid_header'
  | 'invalid_import'
  | 'invalid_json'
  | 'invalid_param'
  | 'invalid_part'
  | 'invalid_part_sizes'
  | 'invalid_query'
  | 'invalid_rollback_target'
  | 'invalid_sidecar'
  | 'invalid_token'
  | 'invalid_transition'
  | 'invalid_version'
  | 'invalid_webhook_url'
  | 'keys_differ'
  | 'length_mismatch'
  | 'length_required'
  | 'malformed'
  | 'malformed_json'
  | 'method_not_allowed'
  | 'missing_token'
  | 'no_default_plan'
  | 'no_import'
  | 'no_keys'
  | 'no_webhook_url'
  | 'not_acceptable'
  | 'not_critical'
  | 'not_empty'
  | 'not_found'
  | 'online_key_not_listed'
  | 'out_of_range'
  | 'range_not_satisfiable'
  | 'rate_limited'
  | 'release_exists'
  | 'release_yanked'
  | 'removal_in_progress'
  | 'rollout_halted'
  | 'scope_forbidden'
  | 'sha256_mismatch'
  | 'sha512_mismatch'
  | 'stale_keys_version'
  | 'stale_revision'
  | 'standby_yank_mismatch'
  | 'standby_yank_required'
  | 'token_conflict'
  | 'too_large'
  | 'too_many_requests'
  | 'unauthorized'
  | 'unavailable'
  | 'unexpected_standby_yank'
  | 'unknown_app'
  | 'unknown_channel'
  | 'unknown_keys_version'
  | 'unknown_release'
  | 'unknown_rollout'
  | 'unknown_telemetry_db'
  | 'unknown_token'
  | 'unknown_upload'
  | 'unsupported_media_type'
  | 'unsupported_protocol'
  // Hono's exceptions of a status without a code of their own (src/worker/http/error-handling.ts)
  | `http_${number}`
  // A signed document refused, as verifyDocument says why (src/protocol/jws.ts)
  | DocumentErrorCode;
