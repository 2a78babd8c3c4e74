/**
 * Arbitrary HTTP requests for the route property tests: for a route pattern, its path filled with
 * real, near-real and hostile parameters; arbitrary query strings and headers (Authorization,
 * Content-Type, Content-Length, Range, If-None-Match…); any method; and bodies that are random bytes,
 * random JSON, or the route's valid body with one field mutated.
 */
import fc from 'fast-check';
import type { FuzzWorld, RouteSpec } from './fuzz-world.ts';

export interface FuzzRequest {
  [fc.toStringMethod]?: () => string;
  method: string;
  /** Path and query, already encoded as they go on the wire. */
  url: string;
  headers: [string, string][];
  body: Uint8Array | string | undefined;
}

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** Printable ASCII: what a header value can hold without the Headers constructor refusing it. */
const printable = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

const hostileSegments = fc.constantFrom(
  '..',
  '.',
  '%2e%2e',
  '%00',
  '%ZZ',
  '%',
  'a%2Fb',
  '%20',
  'x'.repeat(300),
  '%E0%A4%A',
  '%F0%9F%92%A9',
  '~',
  '@',
  'NaN',
  '-1',
  '1e3',
  '0',
  'constructor',
  '__proto__',
);

/** A path parameter: mostly a real value, else a near-miss of one, random text, or something hostile. */
function paramArb(pool: readonly string[]): fc.Arbitrary<string> {
  const real = fc.constantFrom(...pool);
  return fc.oneof(
    { weight: 8, arbitrary: real },
    {
      weight: 1,
      arbitrary: fc
        .tuple(real, fc.constantFrom('upper', 'append', 'prepend', 'cut'))
        .map(([v, how]) =>
          how === 'upper'
            ? v.toUpperCase()
            : how === 'append'
              ? `${v}x`
              : how === 'prepend'
                ? `.${v}`
                : v.slice(1),
        ),
    },
    {
      weight: 2,
      arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map(encodeURIComponent),
    },
    { weight: 2, arbitrary: hostileSegments },
  );
}

const GENERIC_PARAMS = ['x', '1', 'stable', '1.0.0'];

/**
 * The route's path with each `:param` filled in: a real value (the route's own pool first), except
 * the parameter at `focus`, or every one with 'all', which is any pick of `paramArb`.
 */
function pathArb(
  world: FuzzWorld,
  spec: RouteSpec,
  pattern: string,
  focus: number | 'all' | 'none',
): fc.Arbitrary<string> {
  let index = -1;
  const parts = pattern.split('/').map((segment) => {
    if (!segment.startsWith(':')) return fc.constant(segment);
    index += 1;
    const name = segment
      .slice(1)
      .replace(/\{.*\}$/, '')
      .replace(/\?$/, '');
    const own = spec.params?.[name] ?? [];
    const pool = [...own, ...(world.params[name] ?? GENERIC_PARAMS)];
    return focus === 'all' || focus === index
      ? paramArb(pool)
      : fc.constantFrom(...(own.length > 0 ? own : pool));
  });
  return fc.tuple(...parts).map((segments) => segments.join('/'));
}

const paramCount = (pattern: string) => pattern.split('/').filter((s) => s.startsWith(':')).length;

const QUERY_NAMES = [
  'client_id',
  'version',
  'platform',
  'arch',
  'channel',
  'os_version',
  'upload_id',
  'part',
  'app',
  'limit',
  'before',
  'from',
  'to',
  'interval',
];

const valueArb = fc.oneof(
  printable(20),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    '1.0.0',
    'linux',
    'x64',
    'stable',
    '-1',
    '0',
    '1e400',
    '99999999999999999999',
    '2026-13-40T25:00:00Z',
  ),
  hostileSegments,
);

/** The valid query with one parameter removed, replaced or repeated, and random extra ones; or raw junk. */
function queryArb(base: Record<string, string> = {}): fc.Arbitrary<string> {
  const names = Object.keys(base);
  const edit: fc.Arbitrary<[string, string][]> =
    names.length === 0
      ? fc.constant([])
      : fc
          .tuple(fc.constantFrom(...names), fc.constantFrom('keep', 'drop', 'replace', 'repeat'), valueArb)
          .map(([name, how, value]) => {
            const entries = Object.entries(base).filter(
              ([n]) => how === 'keep' || how === 'repeat' || n !== name,
            );
            if (how === 'replace' || how === 'repeat') entries.push([name, value]);
            return entries;
          });
  const extra = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_NAMES), printable(8)), valueArb), {
    maxLength: 3,
  });
  const encoded = fc.tuple(edit, extra).map(([a, b]) => {
    const text = new URLSearchParams([...a, ...b]).toString();
    return text === '' ? '' : `?${text}`;
  });
  const raw = fc.constantFrom(
    '?',
    '?&&',
    '?%zz=1',
    '?=x',
    '?a=%',
    '?client_id=%E0%A4%A',
    '?limit=1&limit=2',
    '?+=+',
  );
  return fc.oneof({ weight: 6, arbitrary: encoded }, { weight: 1, arbitrary: raw });
}

function authorizationArb(world: FuzzWorld, admin: boolean): fc.Arbitrary<string | undefined> {
  const other = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      world.tokens.analyst,
      world.tokens.publisher,
      world.tokens.revoked,
      'Bearer',
      'Bearer ',
      'Basic dXNlcjpwYXNz',
      `${world.bootstrap} extra`,
      world.bootstrap.toLowerCase(),
      `${world.bootstrap.replace('Bearer ', 'Bearer  ')}`,
      `Bearer ${'x'.repeat(600)}`,
    ),
    printable(40).map((t) => `Bearer ${t}`),
    fc
      .string({
        unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
        minLength: 43,
        maxLength: 43,
      })
      .map((t) => `Bearer updr_${t}`),
    printable(40),
  );
  // Half of the admin requests carry the bootstrap token, so validation is reached, not only auth.
  return admin ? fc.oneof(fc.constant(world.bootstrap), other) : other;
}

const headerArbs: Record<string, fc.Arbitrary<string>> = {
  'Content-Type': fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
      'application/octet-stream',
      'application/json; charset=latin1',
    ),
    printable(30),
  ),
  'Content-Length': fc.oneof(
    fc.constantFrom('0', '1', '5', '-1', 'abc', '1e3', '99999999999', ' 7'),
    fc.nat().map(String),
  ),
  Range: fc.oneof(
    fc.constantFrom(
      'bytes=0-3',
      'bytes=-5',
      'bytes=5-',
      'bytes=10-5',
      'bytes=0-0,2-3',
      'bytes=999999-',
      'items=0-1',
      'bytes=-0',
      'bytes=0-99999999999999999',
    ),
    printable(20),
  ),
  'If-None-Match': fc.oneof(fc.constantFrom('*', '"abc"', 'W/"abc"', '"a", "b"', ''), printable(30)),
  'If-Range': fc.oneof(fc.constantFrom('"abc"', 'Wed, 21 Oct 2015 07:28:00 GMT'), printable(20)),
  'X-Updraft-Sha256': fc.oneof(
    fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 64, maxLength: 64 }),
    printable(70),
  ),
  'Transfer-Encoding': fc.constantFrom('chunked', 'gzip'),
};

/** The route's headers, each kept or replaced, plus random ones from the list above. */
function headersArb(
  world: FuzzWorld,
  admin: boolean,
  base: Record<string, string> = {},
): fc.Arbitrary<[string, string][]> {
  const extras = fc
    .uniqueArray(fc.constantFrom(...Object.keys(headerArbs)), { maxLength: 3 })
    .chain((names) =>
      fc.tuple(
        ...names.map((name) => (headerArbs[name] ?? printable(10)).map((v): [string, string] => [name, v])),
      ),
    );
  return fc.tuple(authorizationArb(world, admin), extras, fc.boolean()).map(([auth, extra, keepBase]) => {
    const headers = new Map<string, string>(keepBase ? Object.entries(base) : []);
    for (const [name, value] of extra) headers.set(name, value);
    if (auth !== undefined) headers.set('Authorization', auth);
    return [...headers];
  });
}

// --- bodies ---------------------------------------------------------------------------------------

type Path = (string | number)[];

/** Every field path of a JSON value (object keys and array items, nested). */
export function fieldPaths(value: fc.JsonValue, at: Path = []): Path[] {
  const here = at.length > 0 ? [at] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => fieldPaths(v, [...at, i]))];
  if (value !== null && typeof value === 'object') {
    return [
      ...here,
      ...Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : fieldPaths(v, [...at, k]))),
    ];
  }
  return here;
}

/** `value` with the field at `path` replaced, or removed when `replacement` is undefined. */
export function setAt(value: fc.JsonValue, path: Path, replacement: fc.JsonValue | undefined): fc.JsonValue {
  const [head, ...rest] = path;
  if (head === undefined) return replacement ?? null;
  if (Array.isArray(value) && typeof head === 'number') {
    if (rest.length === 0 && replacement === undefined) return value.filter((_, i) => i !== head);
    return value.map((v, i) => (i === head ? setAt(v, rest, replacement) : v));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof head === 'string') {
    const entries = Object.entries(value).filter(
      ([k]) => !(k === head && rest.length === 0 && replacement === undefined),
    );
    return Object.fromEntries(
      entries.map(([k, v]) => [k, k === head && v !== undefined ? setAt(v, rest, replacement) : v]),
    );
  }
  return value;
}

const replacementArb: fc.Arbitrary<fc.JsonValue> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<fc.JsonValue>(
    -1,
    0,
    1.5,
    1e308,
    2 ** 53 + 2,
    '',
    'x'.repeat(3000),
    true,
    null,
    [],
    {},
    '../../etc/passwd',
    '1.0.0',
    '2099-01-01T00:00:00Z',
    'default',
  ),
);

const EXTRA_KEYS = [
  'expected_revision',
  'reason',
  'critical',
  'plan',
  'percent_bp',
  'public',
  'events',
  '__proto__',
];

/** The valid body with one field replaced, removed, or one key added. */
function nearValidArb(template: fc.JsonValue): fc.Arbitrary<fc.JsonValue> {
  const paths = fieldPaths(template);
  const added = fc
    .tuple(fc.constantFrom(...EXTRA_KEYS), replacementArb)
    .map(
      ([k, v]): fc.JsonValue =>
        template !== null && typeof template === 'object' && !Array.isArray(template)
          ? { ...template, [k]: v }
          : template,
    );
  if (paths.length === 0) return added;
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(fc.constantFrom(...paths), replacementArb).map(([p, r]) => setAt(template, p, r)),
    },
    { weight: 2, arbitrary: fc.constantFrom(...paths).map((p) => setAt(template, p, undefined)) },
    { weight: 1, arbitrary: added },
  );
}

function bodyArb(spec: RouteSpec): fc.Arbitrary<Uint8Array | string | undefined> {
  const choices: fc.WeightedArbitrary<Uint8Array | string | undefined>[] = [
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.constant(`{"events":[${'{},'.repeat(30_000)}{}]}`) },
  ];
  if (spec.body !== undefined) {
    const valid = JSON.stringify(spec.body);
    choices.push(
      { weight: 8, arbitrary: nearValidArb(spec.body).map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.constant(valid) },
      { weight: 1, arbitrary: fc.nat({ max: valid.length - 1 }).map((n) => valid.slice(0, n)) },
    );
  }
  if (spec.bytes !== undefined) {
    const bytes = spec.bytes;
    choices.push(
      { weight: 4, arbitrary: fc.constant(bytes) },
      { weight: 2, arbitrary: fc.nat({ max: bytes.length }).map((n) => bytes.slice(0, n)) },
    );
  }
  return fc.oneof(...choices);
}

function describeBody(body: FuzzRequest['body']): string {
  if (body === undefined) return 'no body';
  if (typeof body === 'string')
    return body.length > 200
      ? `${JSON.stringify(body.slice(0, 200))}… (${body.length} chars)`
      : JSON.stringify(body);
  return `${body.length} bytes`;
}

/** As fast-check prints a counterexample: one line, the body cut short. */
function withSummary(request: Omit<FuzzRequest, typeof fc.toStringMethod>): FuzzRequest {
  return {
    ...request,
    [fc.toStringMethod]: () =>
      `${request.method} ${request.url} ${JSON.stringify(request.headers)} ${describeBody(request.body)}`,
  };
}

/** What one request puts its randomness into; the rest of it is the route's valid request. */
const FOCI = ['param', 'method', 'query', 'headers', 'body', 'everything'] as const;

/**
 * A request to the route `method pattern`: the route's valid request (spec) with one part made
 * arbitrary (a path parameter, the method, the query, the headers or the body), or all of them.
 * Half of the admin requests carry the bootstrap token whatever the focus, so validation is reached.
 */
export function requestArb(
  world: FuzzWorld,
  method: string,
  pattern: string,
  spec: RouteSpec,
): fc.Arbitrary<FuzzRequest> {
  const admin = pattern.startsWith('/v1/admin');
  const validQuery = spec.query ? `?${new URLSearchParams(spec.query)}` : '';
  const validHeaders = {
    ...(spec.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    ...spec.headers,
  };
  const validBody = spec.bytes ?? (spec.body === undefined ? undefined : JSON.stringify(spec.body));
  const params = paramCount(pattern);
  return fc
    .constantFrom(...FOCI)
    .chain((focus) => {
      const all = focus === 'everything';
      const param =
        focus === 'param' && params > 0
          ? fc.nat({ max: params - 1 })
          : fc.constant<'all' | 'none'>(all ? 'all' : 'none');
      return fc.record({
        method: all || focus === 'method' ? fc.constantFrom(...METHODS) : fc.constant(method),
        path: param.chain((p) => pathArb(world, spec, pattern, p)),
        query: all || focus === 'query' ? queryArb(spec.query) : fc.constant(validQuery),
        headers:
          all || focus === 'headers'
            ? headersArb(world, admin, validHeaders)
            : authorizationArb(world, admin).map((auth) => [
                ...Object.entries(validHeaders),
                ...(auth === undefined ? [] : [['Authorization', auth] as [string, string]]),
              ]),
        body: all || focus === 'body' ? bodyArb(spec) : fc.constant(validBody),
      });
    })
    .map(({ method: m, path, query, headers, body }) =>
      withSummary({
        method: m,
        url: `${path}${query}`,
        headers,
        // GET and HEAD cannot carry a body.
        body: m === 'GET' || m === 'HEAD' ? undefined : body,
      }),
    );
}

const PATH_WORDS = [
  'v1',
  'admin',
  'apps',
  'channels',
  'stable',
  'rollouts',
  'keys',
  'check',
  'events',
  'artifacts',
  'uploads',
  'multipart',
  'healthz',
  'dashboard',
  'export',
  'import',
  'audit',
  '',
];

/** Paths no route was written for: real words in wrong orders, random and hostile segments. */
export function unknownRequestArb(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const segment = fc.oneof(fc.constantFrom(...PATH_WORDS, world.app), paramArb(['1.0.0', 'linux-x64']));
  return fc
    .record({
      method: fc.constantFrom(...METHODS),
      segments: fc.array(segment, { minLength: 0, maxLength: 8 }),
      query: queryArb(),
      headers: headersArb(world, true),
      body: bodyArb({}),
    })
    .map(({ method, segments, query, headers, body }) =>
      withSummary({
        method,
        url: `/${segments.join('/')}${query}`,
        headers,
        body: method === 'GET' || method === 'HEAD' ? undefined : body,
      }),
    );
}
