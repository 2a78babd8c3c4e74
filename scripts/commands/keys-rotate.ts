/**
 * `updraft keys rotate --role release|online|root`: a new key for one role and keys document N+1,
 * signed by the CURRENT root key. A root rotation signs N+2 as well, the same key lists signed by the
 * NEW root (src/protocol/keys-rotation.ts): clients pinned to the old root follow the chain N+1, N+2,
 * and a build pinning only the new root verifies the newest document directly.
 *
 * Old release and online public keys stay listed by default, so releases already signed and
 * snapshots already served keep verifying; `--drop-old` removes them (a compromised key).
 * An old root is always dropped: only the new root may sign the next document.
 *
 * The folder is written first, exactly as `--offline` leaves it (the replaced private key kept as
 * <role>-<kid>.json), then the documents are registered oldest first. When the server refuses the
 * first, nothing changed there and the folder is put back; any other failure leaves a folder that
 * `updraft keys register` finishes from (the Worker answers 200 to a document it already holds).
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { keysPayloadSchema, type PublicJwk } from '../../src/protocol/documents.ts';
import { decodeDocument, type PrivateJwk } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { signKeysRotation } from '../../src/protocol/keys-rotation.ts';
import { type ApiClient, ServerError } from '../lib/api.ts';
import { type Command, flag, requireStr } from '../lib/command.ts';
import { isLoopback } from '../lib/config.ts';
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
  /** The newest keys document signed: N+1, or N+2 for a root rotation. */
  version: number;
  /** Every version signed, oldest first: [N+1], or [N+1, N+2] for a root rotation. */
  versions: number[];
  role: KeyRole;
  kid: string;
  previous_kid: string;
  /** The new public key: for a root rotation, what new app builds pin. */
  key: PublicJwk;
  /** The newest keys document. */
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
  const now = opts.now ?? new Date();
  const documents = await signKeysRotation({
    current: payload,
    next: {
      expires: rfc3339(new Date(now.getTime() + KEYS_LIFETIME_MS)),
      root: payload.root,
      release: payload.release,
      online: payload.online,
      [opts.role]: listed,
    },
    signer: root,
    newRoot: opts.role === 'root' ? fresh.privateJwk : undefined,
  });
  const signed = documents.map((jws, i) => ({ version: current.version + 1 + i, jws }));
  const newest = signed.at(-1);
  if (!newest) throw new Error('signKeysRotation signed no document');
  const undo = await writeRotation(opts.keysDir, opts.role, old.kid, fresh.privateJwk, signed);
  const result: KeysRotateResult = {
    version: newest.version,
    versions: signed.map((d) => d.version),
    role: opts.role,
    kid: fresh.publicJwk.kid,
    previous_kid: old.kid,
    key: fresh.publicJwk,
    jws: newest.jws,
    registered: false,
  };
  if (opts.offline || !opts.client) return result;

  for (const [i, document] of signed.entries()) {
    try {
      await register(opts.client, document.jws);
    } catch (error) {
      if (i === 0 && refused(error)) {
        // The server answered no and changed nothing: neither does this command.
        await undo();
        throw error;
      }
      if (!(error instanceof UserError)) throw error; // a bug: its stack, not a one-line message
      throw new UserError(unfinished(signed, i, error.message));
    }
  }
  return { ...result, registered: true };
}

/**
 * Writes the new private key and the signed documents, and retires the replaced key, never over an
 * existing file. Returns what puts the folder back as it was.
 */
async function writeRotation(
  dir: string,
  role: KeyRole,
  oldKid: string,
  key: PrivateJwk,
  documents: readonly { version: number; jws: string }[],
): Promise<() => Promise<void>> {
  const pending = join(dir, `.${role}.pending.json`);
  const retired = join(dir, `${role}-${oldKid}.json`);
  if (existsSync(retired)) throw new UserError(`${retired} already exists; refusing to overwrite it`);
  await writePrivateKey(pending, key);
  const written: string[] = [];
  const removeNew = async () => {
    for (const path of [...written, pending]) await rm(path, { force: true });
  };
  try {
    for (const { version, jws } of documents) {
      const path = keysDocumentPath(dir, version);
      await writeNew(path, `${jws}\n`);
      written.push(path);
    }
  } catch (error) {
    await removeNew();
    throw error;
  }
  await rename(keyPath(dir, role), retired);
  await rename(pending, keyPath(dir, role));
  return async () => {
    await rename(keyPath(dir, role), pending);
    await rename(retired, keyPath(dir, role));
    await removeNew();
  };
}

/** A 4xx answer: the Worker checks everything before its one D1 batch, so nothing was stored. */
function refused(error: unknown): boolean {
  return error instanceof ServerError && error.status >= 400 && error.status < 500;
}

/** Why registration stopped at `signed[failed]`, and how to finish it. */
function unfinished(signed: readonly { version: number }[], failed: number, reason: string): string {
  const version = signed[failed]?.version;
  const finish = `the folder holds the whole rotation: run \`updraft keys register\` to register what the server lacks`;
  if (failed === 0) {
    return `keys document ${version} may or may not have reached the server (${reason}); ${finish}`;
  }
  // Only a root rotation signs a second document.
  const previous = signed[failed - 1]?.version;
  return `keys document ${previous} is registered, ${version} is not (${reason}); clients pinned to the old root already follow the chain to ${previous}, but a build pinning only the new root accepts nothing until ${version} is registered; ${finish}`;
}

async function register(client: ApiClient, jws: string): Promise<void> {
  try {
    await client.post('/v1/admin/keys', { keys: jws });
  } catch (error) {
    if (error instanceof ServerError && error.is('online_key_not_listed')) {
      throw new ServerError(
        error.status,
        error.code,
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
    const [first, second] = result.versions;
    const state = result.registered ? 'registered' : 'not registered: --offline; run `updraft keys register`';
    const lines = [
      `New ${role} key ${result.kid}; the old one is kept as ${role}-${result.previous_kid}.json.`,
      second === undefined
        ? `Keys document ${first} signed by the current root key (${state}).`
        : `Keys documents ${first} (the new keys, signed by the old root) and ${second} (the same, signed by the new root) (${state}).`,
    ];
    if (role === 'online')
      lines.push(
        // scripts/dev.ts watches its keys folder and restarts the Worker with the new key.
        isLoopback(inv.config.server)
          ? 'A local `npm run dev` using this keys folder restarts its Worker with the new key within seconds.\nAny other Worker needs it as its secret:'
          : 'Install the new online key as the Worker secret:',
        `  ${secretCommand(inv.config.keysDir)}`,
      );
    if (role === 'root')
      lines.push(
        'Move root.json offline. Clients pinned to the old root follow the chain; once both documents are',
        'registered, new app builds may pin the new root alone:',
        `  ${JSON.stringify(result.key)}`,
      );
    inv.print(lines.join('\n'));
  },
};
