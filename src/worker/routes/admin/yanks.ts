/**
 * Yanks (docs/api.md § Yanks): a statement signed by a release key that withdraws a release and
 * names where its clients go back to. Every channel of the app is re-signed, each under its guard,
 * and the release's standby yanks (docs/protocol.md §6) are discarded: storage/yank-publish.ts, the code the
 * scheduler publishes a standby yank with.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { sha256Hex } from '../../../protocol/encoding.ts';
import { expoSignatureSchema } from '../../../protocol/expo.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import { validate } from '../../http/validate.ts';
import { assertCanSign } from '../../storage/projection-writer.ts';
import { commit, isUniqueViolation } from '../../storage/revisions.ts';
import { yankProblem, yankPublished, yankStatements } from '../../storage/yank-publish.ts';
import type { AppEnv } from '../../types.ts';
import { appParams, audit, jsonLimit, jwsSchema, requireApp, verifyOr400 } from './common.ts';
import { releaseKeys } from './releases.ts';

const postYank = z.object({
  yank: jwsSchema,
  /**
   * For Expo apps that use code signing (docs/protocol.md §10): the `expo-signature` of the directive
   * `rollBackToEmbeddedDirective(yanked_at)`, made with the app's Expo key. Served as given.
   */
  expo_directive_signature: expoSignatureSchema.optional(),
});

export const yanks = new Hono<AppEnv>();

yanks.post(
  '/apps/:app/yanks',
  requireRole('publisher'),
  jsonLimit,
  validate('param', appParams),
  validate('json', postYank),
  async (c) => {
    const { app } = c.req.valid('param');
    const { yank: jws, expo_directive_signature: expoSignature } = c.req.valid('json');
    const record = await requireApp(c.env.DB, app);
    const yank = await verifyOr400('yank', jws, await releaseKeys(c.env.DB));
    if (yank.app !== app) throw badRequest('app_mismatch', `the yank is for app ${yank.app}, not ${app}`);
    const already = () => conflict('already_yanked', `${app} ${yank.version} is already yanked`);
    const problem = await yankProblem(c.env.DB, yank);
    if (problem?.code === 'unknown_release') throw notFound(problem.code, problem.message);
    if (problem?.code === 'already_yanked') throw already();
    if (problem) throw badRequest(problem.code, problem.message);
    assertCanSign(c.env);
    const now = new Date();
    const yank_sha256 = await sha256Hex(jws);
    const result = { version: yank.version, rollback_to: yank.rollback_to, yank_sha256 };
    const write = {
      yank,
      jws,
      yank_sha256,
      channels: record.channels,
      actor: c.get('actor').name,
      expoDirectiveSignature: expoSignature ?? null,
      now,
    };
    try {
      await commit(
        c.env.DB,
        [
          ...(await yankStatements(c.env.DB, write)),
          audit(c, now, {
            action: 'yank.register',
            app,
            target: yank.version,
            before: null,
            after: { ...result, reason: yank.reason, ...(expoSignature ? { expo_signed: true } : {}) },
          }),
        ],
        false,
      );
    } catch (error) {
      throw isUniqueViolation(error) ? already() : error;
    }
    await yankPublished(c.env, app, yank.version, jws);
    return c.json(result, 201);
  },
);
