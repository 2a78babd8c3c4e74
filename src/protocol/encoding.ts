/** Small byte helpers on WebCrypto, shared by the Worker, the CLI and the SDK. */

/** SHA-256 of a string (UTF-8) or bytes, as lowercase hex. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  void data;
  throw new Error('not implemented');
}

/** `bytes` cryptographically random bytes as lowercase hex (a 128-bit salt is `randomHex(16)`). */
export function randomHex(bytes: number): string {
  void bytes;
  throw new Error('not implemented');
}

export function toHex(bytes: Uint8Array): string {
  void bytes;
  throw new Error('not implemented');
}
