/**
 * Signing and verifying Updraft documents: JWS compact serialization, `alg: EdDSA` (Ed25519),
 * a `kid` naming the signing key and an explicit `typ` per document kind (docs/protocol.md §2).
 */
import { base64url, CompactSign, compactVerify, errors, importJWK } from 'jose';
import {
  type DocumentKind,
  MAX_SNAPSHOT_LIFETIME_MS,
  PAYLOAD_SCHEMAS,
  type PayloadOf,
  type PublicJwk,
  TYP,
} from './documents.ts';
import { sha256Sync } from './sha256.ts';

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
  readonly code: DocumentErrorCode;

  constructor(code: DocumentErrorCode, message: string) {
    super(message);
    this.name = 'DocumentError';
    this.code = code;
  }
}

/**
 * Longest JWS accepted, checked before any decoding. A snapshot listing 1,000 releases is about
 * 300 KB; this leaves ample room while bounding the work a hostile input can cause.
 */
export const MAX_DOCUMENT_LENGTH = 4 * 1024 * 1024;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 public key: the `kid` of every Updraft key.
 * Synchronous so that a key read from a secret can be given its `kid` without an await.
 */
export function jwkThumbprint(jwk: { crv: string; x: string }): string {
  // The required members of an OKP key, in lexicographic order, no whitespace (RFC 8037 §2, RFC 7638 §3).
  const canonical = JSON.stringify({ crv: jwk.crv, kty: 'OKP', x: jwk.x });
  return base64url.encode(sha256Sync(utf8.encode(canonical)));
}

/** Signs `payload` (validated against the kind's schema first) with `key`; returns the compact JWS. */
export async function signDocument<K extends DocumentKind>(
  kind: K,
  payload: PayloadOf<K>,
  key: PrivateJwk,
): Promise<string> {
  // Validating here means the Worker and the CLI can never sign what a client would refuse.
  const checked = checkPayload(kind, payload);
  const kid = jwkThumbprint(key);
  if (key.kid !== kid) {
    throw new Error(`signing key kid ${key.kid} is not the thumbprint of its public key (${kid})`);
  }
  const privateKey = await importJWK({ kty: key.kty, crv: key.crv, x: key.x, d: key.d }, 'EdDSA');
  return new CompactSign(utf8.encode(JSON.stringify(checked)))
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: TYP[kind] })
    .sign(privateKey);
}

export interface VerifyOptions {
  /** The time used for expiry checks; defaults to now. */
  now?: Date;
  /**
   * Set to false only to read history, such as the older links of a keys chain: the signature and
   * schema are still checked, `expires` is not. Defaults to true.
   */
  checkExpiry?: boolean;
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
  // Nothing in the header is trusted until the signature checks out; these checks only choose how
  // to verify, and refuse early what could never be a document of this kind.
  const header = decodePart(splitJws(jws)[0], 'header');
  if (header.typ !== TYP[kind]) {
    throw new DocumentError('wrong_type', `expected typ ${TYP[kind]}, got ${describe(header.typ)}`);
  }
  if (header.alg !== 'EdDSA') {
    throw new DocumentError('bad_algorithm', `expected alg EdDSA, got ${describe(header.alg)}`);
  }
  const jwk = typeof header.kid === 'string' ? trusted.find((k) => k.kid === header.kid) : undefined;
  if (!jwk) {
    throw new DocumentError(
      'unknown_key',
      `${kind} document is signed by an untrusted key ${describe(header.kid)}`,
    );
  }

  let bytes: Uint8Array;
  try {
    const key = await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'EdDSA');
    ({ payload: bytes } = await compactVerify(jws, key, { algorithms: ['EdDSA'] }));
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      throw new DocumentError('bad_signature', `${kind} document signature does not verify`);
    }
    throw new DocumentError('malformed', `${kind} document is not a valid JWS: ${messageOf(error)}`);
  }
  const payload = checkPayload(kind, parseJson(bytes, 'payload'));

  if (options?.checkExpiry !== false && 'expires' in payload) {
    const now = options?.now ?? new Date();
    if (Date.parse(payload.expires) <= now.getTime()) {
      throw new DocumentError('expired', `${kind} document expired at ${payload.expires}`);
    }
  }
  // checkPayload parsed with PAYLOAD_SCHEMAS[kind], which is what PayloadOf<K> names.
  return payload as PayloadOf<K>;
}

/**
 * Reads a document's header and payload WITHOUT verifying anything: for display, routing and for
 * the Worker's hot path re-reading documents it signed or verified itself. Throws `DocumentError('malformed')`.
 */
export function decodeDocument(jws: string): {
  header: { alg: string; kid: string; typ: string };
  payload: unknown;
} {
  const [headerPart, payloadPart] = splitJws(jws);
  const { alg, kid, typ } = decodePart(headerPart, 'header');
  if (typeof alg !== 'string' || typeof kid !== 'string' || typeof typ !== 'string') {
    throw new DocumentError('malformed', 'JWS header must have string alg, kid and typ');
  }
  return { header: { alg, kid, typ }, payload: decodePart(payloadPart, 'payload') };
}

/** Validates a payload against its kind's schema and the rules a schema cannot say. */
function checkPayload(kind: DocumentKind, payload: unknown): PayloadOf<DocumentKind> {
  const result = PAYLOAD_SCHEMAS[kind].safeParse(payload);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new DocumentError('malformed', `${kind} payload is invalid: ${issues.join('; ')}`);
  }
  const checked = result.data;
  if ('issued_at' in checked) {
    // A short snapshot life bounds how long a stolen online key or a withheld update can matter.
    const life = Date.parse(checked.expires) - Date.parse(checked.issued_at);
    if (!(life > 0 && life <= MAX_SNAPSHOT_LIFETIME_MS)) {
      throw new DocumentError(
        'malformed',
        'channel expires must be after issued_at and at most 7 days later',
      );
    }
  }
  return checked;
}

function splitJws(jws: string): [string, string, string] {
  if (typeof jws !== 'string' || jws.length > MAX_DOCUMENT_LENGTH) {
    throw new DocumentError('malformed', 'document is not a JWS string of acceptable length');
  }
  const parts = jws.split('.');
  // An empty signature is let through so that an `alg: none` document is refused as bad_algorithm.
  if (
    parts.length !== 3 ||
    !parts.every((p, i) => (i === 2 ? /^[A-Za-z0-9_-]*$/ : /^[A-Za-z0-9_-]+$/).test(p) && isCanonical(p))
  ) {
    throw new DocumentError('malformed', 'document is not a JWS in compact serialization');
  }
  return parts as [string, string, string];
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether a base64url part is the one spelling of its bytes. Decoders ignore the spare low bits of
 * a last character, so without this one signature has 16 spellings, and one signed document 16
 * texts (and SHA-256s, which snapshots list) that all verify.
 */
function isCanonical(part: string): boolean {
  const tail = part.length % 4;
  if (tail === 0) return true;
  // 2 trailing characters carry one byte (4 spare bits), 3 carry two (2 spare bits), 1 is never valid.
  const spare = tail === 2 ? 0b1111 : tail === 3 ? 0b11 : -1;
  const last = BASE64URL.indexOf(part.charAt(part.length - 1));
  return spare >= 0 && last >= 0 && (last & spare) === 0;
}

function decodePart(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(part);
  } catch {
    throw new DocumentError('malformed', `JWS ${what} is not base64url`);
  }
  return parseJson(bytes, what);
}

function parseJson(bytes: Uint8Array, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw new DocumentError('malformed', `JWS ${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DocumentError('malformed', `JWS ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : 'none';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
