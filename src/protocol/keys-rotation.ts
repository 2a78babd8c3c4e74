/**
 * The keys documents a rotation signs (docs/protocol.md §2). The chain rule lets version N+1 be signed only by
 * a root of version N, and a JWS carries one signature; so a rotation that brings in a new root signs
 * two versions: N+1 with the new key lists, signed by the old root (clients of the old root follow
 * it), then N+2 with the same lists, signed by the new root (which N+1 trusts). The newest document
 * is then signed by the new root, and a build pinning only the new root verifies it directly.
 */
import type { KeysPayload } from './documents.ts';
import { type PrivateJwk, signDocument } from './jws.ts';

export interface KeysRotation {
  /** The payload of the current (newest) keys document, version N. */
  current: KeysPayload;
  /** The key lists and expiry of the documents that follow it. */
  next: Pick<KeysPayload, 'expires' | 'root' | 'release' | 'online'>;
  /** A root of `current`: signs version N+1. */
  signer: PrivateJwk;
  /** The private key of the root `next` brings in, if it brings one in: signs version N+2. */
  newRoot?: PrivateJwk;
}

/**
 * Signs the keys documents that follow `current`, oldest first: version N+1, signed by `signer`, and,
 * when `next.root` lists a root that `current` does not, version N+2 with the same content signed by
 * `newRoot`, that root. Throws when `signer` is not a root of `current`, or when a new root is listed
 * and `newRoot` is not one of the new roots.
 */
export async function signKeysRotation(rotation: KeysRotation): Promise<string[]> {
  const { current, next, signer, newRoot } = rotation;
  const listed = (keys: readonly { x: string }[], key: PrivateJwk) => keys.some((k) => k.x === key.x);
  if (!listed(current.root, signer)) {
    throw new Error(`key ${signer.kid} is not a root of keys document ${current.version}`);
  }
  const payload: KeysPayload = { ...next, version: current.version + 1 };
  const introduced = next.root.filter((k) => !current.root.some((c) => c.x === k.x));
  if (introduced.length === 0) return [await signDocument('keys', payload, signer)];
  if (newRoot === undefined || !listed(introduced, newRoot)) {
    throw new Error(
      `keys document ${payload.version} brings in root ${introduced.map((k) => k.kid).join(', ')}: its private key must sign version ${payload.version + 1}`,
    );
  }
  return [
    await signDocument('keys', payload, signer),
    await signDocument('keys', { ...payload, version: payload.version + 1 }, newRoot),
  ];
}
