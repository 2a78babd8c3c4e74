/**
 * The backup format of `updraft export` / `updraft import` (docs/backup.md): what the export routes
 * answer, what the import route takes, and what the CLI writes to and reads from a folder. Shared by
 * the Worker and the CLI so the two can never disagree on a field.
 *
 * Signed documents travel as the exact JWS strings the deployment holds: they are the authority, and
 * the import verifies every one of them again. Everything else is the D1 rows, as rows.
 */
import * as z from 'zod';
import { channelRuleSchema } from './channels.ts';
import {
  basisPointsSchema,
  nameSchema,
  rolloutStateSchema,
  saltSchema,
  sha256HexSchema,
  versionSchema,
} from './documents.ts';
import { expoSignatureSchema } from './expo.ts';
import { planSchema } from './plan.ts';

/** Bumped when a field changes meaning; an import refuses any other version. */
export const BACKUP_FORMAT_VERSION = 1;

/** Audit rows per page, on export and on import. */
export const AUDIT_PAGE_ROWS = 500;

/** A compact JWS as stored (the document kinds are checked by the import, not here). */
const jwsText = z
  .string()
  .max(1024 * 1024)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a compact JWS');

/** Stored times are written by the Worker itself; accept them as they are, bounded. */
const storedTime = z.string().min(1).max(64);

export const keysEntrySchema = z.object({
  version: z.number().int().min(1),
  created_at: storedTime,
  jws: jwsText,
});
export type KeysEntry = z.infer<typeof keysEntrySchema>;

/** A token as D1 holds it: the SHA-256 of the token, never the token (which nobody has any more). */
export const tokenEntrySchema = z.object({
  id: z.string().regex(/^[0-9a-f]{16}$/, 'must be a token id (16 hex digits)'),
  name: z.string().min(1).max(64),
  role: z.enum(['admin', 'publisher', 'analyst']),
  token_sha256: sha256HexSchema,
  created_at: storedTime,
  created_by: z.string().min(1).max(256),
  expires_at: storedTime.nullable(),
  revoked_at: storedTime.nullable(),
  /**
   * The apps the token is limited to (docs/protocol.md §4), or null for every app. Absent from backups made
   * before tokens could be limited: every token then was for every app.
   */
  apps: z.array(nameSchema).min(1).max(100).nullable().optional(),
});
export type TokenEntry = z.infer<typeof tokenEntrySchema>;

/** The `apps` row, settings included: the webhook secret is kept so that a restore signs webhooks as before. */
export const appEntrySchema = z.object({
  name: nameSchema,
  default_channel: nameSchema,
  revision: z.number().int().min(1),
  rules: z.array(channelRuleSchema).max(100),
  webhook_url: z.string().max(2048).nullable(),
  webhook_secret: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be base64url')
    .nullable(),
  default_plan: planSchema.nullable(),
  /**
   * The D1 binding holding the app's telemetry (docs/protocol.md §11); absent means DB (exports leave it out
   * then, as backups made before apps had one do). An import refuses a binding the target does not have.
   */
  telemetry_db: z.string().min(1).max(64).optional(),
  created_at: storedTime,
  updated_at: storedTime,
});
export type AppEntry = z.infer<typeof appEntrySchema>;

/** `issued_at`/`expires` are informative: an import signs a fresh snapshot at `revision + 1`. */
export const channelEntrySchema = z.object({
  name: nameSchema,
  public: z.boolean(),
  revision: z.number().int().min(1),
  issued_at: storedTime,
  expires: storedTime,
  created_at: storedTime,
});
export type ChannelEntry = z.infer<typeof channelEntrySchema>;

/** Every other column of `releases` is read from the verified manifest. */
export const releaseEntrySchema = z.object({
  version: versionSchema,
  release_sha256: sha256HexSchema,
  created_at: storedTime,
  manifest: jwsText,
});
export type ReleaseEntry = z.infer<typeof releaseEntrySchema>;

export const rolloutEntrySchema = z.object({
  channel: nameSchema,
  version: versionSchema,
  percent_bp: basisPointsSchema,
  salt: saltSchema,
  state: rolloutStateSchema,
  plan: planSchema.nullable(),
  step: z.number().int().min(0).max(100).nullable(),
  step_started_at: storedTime.nullable(),
  /** The scheduler's last judgement, as it stored it (informative; the next run replaces it). */
  judgement: z.unknown(),
  created_at: storedTime,
  updated_at: storedTime,
});
export type RolloutEntry = z.infer<typeof rolloutEntrySchema>;

/** Every other column of `yanks` is read from the verified statement. */
export const yankEntrySchema = z.object({
  version: versionSchema,
  yank_sha256: sha256HexSchema,
  created_at: storedTime,
  yank: jwsText,
  /** The `expo-signature` of the yank's rollBackToEmbedded directive (docs/protocol.md §10), when it has one. */
  expo_directive_signature: expoSignatureSchema.optional(),
});
export type YankEntry = z.infer<typeof yankEntrySchema>;

/**
 * A rollout's standby yank (docs/protocol.md §6): signed at promote for a plan with `on_breach: rollback`, kept
 * sealed until the scheduler publishes it. Every other column is read from the verified statement.
 */
export const standbyYankEntrySchema = z.object({
  channel: nameSchema,
  version: versionSchema,
  yank_sha256: sha256HexSchema,
  created_at: storedTime,
  yank: jwsText,
  /** The signed rollBackToEmbedded directive published with it, for an Expo app (docs/protocol.md §10). */
  expo_directive_signature: expoSignatureSchema.optional(),
});
export type StandbyYankEntry = z.infer<typeof standbyYankEntrySchema>;

/** One app with everything that hangs off it: `GET /v1/admin/export/apps/{app}`. */
export const appExportSchema = z.object({
  app: appEntrySchema,
  channels: z.array(channelEntrySchema).min(1).max(100),
  releases: z.array(releaseEntrySchema).max(10_000),
  rollouts: z.array(rolloutEntrySchema).max(100_000),
  yanks: z.array(yankEntrySchema).max(10_000),
  /** Absent from exports made before automatic rollback: none. */
  standby_yanks: z.array(standbyYankEntrySchema).max(100_000).optional(),
});
export type AppExport = z.infer<typeof appExportSchema>;

/** Which audit ids an export holds: `rows` rows from `min_id` to `max_id` (null when none). */
export const auditRangeSchema = z.object({
  rows: z.number().int().min(0),
  min_id: z.number().int().min(1).nullable(),
  max_id: z.number().int().min(1).nullable(),
});
export type AuditRange = z.infer<typeof auditRangeSchema>;

/** An audit row as the audit API shows it (`before`/`after` parsed). */
export const auditRowSchema = z.object({
  id: z.number().int().min(1),
  at: storedTime,
  actor: z.string().max(512),
  action: z.string().max(128),
  app: z.string().max(128).nullable(),
  target: z.string().max(1024).nullable(),
  before: z.unknown(),
  after: z.unknown(),
});
export type AuditRow = z.infer<typeof auditRowSchema>;

export const exportScopeSchema = z.enum(['all', 'app']);

/** `GET /v1/admin/export[?app=]`: the deployment-wide part and what else to fetch. */
export interface ExportIndex {
  format_version: number;
  exported_at: string;
  /** The origin the export was read from. */
  source: string;
  scope: z.infer<typeof exportScopeSchema>;
  apps: string[];
  keys: KeysEntry[];
  /** Empty for a one-app export: tokens belong to the deployment, not to an app. */
  tokens: TokenEntry[];
  audit: AuditRange;
}

/** `POST /v1/admin/import`: the control plane of a deployment; the audit rows follow in pages. */
export const importBodySchema = z.object({
  format_version: z.literal(BACKUP_FORMAT_VERSION, { error: `must be ${BACKUP_FORMAT_VERSION}` }),
  exported_at: storedTime,
  source: z.string().max(2048),
  scope: exportScopeSchema,
  keys: z.array(keysEntrySchema).min(1).max(1000),
  tokens: z.array(tokenEntrySchema).max(10_000),
  apps: z.array(appExportSchema).max(1000),
  audit: auditRangeSchema.refine(
    (r) =>
      r.rows === 0
        ? r.min_id === null && r.max_id === null
        : r.min_id !== null && r.max_id !== null && r.min_id <= r.max_id && r.rows <= r.max_id - r.min_id + 1,
    'rows, min_id and max_id must describe the audit ids of the export',
  ),
});
export type ImportBody = z.infer<typeof importBodySchema>;

/** `POST /v1/admin/import/audit`: one page of the audit log of the last import. */
export const importAuditBodySchema = z.object({ rows: z.array(auditRowSchema).min(1).max(AUDIT_PAGE_ROWS) });

/** `POST /v1/admin/import` → 201. */
export interface ImportResult {
  apps: string[];
  counts: ImportCounts;
  /** Audit rows to send to `POST /v1/admin/import/audit`, and how their ids move (0 on an empty log). */
  audit: AuditRange & { id_offset: number };
  /** The id of the `import` audit row. */
  import_audit_id: number;
}

export interface ImportCounts {
  keys: number;
  tokens: number;
  apps: number;
  channels: number;
  releases: number;
  rollouts: number;
  yanks: number;
  /** Absent from Workers older than automatic rollback. */
  standby_yanks?: number;
}

/** `POST /v1/admin/import/audit` → 200. */
export interface ImportAuditResult {
  inserted: number;
  /** Rows of the import's range still missing; 0 when the audit log is complete. */
  remaining: number;
}
