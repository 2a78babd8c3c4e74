/** Key pairs and the keys document chain (docs/protocol.md §2: version N+1 is signed by a root key of version N). */
import { exportJWK, generateKeyPair as generateJoseKeyPair } from 'jose';
import * as z from 'zod';
import type { KeysPayload, PublicJwk } from './documents.ts';
import { DocumentError, jwkThumbprint, type PrivateJwk, type VerifyOptions, verifyDocument } from './jws.ts';

const base64urlKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes of base64url');

// `kid` may be absent (a key exported by another tool); when present it must be the thumbprint.
const privateJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: base64urlKey,
  d: base64urlKey,
  kid: z.string().optional(),
});

/** A fresh Ed25519 key pair; both halves carry `kid` = RFC 7638 thumbprint. */
export async function generateKeyPair(): Promise<{ privateJwk: PrivateJwk; publicJwk: PublicJwk }> {
  const { privateKey } = await generateJoseKeyPair('Ed25519', { extractable: true });
  const privateJwk = toPrivateJwk(await exportJWK(privateKey));
  return { privateJwk, publicJwk: publicJwk(privateJwk) };
}

/** The public half of a private JWK (drops `d`). Validates the input's shape; throws on anything else. */
export function publicJwk(key: PrivateJwk): PublicJwk {
  const { kty, crv, x, kid } = toPrivateJwk(key);
  return { kty, crv, x, kid };
}

/** Parses a private Ed25519 JWK from JSON text (e.g. the `UPDRAFT_ONLINE_KEY` secret); throws a clear Error if it is not one. */
export function parsePrivateJwk(text: string): PrivateJwk {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Never echo the text: it is a secret.
    throw new Error('private key is not JSON: expected an Ed25519 JWK {"kty":"OKP","crv":"Ed25519","x","d"}');
  }
  return toPrivateJwk(value);
}

/** Validates a private Ed25519 JWK, fills in its `kid` and drops any other members. */
function toPrivateJwk(value: unknown): PrivateJwk {
  const result = privateJwkSchema.safeParse(value);
  if (!result.success) {
    // Name the failing members only; the values may include the private key.
    const fields = [...new Set(result.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    throw new Error(
      `not a private Ed25519 JWK (check ${fields}): expected {"kty":"OKP","crv":"Ed25519","x","d"}`,
    );
  }
  const { kty, crv, x, d, kid } = result.data;
  const thumbprint = jwkThumbprint({ crv, x });
  if (kid !== undefined && kid !== thumbprint) {
    throw new Error(
      `private key kid ${kid} is not the RFC 7638 thumbprint of its public key (${thumbprint})`,
    );
  }
  return { kty, crv, x, d, kid: thumbprint };
}

/**
 * Verifies a chain of keys documents, oldest first. The first must be signed by one of `pinnedRoots`;
 * each later one must have version = previous + 1 and be signed by a root key of the previous one.
 * Only the last document must be unexpired (older ones are history). Returns the last payload.
 * Throws `DocumentError` (`unknown_key` when a link does not chain, `malformed` for a version gap).
 */
export async function verifyKeysChain(
  pinnedRoots: readonly PublicJwk[],
  chain: readonly string[],
  options?: VerifyOptions,
): Promise<KeysPayload> {
  let previous: KeysPayload | undefined;
  for (const [index, jws] of chain.entries()) {
    const last = index === chain.length - 1;
    previous = await verifyKeysLink(previous ?? pinnedRoots, jws, {
      ...options,
      checkExpiry: last && options?.checkExpiry !== false,
    });
  }
  if (!previous) throw new DocumentError('malformed', 'keys chain is empty');
  return previous;
}

/**
 * Verifies one link of a keys chain: `jws` signed by a root of `previous` and its next version, or,
 * for the first link, signed by one of the given roots. Lets a client verify each link as it
 * arrives and stop at the first that does not chain. Throws `DocumentError` like `verifyKeysChain`.
 */
export async function verifyKeysLink(
  previous: KeysPayload | readonly PublicJwk[],
  jws: string,
  options?: VerifyOptions,
): Promise<KeysPayload> {
  // Each link is trusted only through the roots of the one before: a key that appears for the
  // first time in a document can never vouch for that document.
  const roots = 'root' in previous ? previous.root : previous;
  const payload = await verifyDocument('keys', jws, roots, options);
  if ('version' in previous && payload.version !== previous.version + 1) {
    throw new DocumentError(
      'malformed',
      `keys chain goes from version ${previous.version} to ${payload.version}; each link must be the next version`,
    );
  }
  return payload;
}
