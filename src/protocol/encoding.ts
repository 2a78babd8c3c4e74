/** Small byte helpers on WebCrypto, shared by the Worker, the CLI and the SDK. */

const utf8 = new TextEncoder();

// One lookup instead of toString(16) + padStart per byte: hashes are hexed on the hot path.
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** SHA-256 of a string (UTF-8) or bytes, as lowercase hex. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return toHex(await sha256(data));
}

/** SHA-256 of a string (UTF-8) or bytes. */
export async function sha256(data: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? utf8.encode(data) : data;
  // WebCrypto refuses views of a SharedArrayBuffer (and its types say so): copy those.
  const input =
    bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', input));
}

/** `bytes` cryptographically random bytes as lowercase hex (a 128-bit salt is `randomHex(16)`). */
export function randomHex(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > 65_536) {
    throw new RangeError(`randomHex: bytes must be an integer from 0 to 65536, got ${bytes}`);
  }
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX_BYTE[byte];
  return out;
}

/** The text `nameBasedUuid` hashes for `parts`: equal texts, equal ids. */
export const uuidName = (parts: readonly string[]): string => parts.join('\u0000');

/**
 * A UUID (RFC 9562 version 8, name-based) from `parts`, joined with NUL (`uuidName`) and hashed with
 * SHA-256: the same parts always give the same id.
 */
export async function nameBasedUuid(parts: readonly string[]): Promise<string> {
  const hex = await sha256Hex(uuidName(parts));
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
