/**
 * `updraft keys rotate --role release|online|root`: a new key for one role and keys document N+1,
 * signed by the CURRENT root key (for a root rotation too: clients pinned to the old root follow
 * the chain to the new one). The replaced private key is kept as <role>-<kid>.json.
 *
 * Old release and online public keys stay listed by default, so releases already signed and
 * snapshots already served keep verifying; `--drop-old` removes them (a compromised key).
 * An old root is always dropped: only the new root may sign the next document.
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { keysPayloadSchema, type PublicJwk } from '../../src/protocol/documents.ts';
import { decodeDocument, signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { type ApiClient, ApiError } from '../lib/api.ts';
import { type Command, flag, requireStr } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import {
  type KeyRole,
  keyPath,
  keysDocumentPath,
  latestKeysDocument,
  ROLES,
  readPrivateKey,
  secretCommand,
  writeNew,
  writePrivateKey,
} from '../lib/keys-folder.ts';
import { rfc3339 } from '../lib/parse.ts';
import { KEYS_LIFETIME_MS } from './keys-init.ts';
import { serverKeys } from './keys-register.ts';

export interface KeysRotateOptions {
  keysDir: string;
  role: KeyRole;
  client?: ApiClient;
  offline?: boolean;
  dropOld?: boolean;
  now?: Date;
}

export interface KeysRotateResult {
  version: number;
  role: KeyRole;
  kid: string;
  previous_kid: string;
  jws: string;
  registered: boolean;
}

export async function keysRotate(opts: KeysRotateOptions): Promise<KeysRotateResult> {
  if (!opts.offline && !opts.client) throw new Error('keysRotate: a client is required unless offline');
  const current = await latestKeysDocument(opts.keysDir);
  const parsed = keysPayloadSchema.safeParse(decodeDocument(current.jws).payload);
  if (!parsed.success) throw new UserError(`keys-${current.version}.jws is not a keys document`);
  const payload = parsed.data;
  const root = await readPrivateKey(opts.keysDir, 'root');
  if (!payload.root.some((k) => k.kid === root.kid)) {
    throw new UserError(
      `root.json is not a root key of keys document ${current.version}; it cannot sign the next one`,
    );
  }
  const old = await readPrivateKey(opts.keysDir, opts.role);
  if (!opts.offline && opts.client) {
    const server = await serverKeys(opts.client);
    if (server.version !== current.version) {
      throw new UserError(
        server.version < current.version
          ? `the server has keys document ${server.version}, this folder ${current.version}: run \`updraft keys register\` first`
          : `the server has keys document ${server.version}, newer than this folder's ${current.version}`,
      );
    }
  }

  const fresh = await generateKeyPair();
  const keep = opts.role !== 'root' && !opts.dropOld;
  const listed: PublicJwk[] = [fresh.publicJwk, ...(keep ? payload[opts.role] : [])];
  const version = current.version + 1;
  const now = opts.now ?? new Date();
  const jws = await signDocument(
    'keys',
    {
      ...payload,
      version,
      expires: rfc3339(new Date(now.getTime() + KEYS_LIFETIME_MS)),
      [opts.role]: listed,
    },
    root,
  );

  const pending = join(opts.keysDir, `.${opts.role}.pending.json`);
  const retired = join(opts.keysDir, `${opts.role}-${old.kid}.json`);
  if (existsSync(retired)) throw new UserError(`${retired} already exists; refusing to overwrite it`);
  await writePrivateKey(pending, fresh.privateJwk);
  const docPath = keysDocumentPath(opts.keysDir, version);
  try {
    await writeNew(docPath, `${jws}\n`);
    if (!opts.offline && opts.client) await register(opts.client, jws);
  } catch (error) {
    // Nothing changed on the server: leave the folder as it was.
    await rm(pending, { force: true });
    if (existsSync(docPath)) await rm(docPath, { force: true });
    throw error;
  }
  await rename(keyPath(opts.keysDir, opts.role), retired);
  await rename(pending, keyPath(opts.keysDir, opts.role));
  return {
    version,
    role: opts.role,
    kid: fresh.publicJwk.kid,
    previous_kid: old.kid,
    jws,
    registered: !opts.offline,
  };
}

async function register(client: ApiClient, jws: string): Promise<void> {
  try {
    await client.post('/v1/admin/keys', { keys: jws });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'online_key_not_listed') {
      throw new UserError(
        `${error.message}; to stop listing the online key the Worker uses, rotate with --offline, install the new secret, then run \`updraft keys register\``,
      );
    }
    throw error;
  }
}

export const command: Command = {
  name: 'keys rotate',
  summary: 'replace the key of one role with a new keys document',
  args: [],
  usage: '--role <root|release|online> [--drop-old] [--offline]',
  options: { role: { type: 'string' }, offline: { type: 'boolean' }, 'drop-old': { type: 'boolean' } },
  help: [
    '--role <role>  root, release or online (required)',
    '--drop-old     stop listing the replaced release/online key (when it leaked); root is always dropped',
    '--offline      only write the files; register later with `updraft keys register`',
  ],
  async run(inv) {
    const roleText = requireStr(inv.values, 'role', '<root|release|online>');
    const role = ROLES.find((r) => r === roleText);
    if (!role) throw new UserError(`--role must be root, release or online, got "${roleText}"`);
    const offline = flag(inv.values, 'offline');
    const result = await keysRotate({
      keysDir: inv.config.keysDir,
      role,
      offline,
      dropOld: flag(inv.values, 'drop-old'),
      client: offline ? undefined : inv.client(),
    });
    if (inv.config.json) return inv.printJson(result);
    const lines = [
      `New ${role} key ${result.kid}; the old one is kept as ${role}-${result.previous_kid}.json.`,
      `Keys document ${result.version} signed by the current root key${result.registered ? ' and registered' : ' (not registered: --offline)'}.`,
    ];
    if (role === 'online')
      lines.push(
        'Install the new online key as the Worker secret:',
        `  ${secretCommand(inv.config.keysDir)}`,
      );
    if (role === 'root')
      lines.push('Move root.json offline; clients pinned to the old root follow the chain to the new one.');
    inv.print(lines.join('\n'));
  },
};
