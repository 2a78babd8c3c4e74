/** The keys document (docs/api.md § Keys): trust on first use, then a chain signed by root keys. */
import { Hono } from 'hono';
import * as z from 'zod';
import { type KeysPayload, keysPayloadSchema } from '../../../protocol/documents.ts';
import { DocumentError, decodeDocument } from '../../../protocol/jws.ts';
import { publicJwk } from '../../../protocol/keys.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { badRequest, conflict } from '../../http/errors.ts';
import { validate } from '../../http/validate.ts';
import { listAllChannels } from '../../storage/apps.ts';
import { currentKeyset, insertKeyset, type KeysetRecord, keysetAt } from '../../storage/keysets.ts';
import { onlineKey, projectChannels, projectKeys } from '../../storage/projection-writer.ts';
import { bumpChannel, commit, isUniqueViolation } from '../../storage/revisions.ts';
import type { AppEnv } from '../../types.ts';
import { audit, jsonLimit, jwsSchema, verifyOr400 } from './common.ts';

const postKeys = z.object({ keys: jwsSchema });

/** The payload of a stored (already verified) keys document. */
const storedPayload = (record: KeysetRecord): KeysPayload =>
  keysPayloadSchema.parse(decodeDocument(record.jws).payload);

/** The first document has nothing to chain to: it must at least be signed by one of its own root keys. */
async function verifyFirst(jws: string): Promise<KeysPayload> {
  let claimed: unknown;
  try {
    claimed = decodeDocument(jws).payload;
  } catch (error) {
    if (error instanceof DocumentError) throw badRequest(error.code, `keys document: ${error.message}`);
    throw error;
  }
  const parsed = keysPayloadSchema.safeParse(claimed);
  if (!parsed.success) throw badRequest('malformed', 'keys document: the payload is not a keys document');
  return verifyOr400('keys', jws, parsed.data.root);
}

/** The version a keys document claims, unverified; undefined when it claims none. */
function claimedVersion(jws: string): number | undefined {
  try {
    const parsed = keysPayloadSchema.pick({ version: true }).safeParse(decodeDocument(jws).payload);
    return parsed.success ? parsed.data.version : undefined;
  } catch (error) {
    if (error instanceof DocumentError) return undefined;
    throw error;
  }
}

export const keys = new Hono<AppEnv>();

keys.post('/keys', requireRole('admin'), jsonLimit, validate('json', postKeys), async (c) => {
  const jws = c.req.valid('json').keys;
  // The very document already registered (a retry whose answer was lost, `keys register` finishing a
  // rotation that stopped half-way): nothing changes, but its projection is finished if it was not.
  const version = claimedVersion(jws);
  const same = version === undefined ? null : await keysetAt(c.env.DB, version);
  if (same?.jws === jws) {
    await projectKeys(c.env);
    return c.json({ version: same.version }, 200);
  }
  const current = await currentKeyset(c.env.DB);
  const previous = current ? storedPayload(current) : null;
  const payload = previous ? await verifyOr400('keys', jws, previous.root) : await verifyFirst(jws);
  const stale = () =>
    conflict(
      'stale_keys_version',
      `keys version must be ${(current?.version ?? 0) + 1}, got ${payload.version}`,
    );
  if (current && payload.version !== current.version + 1) throw stale();
  const online = publicJwk(onlineKey(c.env));
  if (!payload.online.some((k) => k.x === online.x)) {
    throw badRequest('online_key_not_listed', `the Worker's online key ${online.kid} is not in online[]`);
  }
  // Every snapshot is re-signed under the new document, each channel with its own revision guard.
  const now = new Date();
  const channels = await listAllChannels(c.env.DB);
  try {
    await commit(
      c.env.DB,
      [
        insertKeyset(c.env.DB, payload.version, jws, now),
        ...channels.flatMap((ch) => bumpChannel(c.env.DB, ch.app, ch.name, ch.revision, now)),
        audit(c, now, {
          action: 'keys.register',
          app: null,
          target: String(payload.version),
          before: previous,
          after: payload,
        }),
      ],
      false,
    );
  } catch (error) {
    throw isUniqueViolation(error) ? stale() : error;
  }
  await projectKeys(c.env);
  for (const app of new Set(channels.map((ch) => ch.app))) await projectChannels(c.env, app);
  return c.json({ version: payload.version }, 201);
});
