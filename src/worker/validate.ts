import type { ValidationTargets } from 'hono';
import { validator } from 'hono/validator';
import type * as z from 'zod';
import { ApiError } from './errors.ts';

/** Describes the first zod issue as "field: problem", so a 400 names the parameter at fault. */
export function describeIssue(error: { issues: readonly z.core.$ZodIssue[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * A validator middleware that fails with DESIGN's error shape: 400 `invalid_<target>` (invalid_query,
 * invalid_json, invalid_param…) naming the first offending field. The schemas are synchronous, so
 * they run with `safeParse` (@hono/zod-validator's `safeParseAsync` costs a check a few percent).
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return validator(target, (value): z.output<T> => {
    const result = schema.safeParse(value);
    if (!result.success) throw new ApiError(400, `invalid_${target}`, describeIssue(result.error));
    return result.data;
  });
}

/**
 * The query string's parameters that `schema` names, validated like `validate('query', schema)`:
 * a parameter given once is a string, given more than once all its values (which a `z.string()`
 * refuses), and an invalid one a 400 `invalid_query`. For the hot path, which parses the URL anyway
 * and so skips hono's own pass over the query string.
 */
export function parseQuery<T extends z.ZodObject>(url: URL, schema: T): z.output<T> {
  const values: Record<string, string | string[]> = {};
  for (const name of Object.keys(schema.shape)) {
    const all = url.searchParams.getAll(name);
    const [first] = all;
    if (first !== undefined) values[name] = all.length === 1 ? first : all;
  }
  const result = schema.safeParse(values);
  if (!result.success) throw new ApiError(400, 'invalid_query', describeIssue(result.error));
  return result.data;
}
