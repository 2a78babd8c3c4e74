/** Key pairs and the keys document chain (DESIGN §2: version N+1 is signed by a root key of version N). */
import type { KeysPayload, PublicJwk } from './documents.ts';
import type { PrivateJwk, VerifyOptions } from './jws.ts';

/** A fresh Ed25519 key pair; both halves carry `kid` = RFC 7638 thumbprint. */
export async function generateKeyPair(): Promise<{ privateJwk: PrivateJwk; publicJwk: PublicJwk }> {
  throw new Error('not implemented');
}

/** The public half of a private JWK (drops `d`). Validates the input's shape; throws on anything else. */
export function publicJwk(key: PrivateJwk): PublicJwk {
  void key;
  throw new Error('not implemented');
}

/** Parses a private Ed25519 JWK from JSON text (e.g. the `UPDRAFT_ONLINE_KEY` secret); throws a clear Error if it is not one. */
export function parsePrivateJwk(text: string): PrivateJwk {
  void text;
  throw new Error('not implemented');
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
  void pinnedRoots;
  void chain;
  void options;
  throw new Error('not implemented');
}
