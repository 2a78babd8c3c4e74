import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
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
 * `zValidator` that fails with DESIGN's error shape: 400 `invalid_<target>` (invalid_query,
 * invalid_json, invalid_param…) naming the first offending field.
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      throw new ApiError(400, `invalid_${target}`, describeIssue(result.error));
    }
  });
}
