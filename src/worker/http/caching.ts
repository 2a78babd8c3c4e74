/** Conditional and range request helpers (RFC 9110 §13.1.2 and §14). */

/** Whether an `If-None-Match` header matches `etag` (weak comparison, as RFC 9110 requires for it). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const want = stripWeak(etag);
  return ifNoneMatch.split(',').some((tag) => stripWeak(tag.trim()) === want);
}

const stripWeak = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** One byte range as the client wrote it: `a-b`, `a-` or the suffix `-n`. */
export type RangeSpec = { start: number; end?: number } | { suffix: number };

const RANGE = /^bytes=(\d{0,15})-(\d{0,15})$/i;

/**
 * Reads a `Range` header. Absent or syntactically invalid headers give undefined (RFC 9110 §14.2: a
 * server ignores a Range it does not understand); more than one range gives 'multiple' (see
 * `resolveRanges`).
 */
export function parseRange(header: string | undefined): RangeSpec | 'multiple' | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (value.includes(',')) return /^bytes=/i.test(value) ? 'multiple' : undefined;
  const match = RANGE.exec(value.replace(/\s+/g, ''));
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') return { suffix: Number(last) };
  const start = Number(first);
  if (last === '') return { start };
  const end = Number(last);
  return end < start ? undefined : { start, end };
}

/** The most ranges one request may name: electron-updater asks for up to 1,000 at a time. */
export const MAX_RANGES = 1000;

/**
 * A `Range` header of several ranges, resolved against `size`: the satisfiable ones in order, or
 * null when none is (416). Undefined means "answer with the whole representation" (RFC 9110 §14.2
 * lets a server ignore Range): a malformed list, more than MAX_RANGES, or ranges that are not in
 * ascending order without overlap, which this server does not reorder or merge.
 */
export function resolveRanges(
  header: string,
  size: number,
): { offset: number; length: number }[] | null | undefined {
  const value = header.trim().replace(/^bytes=/i, '');
  const items = value.split(',');
  if (items.length > MAX_RANGES) return undefined;
  const resolved: { offset: number; length: number }[] = [];
  for (const item of items) {
    const spec = parseRange(`bytes=${item.trim()}`);
    if (spec === undefined || spec === 'multiple') return undefined;
    const range = resolveRange(spec, size);
    if (range === null) continue;
    const previous = resolved.at(-1);
    if (previous && range.offset < previous.offset + previous.length) return undefined;
    resolved.push(range);
  }
  return resolved.length === 0 ? null : resolved;
}

/** The bytes a range selects in a representation of `size` bytes, or null when it is unsatisfiable. */
export function resolveRange(spec: RangeSpec, size: number): { offset: number; length: number } | null {
  if ('suffix' in spec) {
    if (spec.suffix === 0 || size === 0) return null;
    const offset = Math.max(0, size - spec.suffix);
    return { offset, length: size - offset };
  }
  if (spec.start >= size) return null;
  const end = Math.min(spec.end ?? size - 1, size - 1);
  return { offset: spec.start, length: end - spec.start + 1 };
}
