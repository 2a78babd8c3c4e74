/**
 * The check's hand-written query reader (routes/check-query.ts) against its zod schema, the path every
 * check took before: for valid and invalid query strings alike, the same parsed value (keys in the
 * same order) or the same 400 (status, code and message). And the reader is no mere pass-through to
 * zod: it takes every valid query itself but those with an escape decodeURIComponent refuses.
 *
 * Runs in workerd, so the URL and URLSearchParams on both sides are the ones the Worker uses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARCHES, PLATFORMS } from '../../src/protocol/documents.ts';
import { ApiError } from '../../src/worker/http/errors.ts';
import { parseQuery } from '../../src/worker/http/validate.ts';
import {
  type CheckQuery,
  checkQuerySchema,
  parseCheckQuery,
  readCheckQuery,
} from '../../src/worker/routes/check-query.ts';

const NAMES = Object.keys(checkQuerySchema.shape);

type Outcome =
  | { value: CheckQuery; keys: string[] }
  | { error: { status: number; code: string; message: string } };

function outcome(parse: () => CheckQuery): Outcome {
  try {
    const value = parse();
    return { value, keys: Object.keys(value) };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { error: { status: error.status, code: error.code, message: error.message } };
  }
}

function urlOf(query: string): URL {
  return new URL(`https://updraft.example/v1/apps/demo/check?${query}`);
}

/** Whether every escape of the query decodes as UTF-8: the reader leaves the others to zod. */
function decodable(url: URL): boolean {
  try {
    decodeURIComponent(url.search);
    return true;
  } catch {
    return false;
  }
}

/** What the run saw, so that a generator gone narrow fails the test instead of passing it. */
const seen = { messages: new Set<string>(), valid: 0, read: 0 };

/** The zod path's outcome equals the reader's; the reader answers every valid query it can decode. */
function expectSame(query: string): void {
  const url = urlOf(query);
  const before = outcome(() => parseQuery(url, checkQuerySchema));
  const after = outcome(() => parseCheckQuery(url));
  expect(after, query).toStrictEqual(before);
  const read = readCheckQuery(url);
  if ('error' in before) {
    seen.messages.add(before.error.message);
    expect(read, query).toBeUndefined();
  } else {
    seen.valid += 1;
    if (read !== undefined) seen.read += 1;
    if (decodable(url)) expect(read && { value: read, keys: Object.keys(read) }, query).toStrictEqual(before);
  }
}

const hex = (length: number, digits = '0123456789abcdef') =>
  fc.string({ unit: fc.constantFrom(...digits), minLength: length, maxLength: length });
// Mostly parts semver takes; now and then one past 2^53, which it refuses.
const part = fc.oneof(
  { arbitrary: fc.constantFrom('0', '1', '10', '999999999999999', '9007199254740991'), weight: 3 },
  { arbitrary: fc.nat().map(String), weight: 6 },
  fc.constantFrom('9007199254740992', '10000000000000000', '00'),
);
const prerelease = fc.constantFrom(
  'alpha',
  'beta.1',
  '0',
  'x.7.z.92',
  'rc-1',
  '9007199254740992',
  '01',
  'a..b',
  '',
);

/** Valid values of each parameter, and the invalid ones at its edges. */
const VALUES: Record<string, { valid: fc.Arbitrary<string>; invalid: fc.Arbitrary<string> }> = {
  client_id: {
    valid: fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), fc.constant('a'.repeat(128))),
    invalid: fc.constantFrom('', 'a'.repeat(129), 'a b', 'a+b', 'a/b', 'é', 'a%b', 'a\u0000'),
  },
  version: {
    valid: fc.oneof(
      fc.tuple(part, part, part).map((parts) => parts.join('.')),
      fc.tuple(part, part, part, prerelease).map(([a, b, c, pre]) => `${a}.${b}.${c}-${pre}`),
      fc.constantFrom('9007199254740991.0.0', '1.0.0-9007199254740992', `1.0.0-${'a'.repeat(58)}`),
    ),
    invalid: fc.constantFrom(
      '',
      '1.0',
      '1.2.3.4',
      '01.0.0',
      'v1.0.0',
      '=1.0.0',
      ' 1.0.0',
      '1.0.0 ',
      '1.0.0+build.1',
      '1.0.0-01',
      '1.0.0-',
      '9007199254740992.0.0',
      '1234567890123456.0.0',
      '0.9007199254740992.0',
      '0.0.9007199254740992',
      `1.0.0-${'a'.repeat(59)}`,
      'x'.repeat(65),
      '1.0.0\n',
      'one',
    ),
  },
  platform: {
    valid: fc.constantFrom(...PLATFORMS),
    invalid: fc.constantFrom('', 'Linux', 'macos', 'linux ', 'constructor', '__proto__'),
  },
  arch: {
    valid: fc.constantFrom(...ARCHES),
    invalid: fc.constantFrom('', 'X64', 'amd64', 'x64 ', 'toString'),
  },
  channel: {
    valid: fc.oneof(
      fc.constantFrom('stable', 'beta', '0', 'a'.repeat(63)),
      fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/),
    ),
    invalid: fc.constantFrom('', 'Stable', '-beta', 'a_b', 'a'.repeat(64), 'a b'),
  },
  os_version: {
    valid: fc.oneof(
      fc.constantFrom('14', '14.2', '10.0.19045', '13.0+b', `1${'a'.repeat(31)}`),
      fc.stringMatching(/^[0-9][0-9A-Za-z.+_-]{0,31}$/),
    ),
    invalid: fc.constantFrom('', 'a14', '14 2', `1${'a'.repeat(32)}`, '.14', '14:2'),
  },
  runtime: {
    valid: fc.oneof(
      fc.constantFrom('1.0.0', 'exposdk:52.0.0', '!', '%', '~'.repeat(255)),
      fc.stringMatching(/^[\x21-\x7e]{1,255}$/),
    ),
    invalid: fc.constantFrom('', 'a b', '~'.repeat(256), 'é', 'a\tb'),
  },
  snapshot: {
    valid: hex(64),
    invalid: fc.oneof(
      hex(64, '0123456789ABCDEF'),
      hex(63),
      hex(65),
      fc.constantFrom('', 'xyz', `${'a'.repeat(63)}A`),
    ),
  },
};

/** Any text at all: control characters, `&`, `=`, `#`, `%`, lone surrogates… */
const anyText = fc.string({ unit: 'binary', maxLength: 24 });

const valueText = (name: string): fc.Arbitrary<string> => {
  // Own keys only: a random name may be `constructor` or `__proto__`.
  const values = Object.hasOwn(VALUES, name) ? VALUES[name] : undefined;
  if (!values) return anyText;
  return fc.oneof({ arbitrary: values.valid, weight: 30 }, { arbitrary: values.invalid, weight: 2 }, anyText);
};

/** Escapes URLSearchParams and decodeURIComponent may read differently, and text that splits a query. */
const fragment = fc.constantFrom(
  '%',
  '%zz',
  '%4',
  '%C3',
  '%C3%A9',
  '%e9',
  '%ED%A0%80',
  '%EF%BB%BF',
  '%00',
  '%2B',
  '%2b',
  '+',
  '%20',
  '%26',
  '%3D',
  '%3A',
  '&',
  '=',
  '#',
  '?',
);

/** `text` as a client might write it into a query string, rightly or wrongly. */
const written = (text: string): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constant(new URLSearchParams([['', text]]).toString().slice(1)), weight: 12 },
    { arbitrary: fc.constant(text), weight: 2 },
    {
      arbitrary: fc.constant(
        text.replaceAll(
          /[^A-Za-z0-9]/g,
          (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
        ),
      ),
      weight: 2,
    },
    fc.tuple(fragment, fc.nat()).map(([insert, at]) => {
      const i = at % (text.length + 1);
      return `${text.slice(0, i)}${insert}${text.slice(i)}`;
    }),
  );

const nameText = fc.oneof(
  { arbitrary: fc.constantFrom(...NAMES), weight: 10 },
  fc.constantFrom(
    'client%5Fid',
    '%63lient_id',
    'version%00',
    'Version',
    'snapshot ',
    'cli+ent_id',
    'foo',
    '',
    '__proto__',
    'constructor',
  ),
  anyText,
);

/** One `name=value` of the query, or a bare name. */
const pairText = (name: fc.Arbitrary<string>) =>
  name.chain((n) =>
    fc.oneof(
      {
        arbitrary: valueText(n)
          .chain(written)
          .map((v) => `${n}=${v}`),
        weight: 40,
      },
      fc.constant(n),
      fc.constant(''),
    ),
  );

/** A query close to a real check's: each parameter present or not, then extras and repeats, in any order. */
const query = fc
  .tuple(
    fc.tuple(
      ...NAMES.map((n) =>
        fc.option(pairText(fc.constant(n)), { freq: NAMES.indexOf(n) < 4 ? 12 : 2, nil: undefined }),
      ),
    ),
    fc.oneof({ arbitrary: fc.constant([]), weight: 2 }, fc.array(pairText(nameText), { maxLength: 3 })),
  )
  .chain(([base, extra]) => {
    const pairs = [...base.filter((p) => p !== undefined), ...extra];
    return fc.shuffledSubarray(pairs, { minLength: pairs.length, maxLength: pairs.length });
  })
  .map((pairs) => pairs.join('&'));

describe("the check's query read by hand", () => {
  it.each([
    // Valid.
    'client_id=c&version=1.0.0&platform=linux&arch=x64',
    'arch=x64&platform=linux&version=1.0.0&client_id=c',
    `client_id=c&version=1.0.0&platform=linux&arch=x64&channel=beta&os_version=14.2&runtime=exposdk%3A52&snapshot=${'a'.repeat(64)}`,
    'client_id=a%3Ab&version=1.2.0-beta.1&platform=darwin&arch=arm64',
    'client%5Fid=c&version=1.0.0&platform=linux&arch=x64',
    'client_id=c&version=1.0.0&platform=linux&arch=x64&foo=1&foo=2&bar&&',
    'client_id=c&version=1.0.0&platform=linux&arch=x64&runtime=%zz',
    'client_id=c&version=1.0.0&platform=linux&arch=x64&runtime=a+b',
    'client_id=c&version=1.0.0&platform=linux&arch=x64&os_version=13.0%2Bb',
    'client_id=c&version=1.0.0&platform=linux&arch=x64#snapshot=xyz',
    'client_id=c&version=9007199254740991.0.0&platform=linux&arch=x64',
    `client_id=c&version=1.0.0-${'a'.repeat(58)}&platform=linux&arch=x64`,
    // Missing.
    '',
    'version=1.0.0&platform=linux&arch=x64',
    'client_id=c&platform=linux&arch=x64',
    'client_id=c&version=1.0.0&arch=x64',
    'client_id=c&version=1.0.0&platform=linux',
    'client_id&version=1.0.0&platform=linux&arch=x64',
    // Repeated, the first repeated name in the schema's order, before any invalid value.
    'client_id=a&client_id=b&version=1.0.0&platform=linux&arch=x64',
    'client_id=c&version=one&platform=linux&arch=x64&arch=arm64',
    'snapshot=a&snapshot=b&channel=x&channel=x',
    'client_id=c&version=1.0.0&platform=linux&arch=x64&channel=&channel=',
    // Empty, invalid, too long.
    'client_id=&version=1.0.0&platform=linux&arch=x64',
    'client_id=c&version=&platform=linux&arch=x64',
    'client_id=c&version=1.0&platform=linux&arch=x64',
    'client_id=c&version=01.0.0&platform=linux&arch=x64',
    'client_id=c&version=1.0.0%2Bb&platform=linux&arch=x64',
    'client_id=c&version=9007199254740992.0.0&platform=linux&arch=x64',
    `client_id=c&version=${'1'.repeat(65)}&platform=linux&arch=x64`,
    'client_id=c&version=1.0.0&platform=Linux&arch=x64',
    'client_id=c&version=1.0.0&platform=linux&arch=amd64',
    `client_id=${'c'.repeat(129)}&version=1.0.0&platform=linux&arch=x64`,
    'client_id=c&version=1.0.0&platform=linux&arch=x64&channel=Beta',
    `client_id=c&version=1.0.0&platform=linux&arch=x64&channel=${'a'.repeat(64)}`,
    `client_id=c&version=1.0.0&platform=linux&arch=x64&os_version=1${'a'.repeat(32)}`,
    `client_id=c&version=1.0.0&platform=linux&arch=x64&runtime=${'a'.repeat(256)}`,
    `client_id=c&version=1.0.0&platform=linux&arch=x64&snapshot=${'A'.repeat(64)}`,
    `client_id=c&version=1.0.0&platform=linux&arch=x64&snapshot=${'a'.repeat(63)}`,
    'client_id=c%zz&version=1.0.0&platform=linux&arch=x64',
    'client_id=%C3&version=1.0.0&platform=linux&arch=x64',
    // Every field wrong at once: the first in the schema's order is named.
    'snapshot=x&runtime=&os_version=&channel=&arch=&platform=&version=&client_id=',
  ])('%s', (text) => expectSame(text));

  it('gives what the zod path gives for thousands of random queries', () => {
    fc.assert(
      fc.property(query, (text) => expectSame(text)),
      { seed: 16, numRuns: 10_000 },
    );
    // Every parameter was seen valid, invalid, missing and repeated, and the reader took most valid queries.
    for (const name of NAMES)
      expect(seen.messages).toContain(`${name}: is given more than once; give it once`);
    for (const name of NAMES.slice(0, 4)) expect(seen.messages).toContain(`${name}: is required`);
    expect(seen.messages).toContain('version: must be a semantic version such as 1.2.3');
    expect(seen.messages).toContain('version: Too big: expected string to have <=64 characters');
    expect(seen.messages).toContain('snapshot: must be 64 lowercase hex digits');
    for (const name of NAMES) {
      const invalid = [...seen.messages].filter(
        (m) => m.startsWith(`${name}: `) && !m.includes('more than once'),
      );
      expect(invalid, name).not.toEqual([]);
    }
    expect(seen.valid).toBeGreaterThan(1_200);
    expect(seen.read / seen.valid).toBeGreaterThan(0.9);
  });
});
