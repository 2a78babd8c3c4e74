/**
 * The Wilson score interval for a binomial proportion (docs/protocol.md §5: every rate comes with a 95 %
 * interval; docs/protocol.md §6: staged-rollout gates halt when the lower bound is above the limit).
 * Pure: the Worker, the CLI and the dashboard share it, and docs/analytics.md gives the same formula
 * in SQL.
 */

/** A rate and its confidence interval, all fractions in [0, 1] (0.02 = 2 %). */
export interface Rate {
  /** The observed proportion successes / trials (0 when there are no trials). */
  value: number;
  low: number;
  high: number;
}

/** z for a two-sided 95 % interval. */
export const Z_95 = 1.96;

/**
 * The Wilson score interval of `successes` out of `trials`:
 *
 *   p = s / n,  d = 1 + z²/n,
 *   centre = (p + z²/(2n)) / d,
 *   half   = z · √(p(1 − p)/n + z²/(4n²)) / d,
 *   [low, high] = [centre − half, centre + half].
 *
 * Unlike the normal (Wald) interval it stays inside [0, 1] and is honest for small samples and
 * rates near 0, which is exactly the canary case (2 failures in 100 installs: 0.0055 – 0.0700).
 * With no trials nothing is known: `{value: 0, low: 0, high: 1}`.
 *
 * @param successes events counted in the rate (failures, rollbacks); 0 ≤ successes ≤ trials
 * @param trials the denominator (attempts, exposed clients); a non-negative integer
 * @param z the normal quantile; 1.96 for 95 %
 * @throws RangeError when the counts are not integers with 0 ≤ successes ≤ trials, or z ≤ 0
 */
export function wilson(successes: number, trials: number, z: number = Z_95): Rate {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials) {
    throw new RangeError(`wilson needs integers 0 <= successes <= trials, got ${successes}/${trials}`);
  }
  if (!(z > 0)) throw new RangeError(`wilson needs z > 0, got ${z}`);
  if (trials === 0) return { value: 0, low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const d = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / d;
  // At p = 0 or 1 the bound is exactly 0 or 1 in theory; clamp away floating-point dust (-1e-17).
  return {
    value: p,
    low: successes === 0 ? 0 : Math.max(0, centre - half),
    high: successes === trials ? 1 : Math.min(1, centre + half),
  };
}

/** The difference of two rates (a − b) and its confidence interval, fractions in [−1, 1]. */
export interface RateDifference {
  value: number;
  low: number;
  high: number;
}

/**
 * Newcombe's hybrid score interval for the difference of two independent proportions (Newcombe 1998,
 * method 10; docs/protocol.md §6: canary − baseline), built from the two Wilson intervals [l₁, u₁], [l₂, u₂]:
 *
 *   d = p₁ − p₂,
 *   low  = d − √((p₁ − l₁)² + (u₂ − p₂)²),
 *   high = d + √((u₁ − p₁)² + (p₂ − l₂)²).
 *
 * It inherits the Wilson interval's good behaviour for small samples and rates near 0, where the
 * Wald interval of a difference is far too narrow. With no trials on a side, that side is unknown
 * ([0, 1]) and the interval is wide accordingly.
 *
 * @param a successes and trials of the first group (the canary)
 * @param b successes and trials of the second group (the baseline)
 * @throws RangeError as `wilson` does for either group
 */
export function newcombe(
  a: { successes: number; trials: number },
  b: { successes: number; trials: number },
  z: number = Z_95,
): RateDifference {
  const one = wilson(a.successes, a.trials, z);
  const two = wilson(b.successes, b.trials, z);
  const d = one.value - two.value;
  return {
    value: d,
    low: Math.max(-1, d - Math.hypot(one.value - one.low, two.high - two.value)),
    high: Math.min(1, d + Math.hypot(one.high - one.value, two.value - two.low)),
  };
}
