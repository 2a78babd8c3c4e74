/**
 * The encoded check answers kept with a cached channel state (state-cache.ts's `CachedChannel`):
 * routes/check.ts encodes and tags each distinct answer once per state, not once per request.
 */

/** A check answer as sent: its UTF-8 body and ETag. */
export interface EncodedAnswer {
  body: Uint8Array;
  etag: string;
}

/**
 * The encoded answers of one channel state, the oldest dropped first past 32 answers or 4 MiB of
 * bodies (a body embeds the snapshot, about 250 KB with 1,000 releases). It lives and dies with the
 * cached state, so an answer is never served from an older snapshot.
 */
export class AnswerMemo {
  static readonly MAX_ANSWERS = 32;
  static readonly MAX_BYTES = 4 * 1024 * 1024;
  readonly #answers = new Map<string, EncodedAnswer>();
  #bytes = 0;

  get(key: string): EncodedAnswer | undefined {
    return this.#answers.get(key);
  }

  set(key: string, answer: EncodedAnswer): void {
    if (this.#answers.has(key)) return;
    this.#answers.set(key, answer);
    this.#bytes += answer.body.byteLength;
    for (const [oldest, { body }] of this.#answers) {
      if (this.#answers.size <= AnswerMemo.MAX_ANSWERS && this.#bytes <= AnswerMemo.MAX_BYTES) break;
      if (oldest === key) break;
      this.#answers.delete(oldest);
      this.#bytes -= body.byteLength;
    }
  }

  get size(): number {
    return this.#answers.size;
  }
}
