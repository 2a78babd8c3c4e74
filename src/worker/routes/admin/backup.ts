/**
 * Export and import of the control plane (docs/backup.md, docs/api.md § Backup and restore).
 * Export is read in bounded pieces: the deployment-wide part, one app at a time, the audit log in
 * pages. Import takes the control plane in one request, checks every signature, writes it in one D1
 * batch and projects KV; the audit log follows in pages into the id range the import reserved.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import * as z from 'zod';
import {
  type AppExport,
  AUDIT_PAGE_ROWS,
  auditRangeSchema,
  BACKUP_FORMAT_VERSION,
  type ExportIndex,
  type ImportAuditResult,
  type ImportResult,
  importAuditBodySchema,
  importBodySchema,
} from '../../../protocol/backup.ts';
import { channelRuleSchema } from '../../../protocol/channels.ts';
import { nameSchema, type RolloutState } from '../../../protocol/documents.ts';
import { publicJwk } from '../../../protocol/keys.ts';
import { type Plan, planSchema } from '../../../protocol/plan.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { ApiError, badRequest, conflict, notFound } from '../../http/errors.ts';
import { validate, wholeNumber } from '../../http/validate.ts';
import {
  type AppRows,
  countAudit,
  importStatements,
  insertAuditRows,
  lastImport,
  readAppRows,
  readAuditPage,
  readGlobalExport,
  readImportTarget,
} from '../../storage/backup.ts';
import { putDocument } from '../../storage/objects.ts';
import { releaseDocKey, yankDocKey } from '../../storage/projection.ts';
import {
  assertCanSign,
  onlineKey,
  projectApp,
  projectChannels,
  projectKeys,
} from '../../storage/projection-writer.ts';
import { isGuardFailure, isoSeconds, isUniqueViolation } from '../../storage/revisions.ts';
import { CONTROL_DB, telemetryBindings } from '../../storage/telemetry-dbs.ts';
import type { AppEnv } from '../../types.ts';
import { prepareImport } from './backup-import.ts';
import { appParams } from './common.ts';

/** The control plane of a large deployment (thousands of releases) fits; the audit log comes in pages. */
export const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;
export const AUDIT_PAGE_LIMIT = 4 * 1024 * 1024;

const limit = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, 'too_large', `request body is over ${maxSize / 1024 / 1024} MiB`);
    },
  });

const exportQuery = z.object({ app: nameSchema.optional() });
const auditQuery = z.object({
  after: wholeNumber(0).default(0),
  until: wholeNumber(1),
  app: nameSchema.optional(),
  limit: wholeNumber(1, AUDIT_PAGE_ROWS).default(AUDIT_PAGE_ROWS),
});
const importedRange = auditRangeSchema.extend({ id_offset: z.number().int().min(0) });

const notEmpty = () =>
  conflict('not_empty', 'this deployment already has apps; import restores into an empty deployment only');

const parsed = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

function appExport(rows: AppRows): AppExport {
  const { app } = rows;
  return {
    app: {
      name: app.name,
      default_channel: app.default_channel,
      revision: app.revision,
      rules: z.array(channelRuleSchema).parse(JSON.parse(app.rules_json)),
      webhook_url: app.webhook_url,
      webhook_secret: app.webhook_secret,
      default_plan:
        app.default_plan_json === null ? null : planSchema.parse(JSON.parse(app.default_plan_json)),
      // Only when not DB: absent means DB, so a deployment without telemetry databases exports as before.
      ...(app.telemetry_db !== CONTROL_DB && { telemetry_db: app.telemetry_db }),
      created_at: app.created_at,
      updated_at: app.updated_at,
    },
    channels: rows.channels.map((ch) => ({
      name: ch.name,
      public: ch.public === 1,
      revision: ch.revision,
      issued_at: ch.issued_at,
      expires: ch.expires,
      created_at: ch.created_at,
    })),
    releases: rows.releases.map((r) => ({
      version: r.version,
      release_sha256: r.release_sha256,
      created_at: r.created_at,
      manifest: r.manifest_jws,
    })),
    rollouts: rows.rollouts.map((r) => ({
      channel: r.channel,
      version: r.version,
      percent_bp: r.percent_bp,
      salt: r.salt,
      state: r.state as RolloutState,
      plan: parsed(r.plan_json) as Plan | null,
      step: r.step,
      step_started_at: r.step_started_at,
      judgement: parsed(r.judgement_json),
      created_at: r.created_at,
      updated_at: r.updated_at,
    })),
    yanks: rows.yanks.map((y) => ({
      version: y.version,
      yank_sha256: y.yank_sha256,
      created_at: y.created_at,
      yank: y.yank_jws,
      ...(y.expo_directive_signature ? { expo_directive_signature: y.expo_directive_signature } : {}),
    })),
    standby_yanks: rows.standby_yanks.map((s) => ({
      channel: s.channel,
      version: s.version,
      yank_sha256: s.yank_sha256,
      created_at: s.created_at,
      yank: s.yank_jws,
      ...(s.expo_directive_signature ? { expo_directive_signature: s.expo_directive_signature } : {}),
    })),
  };
}

export const backup = new Hono<AppEnv>();

backup.get('/export', requireRole('admin'), validate('query', exportQuery), async (c) => {
  const app = c.req.valid('query').app ?? null;
  const global = await readGlobalExport(c.env.DB, app);
  if (app !== null && global.apps.length === 0) throw notFound('unknown_app', `no app named ${app}`);
  const index: ExportIndex = {
    format_version: BACKUP_FORMAT_VERSION,
    exported_at: isoSeconds(new Date()),
    source: new URL(c.req.url).origin,
    scope: app === null ? 'all' : 'app',
    apps: global.apps,
    keys: global.keys,
    tokens: global.tokens,
    audit: global.audit,
  };
  return c.json(index);
});

backup.get('/export/apps/:app', requireRole('admin'), validate('param', appParams), async (c) => {
  const { app } = c.req.valid('param');
  const rows = await readAppRows(c.env.DB, app);
  if (!rows) throw notFound('unknown_app', `no app named ${app}`);
  return c.json(appExport(rows));
});

backup.get('/export/audit', requireRole('admin'), validate('query', auditQuery), async (c) => {
  const query = c.req.valid('query');
  const rows = await readAuditPage(c.env.DB, { ...query, app: query.app ?? null });
  const last = rows.at(-1);
  return c.json(rows.length === query.limit && last ? { rows, next_after: last.id } : { rows });
});

backup.post(
  '/import',
  requireRole('admin'),
  limit(IMPORT_BODY_LIMIT),
  validate('json', importBodySchema),
  async (c) => {
    const body = c.req.valid('json');
    assertCanSign(c.env);
    const target = await readImportTarget(c.env.DB, [CONTROL_DB, ...telemetryBindings(c.env)]);
    if (target.apps > 0) throw notEmpty();
    const now = new Date();
    const prepared = await prepareImport(body, target, publicJwk(onlineKey(c.env)), now);

    // Imported audit rows keep their ids on an empty log; otherwise they all move past the last one.
    const audit = { ...body.audit, id_offset: target.auditMaxId };
    const reserved = body.audit.max_id === null ? null : body.audit.max_id + audit.id_offset + 1;
    let results: D1Result[];
    try {
      results = await c.env.DB.batch(
        importStatements(c.env.DB, prepared.rows, {
          id: reserved,
          at: isoSeconds(now),
          actor: c.get('actor').name,
          target: body.source,
          after: {
            format_version: body.format_version,
            source: body.source,
            exported_at: body.exported_at,
            scope: body.scope,
            apps: prepared.apps,
            counts: prepared.counts,
            audit,
          },
        }),
      );
    } catch (error) {
      if (isGuardFailure(error)) throw notEmpty();
      if (isUniqueViolation(error)) {
        throw conflict('conflict', 'a change raced the import and won; nothing was imported, retry');
      }
      throw error;
    }

    // What the data plane reads first; the scheduler would also finish the channels on its own.
    await projectKeys(c.env);
    for (const app of prepared.apps) {
      await projectChannels(c.env, app);
      await projectApp(c.env, app);
    }
    // The R2 archive of documents is a record nothing reads on the hot path: a failure is only logged.
    for (const doc of prepared.documents) {
      const key =
        doc.kind === 'release' ? releaseDocKey(doc.app, doc.version) : yankDocKey(doc.app, doc.version);
      try {
        if (!(await putDocument(c.env.BUCKET, key, doc.jws))) {
          console.warn(`${key} already holds another document; D1 keeps the imported one`);
        }
      } catch (error) {
        console.error(`import: archiving ${key} failed`, error);
      }
    }
    const result: ImportResult = {
      apps: prepared.apps,
      counts: prepared.counts,
      audit,
      import_audit_id: results.at(-1)?.meta.last_row_id ?? 0,
    };
    return c.json(result, 201);
  },
);

backup.post(
  '/import/audit',
  requireRole('admin'),
  limit(AUDIT_PAGE_LIMIT),
  validate('json', importAuditBodySchema),
  async (c) => {
    const { rows } = c.req.valid('json');
    const last = await lastImport(c.env.DB);
    const range = importedRange.safeParse(
      typeof last?.after === 'object' && last.after !== null && 'audit' in last.after
        ? last.after.audit
        : null,
    );
    if (!last || !range.success) {
      throw conflict('no_import', 'there is no import to add audit rows to; POST /v1/admin/import first');
    }
    const { rows: expected, min_id, max_id, id_offset } = range.data;
    const complete = () => conflict('import_complete', 'the audit log of the last import is complete');
    if (min_id === null || max_id === null) throw complete();
    const present = await countAudit(c.env.DB, min_id + id_offset, max_id + id_offset);
    if (present >= expected) throw complete();
    for (const [i, row] of rows.entries()) {
      if (row.id < min_id || row.id > max_id) {
        throw badRequest(
          'out_of_range',
          `rows.${i}.id: ${row.id} is outside the import's audit ids ${min_id}–${max_id}`,
        );
      }
    }
    const written = await c.env.DB.batch(insertAuditRows(c.env.DB, rows, id_offset));
    const inserted = written.reduce((sum, r) => sum + (r.meta.changes ?? 0), 0);
    const result: ImportAuditResult = { inserted, remaining: Math.max(0, expected - present - inserted) };
    return c.json(result);
  },
);
