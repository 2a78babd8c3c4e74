/**
 * bucket() on arbitrary strings, and the parsers of human and client input on arbitrary text: each
 * either returns a value its contract allows or throws its own declared error type, never another.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { BUCKETS, bucket } from '../../src/protocol/bucket.ts';
import {
  PlanInputError,
  parseDuration,
  parsePlanSteps,
  parseRate,
  stepsSchema,
} from '../../src/protocol/plan.ts';
import { EVENT_TYPES, eventSchema, type TelemetryEventInput } from '../../src/protocol/telemetry.ts';

/** Any UTF-16, lone surrogates and controls included. */
const anyText = fc.string({ unit: 'binary', maxLength: 80 });

/** `fn(text)`, or the error it threw; fails the property on any error not of `type`. */
function outcome<T>(
  fn: (text: string) => T,
  text: string,
  type: new (...args: never[]) => Error,
): { value: T } | { error: unknown } {
  try {
    return { value: fn(text) };
  } catch (error) {
    expect(error, `${fn.name}(${JSON.stringify(text)})`).toBeInstanceOf(type);
    return { error };
  }
}

describe('bucket', () => {
  it('is an integer in [0, 10000) and the same on every call, for any salt and client id', async () => {
    await fc.assert(
      fc.asyncProperty(anyText, anyText, async (salt, clientId) => {
        const b = await bucket(salt, clientId);
        expect(Number.isInteger(b) && b >= 0 && b < BUCKETS).toBe(true);
        expect(await bucket(salt, clientId)).toBe(b);
      }),
      { seed: 7201, numRuns: 500 },
    );
  });
});

const digits = (max: number) => fc.integer({ min: 0, max }).map(String);
/** Text near the grammars: numbers, units, `%`, dots, commas and spaces in random order. */
const nearText = (tokens: fc.Arbitrary<string>) =>
  fc
    .array(fc.oneof(tokens, fc.constantFrom(' ', ',', '.', '%', '-', '+', 'e', '')), { maxLength: 12 })
    .map((parts) => parts.join(''));

describe('plan parsers (updraft promote --plan/--bake/gates)', () => {
  it('parsePlanSteps gives valid steps or throws PlanInputError', () => {
    const text = fc.oneof(
      anyText,
      nearText(fc.oneof(digits(200), fc.constantFrom('100', '0.5', '25%', '99.99'))),
    );
    fc.assert(
      fc.property(text, (t) => {
        const result = outcome(parsePlanSteps, t, PlanInputError);
        if ('value' in result) expect(stepsSchema.safeParse(result.value).success).toBe(true);
      }),
      { seed: 7202, numRuns: 1000 },
    );
  });

  it('parseDuration gives a whole number of seconds or throws PlanInputError', () => {
    const text = fc.oneof(
      anyText,
      nearText(fc.oneof(digits(99_999_999), fc.constantFrom('w', 'd', 'h', 'm', 's', 'x'))),
    );
    fc.assert(
      fc.property(text, (t) => {
        const result = outcome(parseDuration, t, PlanInputError);
        if ('value' in result) expect(Number.isSafeInteger(result.value) && result.value >= 0).toBe(true);
      }),
      { seed: 7203, numRuns: 1000 },
    );
  });

  it('parseRate gives a fraction strictly between 0 and 1 or throws PlanInputError', () => {
    const text = fc.oneof(anyText, nearText(fc.oneof(digits(1000), fc.constantFrom('0', '.', '%', '1e-2'))));
    fc.assert(
      fc.property(text, (t) => {
        const result = outcome(parseRate, t, PlanInputError);
        if ('value' in result) expect(result.value > 0 && result.value < 1).toBe(true);
      }),
      { seed: 7204, numRuns: 1000 },
    );
  });
});

const NOW = new Date('2026-11-21T18:00:00Z');
const VALID_EVENT: TelemetryEventInput = {
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  type: 'install_failed',
  client_id: 'client-1',
  channel: 'stable',
  from_version: '1.0.0',
  to_version: '1.1.0',
  platform: 'linux',
  arch: 'x64',
  os_version: '14.2',
  error_code: 'E_DISK',
  error_message: 'disk full',
  duration_ms: 1200,
  occurred_at: '2026-11-21T17:59:00Z',
};

/** A valid event with one field removed or replaced by any JSON value, a near-miss string or an edge number. */
const nearEventArb = fc
  .tuple(
    fc.constantFrom(...Object.keys(VALID_EVENT)),
    fc.oneof(
      fc.constant(undefined),
      fc.jsonValue(),
      anyText,
      fc.constantFrom(
        ...EVENT_TYPES,
        '2026-02-30T00:00:00Z',
        '0000-01-01T00:00:00+23:59',
        '9999-12-31T23:59:59.999999999-23:59',
      ),
      fc.constantFrom(-1, 0.5, 1e21, Number.MAX_SAFE_INTEGER + 2, -0),
    ),
  )
  .map(([field, value]) => ({ ...VALID_EVENT, [field]: value }));

describe('telemetry eventSchema', () => {
  it('accepts the valid event, normalised', () => {
    expect(eventSchema(() => NOW).parse(VALID_EVENT)).toMatchObject({
      occurred_at: '2026-11-21T17:59:00.000Z',
    });
  });

  it('never throws from safeParse, and parse throws only ZodError, on any input', () => {
    const input = fc.oneof(anyText, fc.jsonValue(), nearEventArb, fc.anything());
    fc.assert(
      fc.property(input, (value) => {
        const schema = eventSchema(() => NOW);
        const safe = schema.safeParse(value);
        if (safe.success) {
          expect(safe.data.id).toBe(safe.data.id.toLowerCase());
          expect(new Date(safe.data.occurred_at).toISOString()).toBe(safe.data.occurred_at);
        }
        try {
          schema.parse(value);
        } catch (error) {
          expect(error).toBeInstanceOf(ZodError);
        }
      }),
      { seed: 7205, numRuns: 1000 },
    );
  });
});
