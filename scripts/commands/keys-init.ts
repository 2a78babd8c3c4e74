/**
 * `updraft keys init`: a fresh root, release and online key pair in the keys folder, keys document
 * version 1 signed by the root key, saved as keys-1.jws and registered (trust on first use).
 */
import { existsSync } from 'node:fs';
import type { PublicJwk } from '../../src/protocol/documents.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import type { ApiClient } from '../lib/api.ts';
import { type Command, flag } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import {
  ensureKeysDir,
  type KeyRole,
  keyPath,
  keysDocumentPath,
  keysDocumentVersions,
  ROLES,
  secretCommand,
  writeNew,
  writePrivateKey,
} from '../lib/keys-folder.ts';
import { rfc3339 } from '../lib/parse.ts';
import { registerKeys } from './keys-register.ts';

/** Keys documents expire a year after signing; `keys rotate` signs the next one. */
export const KEYS_LIFETIME_MS = 365 * 86_400_000;

export interface KeysInitOptions {
  keysDir: string;
  /** Needed unless `offline`: registers the document with the server. */
  client?: ApiClient;
  offline?: boolean;
  now?: Date;
}

export interface KeysInitResult {
  version: 1;
  jws: string;
  keys: Record<KeyRole, PublicJwk>;
  registered: boolean;
}

export async function keysInit(opts: KeysInitOptions): Promise<KeysInitResult> {
  for (const role of ROLES) {
    if (existsSync(keyPath(opts.keysDir, role))) {
      throw new UserError(
        `${keyPath(opts.keysDir, role)} already exists; refusing to overwrite keys (use \`updraft keys rotate\`)`,
      );
    }
  }
  if ((await keysDocumentVersions(opts.keysDir)).length > 0) {
    throw new UserError(`${opts.keysDir} already holds keys documents; refusing to start a new chain there`);
  }
  if (!opts.offline && !opts.client) throw new Error('keysInit: a client is required unless offline');

  const [root, release, online] = await Promise.all([
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  const now = opts.now ?? new Date();
  const jws = await signDocument(
    'keys',
    {
      version: 1,
      expires: rfc3339(new Date(now.getTime() + KEYS_LIFETIME_MS)),
      root: [root.publicJwk],
      release: [release.publicJwk],
      online: [online.publicJwk],
    },
    root.privateJwk,
  );

  await ensureKeysDir(opts.keysDir);
  await writePrivateKey(keyPath(opts.keysDir, 'root'), root.privateJwk);
  await writePrivateKey(keyPath(opts.keysDir, 'release'), release.privateJwk);
  await writePrivateKey(keyPath(opts.keysDir, 'online'), online.privateJwk);
  await writeNew(keysDocumentPath(opts.keysDir, 1), `${jws}\n`);

  if (!opts.offline && opts.client) await registerKeys(opts.client, jws, opts.keysDir);
  return {
    version: 1,
    jws,
    keys: { root: root.publicJwk, release: release.publicJwk, online: online.publicJwk },
    registered: !opts.offline,
  };
}

export const command: Command = {
  name: 'keys init',
  summary: 'create root, release and online keys and register keys document 1',
  args: [],
  usage: '[--offline]',
  options: { offline: { type: 'boolean' } },
  help: ['--offline   only create the files; register later with `updraft keys register`'],
  async run(inv) {
    const offline = flag(inv.values, 'offline');
    const result = await keysInit({
      keysDir: inv.config.keysDir,
      offline,
      client: offline ? undefined : inv.client(),
    });
    if (inv.config.json) return inv.printJson(result);
    inv.print(
      [
        `Created root, release and online keys in ${inv.config.keysDir} (keep root.json offline; never commit this folder).`,
        `Keys document 1: ${keysDocumentPath(inv.config.keysDir, 1)}${result.registered ? `, registered with ${inv.client().server}` : ' (not registered: --offline)'}.`,
        `Root key to pin in clients: ${JSON.stringify(result.keys.root)}`,
        'Install the online key as the Worker secret:',
        `  ${secretCommand(inv.config.keysDir)}`,
      ].join('\n'),
    );
  },
};
