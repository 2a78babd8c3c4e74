import type { ValidationTargets } from 'hono';
import { validator } from 'hono/validator';
import * as z from 'zod';
import { ApiError } from './errors.ts';

/** Describes the first zod issue as "field: problem", so a 400 names the parameter at fault. */
export function describeIssue(error: { issues: readonly z.core.$ZodIssue[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * A whole-number query parameter from `min` to `max`: `limit=abc`, `limit=1.5` and `limit=0` all read
 * "must be a whole number from 1 to 500" (z.coerce.number() would say "expected number, received NaN").
 */
export function wholeNumber(min: number, max?: number) {
  const message = `must be a whole number ${max === undefined ? `of at least ${min}` : `from ${min} to ${max}`}`;
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : message) })
    .regex(/^[0-9]{1,15}$/, message)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, message)
        .max(max ?? Number.MAX_SAFE_INTEGER, message),
    );
}

/**
 * Each parameter is taken once (docs/api.md): a repeated one would reach its schema as an array and
 * read as missing ("client_id: is required") or as a type error, so it is named as what it is.
 */
function refuseRepeated(query: Record<string, unknown>, names: readonly string[]): void {
  const name = names.find((n) => Array.isArray(query[n]));
  if (name !== undefined) {
    throw new ApiError(400, 'invalid_query', `${name}: is given more than once; give it once`);
  }
}

/** The parameter names of a query schema (an object, or an object behind transforms). */
function shapeNames(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/**
 * A validator middleware that fails with the protocol's error shape (docs/protocol.md §4): 400 `invalid_<target>` (invalid_query,
 * invalid_json, invalid_param…) naming the first offending field. The schemas are synchronous, so
 * they run with `safeParse` (@hono/zod-validator's `safeParseAsync` costs a check a few percent).
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  const names = target === 'query' ? shapeNames(schema) : [];
  return validator(target, (value): z.output<T> => {
    if (names.length > 0) refuseRepeated(value as Record<string, unknown>, names);
    const result = schema.safeParse(value);
    if (!result.success) throw new ApiError(400, `invalid_${target}`, describeIssue(result.error));
    return result.data;
  });
}

/**
 * The query string's parameters that `schema` names, validated like `validate('query', schema)`:
 * one given more than once, or an invalid one, is a 400 `invalid_query` naming it. For the hot path, which parses the URL anyway
 * and so skips hono's own pass over the query string.
 */
export function parseQuery<T extends z.ZodObject>(url: URL, schema: T): z.output<T> {
  const values: Record<string, string | string[]> = {};
  const names = Object.keys(schema.shape);
  for (const name of names) {
    const all = url.searchParams.getAll(name);
    const [first] = all;
    if (first !== undefined) values[name] = all.length === 1 ? first : all;
  }
  refuseRepeated(values, names);
  const result = schema.safeParse(values);
  if (!result.success) throw new ApiError(400, 'invalid_query', describeIssue(result.error));
  return result.data;
}
