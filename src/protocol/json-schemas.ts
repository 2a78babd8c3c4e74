/**
 * JSON Schemas (draft 2020-12) of the four signed payloads, generated from their zod schemas so the
 * two cannot drift: `scripts/gen-schemas.ts` writes them to `manifests/<kind>.schema.json` and a
 * unit test fails when the committed files differ from what this module produces.
 */
import * as z from 'zod';
import {
  type DocumentKind,
  MAX_SNAPSHOT_LIFETIME_MS,
  PAYLOAD_SCHEMAS,
  publicJwkSchema,
  rangeSchema,
  releasePayloadSchema,
  TYP,
  versionSchema,
} from './documents.ts';

/**
 * The versions `versionSchema` accepts, as a pattern: semver.org's regular expression without build
 * metadata (`semver.valid` drops it, so a version carrying it is refused).
 */
export const VERSION_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)' +
  '(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$';

const lifetimeDays = MAX_SNAPSHOT_LIFETIME_MS / (24 * 3600 * 1000);

const HEADINGS: Record<DocumentKind, { title: string; description: string }> = {
  keys: {
    title: 'Updraft keys document',
    description:
      `Payload of a JWS with typ ${TYP.keys}, signed by a root key. Version N+1 must be signed by a root ` +
      'key listed in version N; clients pin the root public keys.',
  },
  release: {
    title: 'Updraft release manifest',
    description: `Payload of a JWS with typ ${TYP.release}, signed by a release key. Immutable once published.`,
  },
  yank: {
    title: 'Updraft yank statement',
    description:
      `Payload of a JWS with typ ${TYP.yank}, signed by a release key: the only document that lets a ` +
      'client move to a lower version, and only to rollback_to.',
  },
  channel: {
    title: 'Updraft channel snapshot',
    description:
      `Payload of a JWS with typ ${TYP.channel}, signed by an online key. Not expressible here and ` +
      `checked on signing and verifying: expires is after issued_at and at most ${lifetimeDays} days later.`,
  },
};

// What the zod refinements check, in words (and for versions as a pattern): JSON Schema cannot run them.
const NOTES = new Map<z.core.$ZodType, Record<string, unknown>>([
  [
    versionSchema,
    {
      pattern: VERSION_PATTERN,
      description: 'A strict semantic version without build metadata, e.g. 1.2.0-beta.1',
    },
  ],
  [
    rangeSchema,
    {
      description:
        'A node-semver range such as "*" or ">=1.0.0 <2", prereleases included when matching. ' +
        'That the range parses is checked by the zod schema, not by this JSON Schema.',
    },
  ],
  [
    releasePayloadSchema.shape.artifacts,
    { description: 'At most one artifact per platform and arch (checked by the zod schema, not here).' },
  ],
  [
    publicJwkSchema,
    { description: 'An Ed25519 public key as a JWK; kid is its RFC 7638 thumbprint (SHA-256, base64url).' },
  ],
]);

/** The JSON Schema of one payload kind, with a title and description, as committed in `manifests/`. */
export function payloadJsonSchema(kind: DocumentKind): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(PAYLOAD_SCHEMAS[kind], {
    // Documents are input to verification: describe what is accepted (unknown members are ignored).
    io: 'input',
    override: ({ zodSchema, jsonSchema }) => {
      const extra = NOTES.get(zodSchema);
      if (extra) Object.assign(jsonSchema, extra);
    },
  });
  return { $schema, ...HEADINGS[kind], ...rest };
}

/** File name of a kind's schema inside `manifests/`. */
export const schemaFileName = (kind: DocumentKind) => `${kind}.schema.json`;
