/**
 * The four signed document kinds of docs/protocol.md §2 and the small value types they are built from.
 *
 * Every payload has a zod schema (used by the Worker to validate what it is given, and by the SDK
 * to validate what it receives) and a TypeScript type inferred from it. The JSON Schemas in
 * `manifests/*.schema.json` describe the same shapes for other tools; a test keeps them in step.
 */
import semverValid from 'semver/functions/valid.js';
import semverValidRange from 'semver/ranges/valid.js';
import * as z from 'zod';
import { expoArtifactSchema } from './expo.ts';

/** JWS `typ` header of each document kind (RFC 8725 §3.11: one kind can never pass for another). */
export const TYP = {
  keys: 'updraft-keys+jwt',
  release: 'updraft-release+jwt',
  yank: 'updraft-yank+jwt',
  channel: 'updraft-channel+jwt',
} as const;
export type DocumentKind = keyof typeof TYP;

/** Platforms and architectures an artifact can target. `any` is an arch-independent artifact (a JS bundle). */
export const PLATFORMS = ['linux', 'darwin', 'windows', 'android', 'ios', 'web'] as const;
export const ARCHES = ['x64', 'arm64', 'ia32', 'arm', 'universal', 'any'] as const;
export const ROLLOUT_STATES = ['active', 'paused', 'halted', 'complete'] as const;

export const platformSchema = z.enum(PLATFORMS);
export const archSchema = z.enum(ARCHES);
export const rolloutStateSchema = z.enum(ROLLOUT_STATES);
export type Platform = z.infer<typeof platformSchema>;
export type Arch = z.infer<typeof archSchema>;
export type RolloutState = z.infer<typeof rolloutStateSchema>;

/** App and channel names: lowercase slugs, safe in URLs, KV keys and R2 paths. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const nameSchema = z
  .string()
  .regex(NAME_PATTERN, 'must be 1-63 of a-z, 0-9 and -, starting with a letter or digit');

/** A client's random install ID (docs/protocol.md §3): never personal data. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const clientIdSchema = z.string().regex(CLIENT_ID_PATTERN, 'must be 1-128 of A-Z a-z 0-9 . _ : -');

/** A strict semantic version (`1.2.3`, `1.2.0-beta.1`), at most 64 characters. */
export const versionSchema = z
  .string()
  .max(64)
  .refine((v) => semverValid(v) === v, 'must be a semantic version such as 1.2.3');

/** A semver range (`*`, `>=1.0.0 <2`), at most 256 characters. */
export const rangeSchema = z
  .string()
  .max(256)
  .refine((r) => semverValidRange(r) !== null, 'must be a semver range such as >=1.0.0');

/** A SHA-256 as 64 lowercase hex digits. */
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;
export const sha256HexSchema = z.string().regex(SHA256_HEX_PATTERN, 'must be 64 lowercase hex digits');
export const saltSchema = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex digits');
/** RFC 3339 UTC timestamp, e.g. 2026-11-21T18:00:00Z (fractional seconds allowed). */
export const timestampSchema = z.iso.datetime();
/** Basis points: 1 = 0.01 %, 10000 = everyone. */
export const basisPointsSchema = z.number().int().min(0).max(10_000);

/** A file name inside an artifact path: no separators, no dot-only names. */
export const fileNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/,
    'must be 1-128 of A-Z a-z 0-9 . _ + -, not starting with a dot',
  );

/** Public Ed25519 key as a JWK; `kid` is its RFC 7638 thumbprint. */
export const publicJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  kid: z.string().min(1).max(128),
});
export type PublicJwk = z.infer<typeof publicJwkSchema>;

export const keysPayloadSchema = z.object({
  version: z.number().int().min(1),
  expires: timestampSchema,
  root: z.array(publicJwkSchema).min(1),
  release: z.array(publicJwkSchema).min(1),
  online: z.array(publicJwkSchema).min(1),
});
export type KeysPayload = z.infer<typeof keysPayloadSchema>;

/**
 * A native build's compatibility (docs/protocol.md §3, Expo's runtime version): printable ASCII, matched
 * exactly, at most 255 characters.
 */
export const runtimeSchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters without spaces');

/** SHA-512 in standard base64 (88 characters), as electron-builder writes it into `latest.yml`. */
export const sha512Base64Schema = z
  .string()
  .regex(/^[A-Za-z0-9+/]{86}==$/, 'must be a SHA-512 in base64 (88 characters)');

/**
 * A file that travels with an artifact and is served beside it (docs/protocol.md §9): electron-builder's
 * `.blockmap` for differential downloads. Hashed and size-checked like the artifact.
 */
export const sidecarSchema = z.object({
  file: fileNameSchema,
  sha256: sha256HexSchema,
  size: z.number().int().min(0),
  sha512: sha512Base64Schema.optional(),
});
export type Sidecar = z.infer<typeof sidecarSchema>;

export const artifactSchema = z.object({
  platform: platformSchema,
  arch: archSchema,
  file: fileNameSchema,
  sha256: sha256HexSchema,
  size: z.number().int().min(0),
  content_type: z.string().max(128).optional(),
  os: rangeSchema.optional(),
  /** Only for clients of this runtime (docs/protocol.md §3); an artifact without one is for clients that send none. */
  runtime: runtimeSchema.optional(),
  /** For electron-updater, which checks downloads against it (docs/protocol.md §9). */
  sha512: sha512Base64Schema.optional(),
  /**
   * For Tauri's updater: the `.sig` file `tauri build` writes next to the bundle, as is (base64 of a
   * minisign signature file), made with the app's own updater key.
   */
  minisign: z
    .string()
    .regex(/^[A-Za-z0-9+/=]{16,2048}$/, 'must be the base64 content of a Tauri .sig file')
    .optional(),
  /** For Sparkle: the EdDSA (Ed25519) signature of the file in base64, made with the app's Sparkle key. */
  ed_signature: z
    .string()
    .regex(/^[A-Za-z0-9+/]{86}==$/, 'must be an Ed25519 signature in base64 (88 characters)')
    .optional(),
  sidecars: z
    .array(sidecarSchema)
    .max(8)
    .refine((list) => new Set(list.map((s) => s.file)).size === list.length, 'sidecar files must differ')
    .optional(),
  /**
   * For expo-updates (docs/protocol.md §10): the platform's manifest, fixed at publish time, and its code
   * signature. The artifact itself is the manifest's launch asset, stored content-addressed.
   */
  expo: expoArtifactSchema.optional(),
});
export type Artifact = z.infer<typeof artifactSchema>;

export const releasePayloadSchema = z.object({
  app: nameSchema,
  version: versionSchema,
  published_at: timestampSchema,
  notes: z.string().max(10_000),
  mandatory: z.boolean(),
  critical: z.boolean(),
  requires: rangeSchema,
  artifacts: z
    .array(artifactSchema)
    .min(1)
    .max(64)
    .refine(
      (list) => new Set(list.map((a) => `${a.platform}-${a.arch}`)).size === list.length,
      'at most one artifact per platform and arch',
    ),
});
export type ReleasePayload = z.infer<typeof releasePayloadSchema>;

export const yankPayloadSchema = z.object({
  app: nameSchema,
  version: versionSchema,
  reason: z.string().min(1).max(1000),
  rollback_to: versionSchema.nullable(),
  yanked_at: timestampSchema,
});
export type YankPayload = z.infer<typeof yankPayloadSchema>;

export const rolloutSchema = z.object({
  percent_bp: basisPointsSchema,
  salt: saltSchema,
  state: rolloutStateSchema,
});
export type Rollout = z.infer<typeof rolloutSchema>;

export const channelPayloadSchema = z.object({
  app: nameSchema,
  channel: nameSchema,
  revision: z.number().int().min(1),
  issued_at: timestampSchema,
  expires: timestampSchema,
  /**
   * The channel's live releases, not its history (docs/protocol.md §2): src/protocol/prune.ts leaves out every
   * release whose absence changes no decision. `mandatory_floor` is the highest mandatory version
   * below this one among the channel's offerable releases, listed or left out: an update to this
   * release from below the floor is mandatory even when the mandatory release itself is not listed.
   */
  releases: z.array(
    z.object({
      version: versionSchema,
      release_sha256: sha256HexSchema,
      rollout: rolloutSchema,
      mandatory_floor: versionSchema.optional(),
    }),
  ),
  yanked: z.array(
    z.object({ version: versionSchema, yank_sha256: sha256HexSchema, rollback_to: versionSchema.nullable() }),
  ),
});
export type ChannelPayload = z.infer<typeof channelPayloadSchema>;

/** Payload schema and type of each document kind, for generic sign/verify helpers. */
export const PAYLOAD_SCHEMAS = {
  keys: keysPayloadSchema,
  release: releasePayloadSchema,
  yank: yankPayloadSchema,
  channel: channelPayloadSchema,
} as const;
export type PayloadOf<K extends DocumentKind> = z.infer<(typeof PAYLOAD_SCHEMAS)[K]>;

/** A snapshot may live at most this long after it is issued (docs/protocol.md §2). */
export const MAX_SNAPSHOT_LIFETIME_MS = 7 * 24 * 3600 * 1000;
