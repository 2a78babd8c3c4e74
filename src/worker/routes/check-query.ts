/**
 * The check's query (docs/api.md): its zod schema, which is its definition, and a hand-written reader
 * of it for the hot path. Parsing the query with zod was a sixth of a warm check's CPU
 * (BENCHMARKS.md); the reader takes every valid query it can decode, and leaves anything else (a
 * parameter missing, repeated or invalid, an escape it cannot decode) to the zod path, so a 400 is
 * zod's, word for word. test/worker/check-query.property.test.ts holds the two paths equal.
 */
import * as z from 'zod';
import {
  ARCHES,
  type Arch,
  archSchema,
  CLIENT_ID_PATTERN,
  clientIdSchema,
  NAME_PATTERN,
  nameSchema,
  PLATFORMS,
  type Platform,
  platformSchema,
  runtimeSchema,
  SHA256_HEX_PATTERN,
  sha256HexSchema,
  versionSchema,
} from '../../protocol/documents.ts';
import { parseQuery } from '../http/validate.ts';

/** A query parameter that must be present: a missing one reads "is required", not a type error. */
const required = <T extends z.ZodType<unknown, string>>(schema: T) =>
  z.string({ error: 'is required' }).pipe(schema);

// Loose on purpose (`14`, `14.2`, `10.0.19045`): the decision coerces it; it only has to start with a number.
const OS_VERSION_PATTERN = /^[0-9][0-9A-Za-z.+_-]{0,31}$/;

export const checkQuerySchema = z.object({
  client_id: required(clientIdSchema),
  version: required(versionSchema),
  platform: required(platformSchema),
  arch: required(archSchema),
  channel: z.string({ error: 'must be given once' }).pipe(nameSchema).optional(),
  os_version: z
    .string({ error: 'must be given once' })
    .regex(OS_VERSION_PATTERN, 'must be an OS version such as 14.2, at most 32 characters')
    .optional(),
  runtime: z.string({ error: 'must be given once' }).pipe(runtimeSchema).optional(),
  // The SHA-256 of the snapshot JWS the client holds: the current one is then left out of the answer.
  snapshot: z.string({ error: 'must be given once' }).pipe(sha256HexSchema).optional(),
});

export type CheckQuery = z.output<typeof checkQuerySchema>;

const isPlatform = (value: string): value is Platform => (PLATFORMS as readonly string[]).includes(value);
const isArch = (value: string): value is Arch => (ARCHES as readonly string[]).includes(value);

// `1.2.3` with parts of at most 15 digits (below 2^53), which semver takes as it stands; any other
// version (a prerelease, a part too large…) goes to versionSchema itself.
const PLAIN_VERSION = /^(?:0|[1-9][0-9]{0,14})\.(?:0|[1-9][0-9]{0,14})\.(?:0|[1-9][0-9]{0,14})$/;
const isVersion = (value: string) => PLAIN_VERSION.test(value) || versionSchema.safeParse(value).success;

/** The check's query of `url`, validated; throws ApiError 400 `invalid_query` naming the parameter at fault. */
export function parseCheckQuery(url: URL): CheckQuery {
  return readCheckQuery(url) ?? parseQuery(url, checkQuerySchema);
}

/**
 * The check's query of `url` when it is valid and each name and value of it decodes as
 * `decodeURIComponent` decodes it; otherwise undefined, and the zod path decides.
 */
export function readCheckQuery(url: URL): CheckQuery | undefined {
  // Locals and a switch: half the time of a record keyed by name behind a Set of names (in Node).
  let client_id: string | undefined;
  let version: string | undefined;
  let platform: string | undefined;
  let arch: string | undefined;
  let channel: string | undefined;
  let os_version: string | undefined;
  let runtime: string | undefined;
  let snapshot: string | undefined;
  // The query of a parsed URL is ASCII: its other characters are percent-encoded.
  const search = url.search;
  for (const pair of search.length > 1 ? search.slice(1).split('&') : []) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decoded(equals === -1 ? pair : pair.slice(0, equals));
    const value = decoded(equals === -1 ? '' : pair.slice(equals + 1));
    if (name === undefined || value === undefined) return undefined;
    // A parameter given twice is a 400, which the zod path words.
    switch (name) {
      case 'client_id':
        if (client_id !== undefined) return undefined;
        client_id = value;
        break;
      case 'version':
        if (version !== undefined) return undefined;
        version = value;
        break;
      case 'platform':
        if (platform !== undefined) return undefined;
        platform = value;
        break;
      case 'arch':
        if (arch !== undefined) return undefined;
        arch = value;
        break;
      case 'channel':
        if (channel !== undefined) return undefined;
        channel = value;
        break;
      case 'os_version':
        if (os_version !== undefined) return undefined;
        os_version = value;
        break;
      case 'runtime':
        if (runtime !== undefined) return undefined;
        runtime = value;
        break;
      case 'snapshot':
        if (snapshot !== undefined) return undefined;
        snapshot = value;
        break;
    }
  }

  if (client_id === undefined || !CLIENT_ID_PATTERN.test(client_id)) return undefined;
  if (version === undefined || !isVersion(version)) return undefined;
  if (platform === undefined || !isPlatform(platform)) return undefined;
  if (arch === undefined || !isArch(arch)) return undefined;
  // The keys in the schema's order, an optional one only when given: zod's output exactly.
  const query: CheckQuery = { client_id, version, platform, arch };
  if (channel !== undefined) {
    if (!NAME_PATTERN.test(channel)) return undefined;
    query.channel = channel;
  }
  if (os_version !== undefined) {
    if (!OS_VERSION_PATTERN.test(os_version)) return undefined;
    query.os_version = os_version;
  }
  if (runtime !== undefined) {
    if (!runtimeSchema.safeParse(runtime).success) return undefined;
    query.runtime = runtime;
  }
  if (snapshot !== undefined) {
    if (!SHA256_HEX_PATTERN.test(snapshot)) return undefined;
    query.snapshot = snapshot;
  }
  return query;
}

/**
 * A name or value of an `application/x-www-form-urlencoded` query, as URLSearchParams decodes it:
 * `+` is a space, `%xx` a byte of UTF-8. Undefined for an escape that is not UTF-8, which
 * URLSearchParams would keep or replace with U+FFFD and decodeURIComponent refuses.
 */
function decoded(raw: string): string | undefined {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}
