/**
 * `updraft keys register`: sends the server the keys documents of the keys folder it does not have
 * yet, oldest first. Used after `keys init --offline` once the online key secret is installed.
 */
import { decodeDocument } from '../../src/protocol/jws.ts';
import { type ApiClient, ServerError } from '../lib/api.ts';
import type { Command } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { keysDocumentVersions, readKeysDocument, secretCommand } from '../lib/keys-folder.ts';

export interface KeysRegisterResult {
  /** The server's version before registering (0: it had none). */
  serverVersion: number;
  registered: number[];
}

/** The version and JWS of the server's current keys document, or version 0 when it has none. */
export async function serverKeys(client: ApiClient): Promise<{ version: number; jws: string | undefined }> {
  const answer = await client.find<{ keys: string }>('/v1/keys', { auth: false });
  if (!answer) return { version: 0, jws: undefined };
  return { version: documentVersion(answer.keys), jws: answer.keys };
}

export function documentVersion(jws: string): number {
  const payload = decodeDocument(jws).payload;
  if (
    typeof payload === 'object' &&
    payload !== null &&
    'version' in payload &&
    typeof payload.version === 'number'
  ) {
    return payload.version;
  }
  throw new UserError('a keys document without a version');
}

export async function keysRegister(opts: {
  client: ApiClient;
  keysDir: string;
}): Promise<KeysRegisterResult> {
  const local = await keysDocumentVersions(opts.keysDir);
  const latest = local.at(-1);
  if (latest === undefined)
    throw new UserError(`no keys documents (keys-N.jws) in ${opts.keysDir}: run \`updraft keys init\``);
  const server = await serverKeys(opts.client);
  if (server.jws !== undefined && local.includes(server.version)) {
    const mine = await readKeysDocument(opts.keysDir, server.version);
    if (mine !== server.jws) {
      throw new UserError(
        `the server's keys document ${server.version} is not the one in ${opts.keysDir}: this folder belongs to another server (or its state was reset)`,
      );
    }
  } else if (server.version > 0) {
    throw new UserError(
      `the server has keys document ${server.version}, which ${opts.keysDir} lacks (newest here: ${latest})`,
    );
  }
  const registered: number[] = [];
  for (const version of local.filter((v) => v > server.version)) {
    await registerKeys(opts.client, await readKeysDocument(opts.keysDir, version), opts.keysDir);
    registered.push(version);
  }
  return { serverVersion: server.version, registered };
}

/** POSTs one keys document, explaining the one refusal a first-time user will meet. */
export async function registerKeys(client: ApiClient, jws: string, keysDir: string): Promise<void> {
  try {
    await client.post('/v1/admin/keys', { keys: jws });
  } catch (error) {
    if (error instanceof ServerError && error.is('online_key_not_listed')) {
      throw new UserError(
        `${error.message}; install the online key first (${secretCommand(keysDir)}), then run \`updraft keys register\``,
      );
    }
    throw error;
  }
}

export const command: Command = {
  name: 'keys register',
  summary: 'register the keys documents of the keys folder the server lacks',
  args: [],
  options: {},
  help: [],
  async run(inv) {
    const result = await keysRegister({ client: inv.client(), keysDir: inv.config.keysDir });
    if (inv.config.json) return inv.printJson(result);
    inv.print(
      result.registered.length === 0
        ? `The server already has keys document ${result.serverVersion}; nothing to register.`
        : `Registered keys document${result.registered.length > 1 ? 's' : ''} ${result.registered.join(', ')}.`,
    );
  },
};
