/**
 * The first 32 bits of SHA-256 (FIPS 180-4) of a UTF-8 string, synchronously and in plain JS: all a
 * rollout bucket needs of the hash (docs/protocol.md §3). In workerd a fifth to a third of the cost of WebCrypto
 * or node:crypto for these short inputs (BENCHMARKS.md, warm check); test/worker/bucket-hash.property.test.ts
 * holds it equal to WebCrypto.
 */
import { INITIAL, K } from '../../protocol/sha256.ts';

// The round constants and initial value are protocol/sha256.ts's; the rounds are written out here
// (no class, no DataView, one block buffer kept) because a check runs them for every bucket.
const H0 = Uint32Array.from(INITIAL);

const utf8 = new TextEncoder();
const w = new Uint32Array(64);
let buffer = new Uint8Array(256);

/** The first 4 bytes of SHA-256(UTF-8 of `text`), as a big-endian unsigned 32-bit integer. */
export function sha256FirstWord(text: string): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit; 9 more for the padding's 0x80 and length.
  const room = Math.ceil((text.length * 3 + 9) / 64) * 64;
  if (buffer.byteLength < room) buffer = new Uint8Array(room);
  const { written } = utf8.encodeInto(text, buffer);
  const blocks = Math.ceil((written + 9) / 64);
  const end = blocks * 64;
  buffer[written] = 0x80;
  buffer.fill(0, written + 1, end - 4);
  const bits = written * 8;
  buffer[end - 4] = bits >>> 24;
  buffer[end - 3] = bits >>> 16;
  buffer[end - 2] = bits >>> 8;
  buffer[end - 1] = bits;
  let h0 = H0[0] as number;
  let h1 = H0[1] as number;
  let h2 = H0[2] as number;
  let h3 = H0[3] as number;
  let h4 = H0[4] as number;
  let h5 = H0[5] as number;
  let h6 = H0[6] as number;
  let h7 = H0[7] as number;
  for (let offset = 0; offset < end; offset += 64) {
    for (let i = 0; i < 16; i++) {
      const j = offset + i * 4;
      w[i] =
        ((buffer[j] as number) << 24) |
        ((buffer[j + 1] as number) << 16) |
        ((buffer[j + 2] as number) << 8) |
        (buffer[j + 3] as number);
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15] as number;
      const b = w[i - 2] as number;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + (K[i] as number) + (w[i] as number)) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  return h0 >>> 0;
}
