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
