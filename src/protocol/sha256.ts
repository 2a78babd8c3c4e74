/**
 * SHA-256 (FIPS 180-4) in plain TypeScript, incremental and synchronous.
 *
 * WebCrypto only hashes whole buffers, asynchronously. Two places need more: a JWK thumbprint
 * (RFC 7638) where the contract is synchronous (`parsePrivateJwk` fills in a missing `kid`), and the
 * SDK's download, which hashes an artifact chunk by chunk while it streams so that nothing is held
 * or trusted before the signed hash is known to match. Tests check both against `crypto.subtle`.
 */

/** The round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
export const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** The initial hash value: the same of the square roots of the first 8 primes. */
export const INITIAL = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
// Typed-array reads are `number | undefined` under noUncheckedIndexedAccess; every index here is in range.
const at = (array: Uint32Array, i: number) => array[i] ?? 0;

/**
 * An incremental SHA-256: `update()` with data in any number of pieces, then `digest()` once.
 * Full 64-byte blocks are compressed straight from the caller's bytes; only a partial block is copied.
 */
export class Sha256 {
  readonly #h = Uint32Array.from(INITIAL);
  readonly #w = new Uint32Array(64);
  readonly #block = new Uint8Array(64);
  readonly #blockView = new DataView(this.#block.buffer);
  #buffered = 0;
  #length = 0;
  #done = false;

  /** Adds `data` to the hashed message; returns this hasher. Throws after `digest()`. */
  update(data: Uint8Array): this {
    if (this.#done) throw new Error('Sha256: update() after digest()');
    this.#length += data.length;
    let offset = 0;
    if (this.#buffered > 0) {
      const take = Math.min(64 - this.#buffered, data.length);
      this.#block.set(data.subarray(0, take), this.#buffered);
      this.#buffered += take;
      offset = take;
      if (this.#buffered < 64) return this;
      this.#compress(this.#blockView, 0);
      this.#buffered = 0;
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (; offset + 64 <= data.length; offset += 64) this.#compress(view, offset);
    if (offset < data.length) {
      this.#block.set(data.subarray(offset));
      this.#buffered = data.length - offset;
    }
    return this;
  }

  /** The 32-byte digest of everything added. The hasher cannot be used afterwards. */
  digest(): Uint8Array {
    if (this.#done) throw new Error('Sha256: digest() called twice');
    // Message, a 0x80 byte, zero padding, and the bit length in the last 8 bytes of a 64-byte block.
    const bits = this.#length * 8;
    const tail = new Uint8Array(this.#buffered + 9 <= 64 ? 64 : 128);
    tail.set(this.#block.subarray(0, this.#buffered));
    tail[this.#buffered] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    for (let offset = 0; offset < tail.length; offset += 64) this.#compress(view, offset);
    this.#done = true;

    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setUint32(i * 4, at(this.#h, i));
    return out;
  }

  /** One round of the compression function over the 64 bytes of `view` at `offset`. */
  #compress(view: DataView, offset: number): void {
    const h = this.#h;
    const w = this.#w;
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + i * 4);
    for (let i = 16; i < 64; i++) {
      const x = at(w, i - 15);
      const y = at(w, i - 2);
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[i] = at(w, i - 16) + s0 + at(w, i - 7) + s1;
    }
    let a = at(h, 0);
    let b = at(h, 1);
    let c = at(h, 2);
    let d = at(h, 3);
    let e = at(h, 4);
    let f = at(h, 5);
    let g = at(h, 6);
    let k = at(h, 7);
    for (let i = 0; i < 64; i++) {
      const t1 =
        (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + at(K, i) + at(w, i)) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    // Uint32Array stores wrap modulo 2^32, which is exactly SHA-256's addition.
    h[0] = at(h, 0) + a;
    h[1] = at(h, 1) + b;
    h[2] = at(h, 2) + c;
    h[3] = at(h, 3) + d;
    h[4] = at(h, 4) + e;
    h[5] = at(h, 5) + f;
    h[6] = at(h, 6) + g;
    h[7] = at(h, 7) + k;
  }
}

/** SHA-256 of `data`, synchronously. */
export function sha256Sync(data: Uint8Array): Uint8Array {
  return new Sha256().update(data).digest();
}
