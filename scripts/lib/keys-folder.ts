/**
 * The private keys folder (--keys, default ./.updraft/keys; never committed):
 *   root.json, release.json, online.json   current private JWKs (mode 0600)
 *   <role>-<kid>.json                      keys replaced by `keys rotate`, kept for the record
 *   keys-<N>.jws                           every keys document this folder signed, N = version
 */
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { type PublicJwk, publicJwkSchema, TYP } from '../../src/protocol/documents.ts';
import { decodeDocument, type PrivateJwk } from '../../src/protocol/jws.ts';
import { parsePrivateJwk, publicJwk } from '../../src/protocol/keys.ts';
import { messageOf, UserError } from './errors.ts';

export const ROLES = ['root', 'release', 'online'] as const;
export type KeyRole = (typeof ROLES)[number];

export function keyPath(dir: string, role: KeyRole): string {
  return join(dir, `${role}.json`);
}

export function keysDocumentPath(dir: string, version: number): string {
  return join(dir, `keys-${version}.jws`);
}

export async function readPrivateKey(dir: string, role: KeyRole): Promise<PrivateJwk> {
  const path = keyPath(dir, role);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) {
      throw new UserError(`no ${role} key at ${path}: run \`updraft keys init\` or pass --keys <folder>`);
    }
    throw error;
  }
  try {
    return parsePrivateJwk(text);
  } catch (error) {
    throw new UserError(`${path} is not a private Ed25519 JWK: ${messageOf(error)}`);
  }
}

/** Writes a private key, never over an existing file; the file is readable by its owner only. */
export async function writePrivateKey(path: string, key: PrivateJwk): Promise<void> {
  await writeNew(path, `${JSON.stringify(key, null, 2)}\n`);
}

/** Creates `path` with `text`; a UserError when the file already exists. Mode 0600. */
export async function writeNew(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (isCode(error, 'EEXIST')) throw new UserError(`${path} already exists; refusing to overwrite it`);
    throw error;
  }
  await chmod(path, 0o600); // `mode` is filtered by the umask; make the intent explicit
}

export async function ensureKeysDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Versions of the keys documents in the folder, ascending. */
export async function keysDocumentVersions(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return [];
    throw error;
  }
  return names
    .map((name) => /^keys-([1-9]\d*)\.jws$/.exec(name)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export async function readKeysDocument(dir: string, version: number): Promise<string> {
  return (await readFile(keysDocumentPath(dir, version), 'utf8')).trim();
}

/** The newest keys document in the folder; a UserError when there is none. */
export async function latestKeysDocument(dir: string): Promise<{ version: number; jws: string }> {
  const version = (await keysDocumentVersions(dir)).at(-1);
  if (version === undefined) {
    throw new UserError(
      `no keys document (keys-N.jws) in ${dir}: run \`updraft keys init\` or pass --keys <folder>`,
    );
  }
  return { version, jws: await readKeysDocument(dir, version) };
}

/** The command that installs the online private key of `dir` as the Worker secret. */
export function secretCommand(dir: string): string {
  const path = keyPath(dir, 'online');
  const shown = relative(process.cwd(), path);
  return `npx wrangler secret put UPDRAFT_ONLINE_KEY < ${shown.startsWith('..') || shown === '' ? path : shown}`;
}

const rootsOf = z.object({ root: z.array(publicJwkSchema).min(1) });

/**
 * The root public keys a client pins, from `path`: a keys folder (the roots of its first keys
 * document, which is what an app built right after `keys init` ships with; its `root.json` when it
 * has no document yet), a `keys-N.jws`, or a JWK file (public, or private: only the public half is kept).
 */
export async function readPinnedRootKeys(path: string): Promise<PublicJwk[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (error) {
    if (isCode(error, 'ENOENT')) throw new UserError(`no keys folder or file at ${path}`);
    throw error;
  }
  if (isDir) {
    const first = (await keysDocumentVersions(path))[0];
    if (first === undefined) return [publicJwk(await readPrivateKey(path, 'root'))];
    return rootsOfDocument(await readKeysDocument(path, first), keysDocumentPath(path, first));
  }
  const text = (await readFile(path, 'utf8')).trim();
  if (!text.startsWith('{')) return rootsOfDocument(text, path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`${path} is neither a keys document (keys-N.jws) nor a JWK`);
  }
  const pub = publicJwkSchema.safeParse(value);
  if (pub.success) return [pub.data];
  try {
    return [publicJwk(parsePrivateJwk(text))];
  } catch (error) {
    throw new UserError(`${path} is not an Ed25519 JWK: ${messageOf(error)}`);
  }
}

function rootsOfDocument(jws: string, path: string): PublicJwk[] {
  try {
    const { header, payload } = decodeDocument(jws);
    const roots = rootsOf.safeParse(payload);
    if (header.typ === TYP.keys && roots.success) return roots.data.root;
  } catch {
    // reported below
  }
  throw new UserError(`${path} is not a keys document (keys-N.jws) with root keys`);
}

export function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
