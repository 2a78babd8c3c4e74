/**
 * A difference of two rates (canary − baseline, docs/protocol.md §6) for people, written once for the CLI and
 * the dashboard: percentage points, "+1.6 points (−0.4 to 3.9)", the form of the scheduler's
 * judgement reasons (plan.ts), and what its 95 % interval says. Pure; the percentages themselves are
 * format.ts's.
 */
import { formatFraction, NO_DATA } from './format.ts';
import type { RateDifference } from './wilson.ts';

/** A fraction as percentage points, signed only when negative: 0.012 → "1.2", −0.003 → "−0.3". */
export function points(fraction: number): string {
  if (!Number.isFinite(fraction)) return NO_DATA;
  const text = formatFraction(Math.abs(fraction)).replace(/%$/, '');
  return fraction < 0 ? `−${text}` : text;
}

/** A difference with its sign, in points: 0.016 → "+1.6 points", −0.004 → "−0.4 points", 0 → "0 points". */
export function formatPoints(difference: number): string {
  if (!Number.isFinite(difference)) return NO_DATA;
  return `${difference > 0 ? '+' : ''}${points(difference)} points`;
}

/** The 95 % interval of a difference alone: "−0.4 to 3.9 points". */
export function formatDifferenceInterval(d: RateDifference): string {
  return `${points(d.low)} to ${points(d.high)} points`;
}

/** A difference and its 95 % interval: "+1.6 points (−0.4 to 3.9)", as plan.ts's judgement reasons read. */
export function formatDifference(d: RateDifference): string {
  return `${d.value > 0 ? '+' : ''}${points(d.value)} points (${points(d.low)} to ${points(d.high)})`;
}

/** What the interval of a rate's difference says, for rates where higher is worse (failures, rollbacks). */
export type DifferenceVerdict = 'worse' | 'better' | 'unclear';

/**
 * `worse` when the whole interval lies above 0 (the canary's rate is clearly higher), `better` when
 * it lies below, else `unclear`: the data cannot tell the two apart yet. This is a reading aid, not
 * a gate: a relative gate compares the interval with its allowed difference, not with 0.
 */
export function differenceVerdict(d: RateDifference): DifferenceVerdict {
  if (d.low > 0) return 'worse';
  if (d.high < 0) return 'better';
  return 'unclear';
}

/** The verdict in words: "clearly higher", "clearly lower", "no clear difference". */
export const VERDICT_TEXT: Record<DifferenceVerdict, string> = {
  worse: 'clearly higher',
  better: 'clearly lower',
  unclear: 'no clear difference',
};
