/** Rollout bucketing (DESIGN §3), verifiable by any client. */

/** First 4 bytes of SHA-256(UTF-8 `salt + ":" + clientId`), big-endian uint32, modulo 10000. */
export async function bucket(salt: string, clientId: string): Promise<number> {
  void salt;
  void clientId;
  throw new Error('not implemented');
}

/** Whether a client in `clientBucket` is inside a rollout at `percentBp` basis points. */
export function inRollout(percentBp: number, clientBucket: number): boolean {
  void percentBp;
  void clientBucket;
  throw new Error('not implemented');
}

/** A fresh random 128-bit salt as 32 lowercase hex digits. */
export function newSalt(): string {
  throw new Error('not implemented');
}
