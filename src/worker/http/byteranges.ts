/**
 * `multipart/byteranges` (RFC 9110 §14.6): several ranges of one artifact in one answer, as
 * electron-updater's differential download asks for them (up to a thousand ranges a request). The
 * ranges are cut from one stream of the artifact, read once from the first range's start to the last
 * one's end, so a request costs one R2 read however many ranges it names.
 */

/** A resolved range: `length` bytes from `offset`. */
export interface ByteRange {
  offset: number;
  length: number;
}

const utf8 = new TextEncoder();

/** The part headers, and the closing delimiter, of a multipart answer over `ranges`. */
function framing(boundary: string, contentType: string, ranges: readonly ByteRange[], size: number) {
  const heads = ranges.map((r, i) =>
    utf8.encode(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.offset}-${r.offset + r.length - 1}/${size}\r\n\r\n`,
    ),
  );
  const tail = utf8.encode(`\r\n--${boundary}--\r\n`);
  return { heads, tail };
}

/**
 * The answer's body and its exact length. `body` streams the artifact from byte `bodyOffset` on
 * (the first range's start); `ranges` must be in ascending order and not overlap.
 */
export function multipartByteranges(
  body: ReadableStream<Uint8Array>,
  bodyOffset: number,
  ranges: readonly ByteRange[],
  options: { boundary: string; contentType: string; size: number },
): { stream: ReadableStream<Uint8Array>; length: number } {
  const { heads, tail } = framing(options.boundary, options.contentType, ranges, options.size);
  const length =
    heads.reduce((sum, h) => sum + h.byteLength, 0) +
    ranges.reduce((sum, r) => sum + r.length, 0) +
    tail.byteLength;

  const reader = body.getReader();
  let position = bodyOffset; // the artifact offset of the next byte not yet taken from `reader`
  let pending: Uint8Array | undefined; // bytes read but not used yet, starting at `position`
  let part = 0;
  let headSent = false;
  let sent = 0; // bytes of the current range already sent

  const stream = new ReadableStream<Uint8Array>({
    // Each pull enqueues something (a head, some bytes, the tail) or ends the stream: a pull that
    // returned having enqueued nothing would never be called again.
    async pull(controller) {
      for (;;) {
        const range = ranges[part];
        const head = heads[part];
        if (!range || !head) {
          controller.enqueue(tail);
          controller.close();
          return;
        }
        if (!headSent) {
          headSent = true;
          controller.enqueue(head);
          return;
        }
        if (!pending) {
          const { done, value } = await reader.read();
          if (done) {
            controller.error(new Error(`the artifact ended at byte ${position}, inside range ${part}`));
            return;
          }
          pending = value;
        }
        // The bytes between two ranges are read and dropped.
        const skip = Math.min(pending.byteLength, Math.max(0, range.offset - position));
        const take = Math.min(pending.byteLength - skip, range.length - sent);
        if (take > 0) controller.enqueue(pending.subarray(skip, skip + take));
        const used = skip + take;
        pending = used === pending.byteLength ? undefined : pending.subarray(used);
        position += used;
        sent += take;
        if (sent === range.length) {
          part += 1;
          sent = 0;
          headSent = false;
        }
        if (take > 0) return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { stream, length };
}
