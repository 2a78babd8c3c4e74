/**
 * Signing and verifying Updraft documents: JWS compact serialization, `alg: EdDSA` (Ed25519),
 * a `kid` naming the signing key and an explicit `typ` per document kind (DESIGN §2).
 */
import type { DocumentKind, PayloadOf, PublicJwk } from './documents.ts';

/** An Ed25519 private key as a JWK (`d` present); `kid` is the RFC 7638 thumbprint of the public half. */
export interface PrivateJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d: string;
  kid: string;
}

/** Why a document was refused; `code` is stable and used in API errors and SDK errors. */
export type DocumentErrorCode =
  | 'malformed' // not a JWS, bad base64url/JSON, or payload fails the kind's schema
  | 'wrong_type' // `typ` is not the expected kind's
  | 'bad_algorithm' // `alg` is not EdDSA
  | 'unknown_key' // `kid` is not among the trusted keys
  | 'bad_signature'
  | 'expired'; // keys and channel documents: `expires` is not after `now`

export class DocumentError extends Error {
  constructor(
    readonly code: DocumentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DocumentError';
  }
}

/** Signs `payload` (validated against the kind's schema first) with `key`; returns the compact JWS. */
export async function signDocument<K extends DocumentKind>(
  kind: K,
  payload: PayloadOf<K>,
  key: PrivateJwk,
): Promise<string> {
  void kind;
  void payload;
  void key;
  throw new Error('not implemented');
}

export interface VerifyOptions {
  /** The time used for expiry checks; defaults to now. */
  now?: Date;
}

/**
 * Verifies `jws` as a document of `kind` signed by one of `trusted` and returns its validated payload.
 * Checks, in order: shape, `typ`, `alg`, `kid` among `trusted`, signature, payload schema, and for
 * `keys` and `channel` documents that `expires` is after `now`. Throws `DocumentError`.
 */
export async function verifyDocument<K extends DocumentKind>(
  kind: K,
  jws: string,
  trusted: readonly PublicJwk[],
  options?: VerifyOptions,
): Promise<PayloadOf<K>> {
  void kind;
  void jws;
  void trusted;
  void options;
  throw new Error('not implemented');
}

/**
 * Reads a document's header and payload WITHOUT verifying anything: for display, routing and for
 * the Worker's hot path re-reading documents it signed or verified itself. Throws `DocumentError('malformed')`.
 */
export function decodeDocument(jws: string): { header: { alg: string; kid: string; typ: string }; payload: unknown } {
  void jws;
  throw new Error('not implemented');
}
