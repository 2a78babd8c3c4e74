/**
 * What `updraft publish` adds to an artifact for the updaters apps already ship (docs/protocol.md §9): sidecar
 * files (electron-builder's `.blockmap`), Tauri's minisign signature (the `.sig` file `tauri build`
 * writes), Sparkle's EdDSA signature (given, or made here from the key file `generate_keys -x` exports),
 * and an OS range. Everything is read and checked before the first upload, so a missing piece is one
 * line and nothing is uploaded.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import semverValidRange from 'semver/ranges/valid.js';
import { fileNameSchema, runtimeSchema } from '../../src/protocol/documents.ts';
import { messageOf, UserError } from './errors.ts';
import { isCode } from './keys-folder.ts';
import type { ArtifactSpec, TargetValue } from './parse.ts';

export const UPDATERS = ['electron', 'tauri', 'sparkle'] as const;
export type Updater = (typeof UPDATERS)[number];

export interface UpdaterFlags {
  /** The updaters this release must serve: their missing pieces are errors (`--for`). */
  for?: readonly Updater[];
  /** `--sidecar <target>=<path>`: extra files stored beside the artifact of `target`. */
  sidecars?: readonly TargetValue[];
  /** `--minisign <target>=<file.sig>`: the Tauri signature file of an artifact. */
  minisign?: readonly TargetValue[];
  /** `--ed-signature <target>=<base64>`: a Sparkle EdDSA signature made elsewhere (`sign_update`). */
  edSignatures?: readonly TargetValue[];
  /** `--sparkle-key <file>`: Sparkle's private key file (`generate_keys -x`), to sign darwin artifacts here. */
  sparkleKey?: string;
  /** `--os <target>=<range>`: the OS versions an artifact runs on. */
  os?: readonly TargetValue[];
  /** `--runtime <target>=<runtime>`: the native runtime an artifact is built for (docs/protocol.md §3). */
  runtime?: readonly TargetValue[];
}

export interface LocalSidecar {
  path: string;
  file: string;
  size: number;
  /** Named by --sidecar, or found next to the artifact. */
  picked: 'given' | 'auto';
}

/** What goes into one artifact's manifest entry beside its hashes, and the sidecars to upload. */
export interface ArtifactExtras {
  sidecars: LocalSidecar[];
  minisign?: string;
  ed_signature?: string;
  os?: string;
  runtime?: string;
}

export const FILE_NAME_RULE = 'must be 1-128 of A-Z a-z 0-9 . _ + -, not starting with a dot';
const MAX_SIDECARS = 8;
/** A Tauri `.sig` file: base64 of a minisign signature file, whose text starts with this. */
const MINISIGN_START = 'untrusted comment:';
const ED_SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;
const targetOf = (t: { platform: string; arch: string }) => `${t.platform}-${t.arch}`;

/** `--for electron` → 'electron', or a UserError naming the choices. */
export function parseUpdater(text: string): Updater {
  const updater = UPDATERS.find((u) => u === text);
  if (!updater) throw new UserError(`--for must be one of ${UPDATERS.join(', ')}, got "${text}"`);
  return updater;
}

/**
 * Reads and checks every flag against `artifacts` (keyed by target), finds the auto-picked files next
 * to each artifact (`<file>.blockmap` as a sidecar, `<file>.sig` as its Tauri signature), signs darwin
 * artifacts with the Sparkle key, and refuses a release that lacks what an updater of `--for` needs.
 */
export async function prepareExtras(
  artifacts: readonly (ArtifactSpec & { file: string })[],
  flags: UpdaterFlags,
): Promise<Map<string, ArtifactExtras>> {
  const byTarget = new Map(artifacts.map((a) => [targetOf(a), a]));
  const known = (option: string, t: TargetValue) => {
    const artifact = byTarget.get(targetOf(t));
    if (!artifact) throw new UserError(`--${option} ${targetOf(t)}=…: no --artifact for ${targetOf(t)}`);
    return artifact;
  };
  const once = (option: string, list: readonly TargetValue[] = []) => {
    const seen = new Map<string, string>();
    for (const t of list) {
      known(option, t);
      if (seen.has(targetOf(t))) throw new UserError(`--${option} is given twice for ${targetOf(t)}`);
      seen.set(targetOf(t), t.value);
    }
    return seen;
  };
  const os = once('os', flags.os);
  for (const [target, range] of os) {
    if (range.length > 256 || semverValidRange(range) === null)
      throw new UserError(`--os ${target}=${range}: must be a semver range such as >=13.0.0`);
  }
  const runtimes = once('runtime', flags.runtime);
  for (const [target, runtime] of runtimes) {
    if (!runtimeSchema.safeParse(runtime).success)
      throw new UserError(
        `--runtime ${target}=${runtime}: must be 1-255 printable ASCII characters without spaces`,
      );
  }
  const sigFiles = once('minisign', flags.minisign);
  const edGiven = once('ed-signature', flags.edSignatures);
  for (const [target, signature] of edGiven) {
    if (!ED_SIGNATURE.test(signature))
      throw new UserError(
        `--ed-signature ${target}=…: must be an Ed25519 signature in base64 (88 characters), as sign_update prints it`,
      );
    if (flags.sparkleKey !== undefined)
      throw new UserError(`give --ed-signature or --sparkle-key, not both (--ed-signature ${target})`);
  }
  if (flags.sparkleKey !== undefined && !artifacts.some((a) => a.platform === 'darwin'))
    throw new UserError('--sparkle-key: no darwin artifact to sign (Sparkle updates macOS apps)');
  const seed = flags.sparkleKey === undefined ? undefined : await readSparkleKey(flags.sparkleKey);

  const extras = new Map<string, ArtifactExtras>();
  for (const artifact of artifacts) {
    const target = targetOf(artifact);
    const given = (flags.sidecars ?? []).filter((s) => targetOf(known('sidecar', s)) === target);
    const sidecars = await sidecarsOf(
      artifact,
      given.map((s) => s.value),
    );
    const sigPath = sigFiles.get(target);
    const minisign = sigPath
      ? await readMinisign(sigPath, `--minisign ${target}`)
      : await autoMinisign(`${artifact.path}.sig`);
    let ed_signature = edGiven.get(target);
    if (seed && artifact.platform === 'darwin') ed_signature = await sparkleSign(seed, artifact.path);
    extras.set(target, {
      sidecars,
      ...(minisign ? { minisign } : {}),
      ...(ed_signature ? { ed_signature } : {}),
      ...(os.has(target) ? { os: os.get(target) } : {}),
      ...(runtimes.has(target) ? { runtime: runtimes.get(target) } : {}),
    });
  }
  requireFor(artifacts, extras, flags.for ?? []);
  return extras;
}

/** The sidecars of one artifact: those given, then `<file>.blockmap` next to it when present. */
async function sidecarsOf(
  artifact: ArtifactSpec & { file: string },
  paths: string[],
): Promise<LocalSidecar[]> {
  const target = targetOf(artifact);
  const sidecars: LocalSidecar[] = [];
  for (const path of paths) sidecars.push({ ...(await sidecarFile(path, target)), picked: 'given' });
  const blockmap = `${artifact.path}.blockmap`;
  const auto = await fileSize(blockmap);
  if (auto !== undefined && !sidecars.some((s) => s.file === basename(blockmap)))
    sidecars.push({ path: blockmap, file: basename(blockmap), size: auto, picked: 'auto' });
  const names = new Set<string>();
  for (const s of sidecars) {
    if (s.file === artifact.file)
      throw new UserError(`--sidecar ${target}: ${s.file} has the name of the artifact it travels with`);
    if (names.has(s.file)) throw new UserError(`--sidecar ${target}: two sidecars named ${s.file}`);
    names.add(s.file);
  }
  if (sidecars.length > MAX_SIDECARS)
    throw new UserError(`--sidecar ${target}: at most ${MAX_SIDECARS} sidecars per artifact`);
  return sidecars;
}

async function sidecarFile(
  path: string,
  target: string,
): Promise<{ path: string; file: string; size: number }> {
  const file = basename(path);
  if (!fileNameSchema.safeParse(file).success)
    throw new UserError(`--sidecar ${target}: file name "${file}" ${FILE_NAME_RULE}`);
  const size = await fileSize(path);
  if (size === undefined) throw new UserError(`--sidecar ${target}: file not found: ${path}`);
  return { path, file, size };
}

/** The size of the regular file at `path`, or undefined when there is none. */
async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch (error) {
    if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return undefined;
    throw new UserError(`cannot read ${path}: ${messageOf(error)}`);
  }
}

/** A Tauri `.sig` file's content, checked: base64 of a minisign signature file. */
async function readMinisign(path: string, where: string): Promise<string> {
  const text = await readSmall(path, where);
  const signature = text.trim();
  if (!isMinisign(signature))
    throw new UserError(
      `${where}: ${path} is not a Tauri signature file (base64 of a minisign signature, as \`tauri build\` writes it)`,
    );
  return signature;
}

/** `<artifact>.sig` when it is a Tauri signature; another tool's `.sig` (GPG) is left alone. */
async function autoMinisign(path: string): Promise<string | undefined> {
  const size = await fileSize(path);
  if (size === undefined || size > 2048) return undefined;
  const signature = (await readFile(path, 'utf8')).trim();
  return isMinisign(signature) ? signature : undefined;
}

function isMinisign(signature: string): boolean {
  return (
    /^[A-Za-z0-9+/=]{16,2048}$/.test(signature) &&
    Buffer.from(signature, 'base64').toString('utf8').startsWith(MINISIGN_START)
  );
}

async function readSmall(path: string, where: string): Promise<string> {
  const size = await fileSize(path);
  if (size === undefined) throw new UserError(`${where}: file not found: ${path}`);
  if (size > 4096)
    throw new UserError(`${where}: ${path} is ${size} bytes; a signature or key file is far smaller`);
  return readFile(path, 'utf8');
}

/**
 * The Ed25519 seed in Sparkle's private key file: base64 of the 32-byte seed, as `generate_keys -x`
 * writes it (Sparkle's common_cli/secret.swift). Keys made before Sparkle 2 export 96 bytes (an
 * expanded private key and the public key), from which node:crypto cannot sign.
 */
async function readSparkleKey(path: string): Promise<Buffer> {
  const text = (await readSmall(path, '--sparkle-key')).trim();
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (bytes.length === 96)
    throw new UserError(
      `--sparkle-key ${path} is an old-format Sparkle key (96 bytes); sign with Sparkle's sign_update and pass --ed-signature <platform>-<arch>=<signature>`,
    );
  if (bytes.length !== 32)
    throw new UserError(
      `--sparkle-key ${path} is not a Sparkle private key file (base64 of a 32-byte seed, as \`generate_keys -x <file>\` exports it)`,
    );
  return bytes;
}

// PKCS #8 DER of an Ed25519 private key, before its 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Sparkle's `sparkle:edSignature`: Ed25519 over the whole file, in base64 (sign_update does the same). */
export async function sparkleSign(seed: Buffer, path: string): Promise<string> {
  const key = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const data = await readFile(path);
  const signature = sign(null, data, key);
  // A signature that does not verify would be a bug here, not the user's: fail loudly.
  if (!verify(null, data, createPublicKey(key), signature)) throw new Error('Ed25519 self-check failed');
  return signature.toString('base64');
}

/** One line for the first artifact that lacks what an updater of `--for` verifies. */
function requireFor(
  artifacts: readonly (ArtifactSpec & { file: string })[],
  extras: Map<string, ArtifactExtras>,
  updaters: readonly Updater[],
): void {
  const of = (a: ArtifactSpec) => extras.get(targetOf(a));
  if (updaters.includes('tauri')) {
    const unsigned = artifacts.find((a) => !of(a)?.minisign);
    if (unsigned) {
      throw new UserError(
        `--for tauri: ${targetOf(unsigned)} has no Tauri signature; put the .sig that \`tauri build\` wrote next to ${unsigned.path} or give --minisign ${targetOf(unsigned)}=<file.sig>`,
      );
    }
  }
  if (updaters.includes('sparkle')) {
    const mac = artifacts.filter((a) => a.platform === 'darwin');
    if (mac.length === 0)
      throw new UserError('--for sparkle: no darwin artifact (Sparkle updates macOS apps)');
    const unsigned = mac.find((a) => !of(a)?.ed_signature);
    if (unsigned) {
      throw new UserError(
        `--for sparkle: ${targetOf(unsigned)} has no EdDSA signature; give --sparkle-key <file> (exported with \`generate_keys -x\`) or --ed-signature ${targetOf(unsigned)}=<base64>`,
      );
    }
  }
  if (updaters.includes('electron')) {
    // electron-updater's MacUpdater installs from a .zip only ("ZIP file not provided" otherwise).
    const mac = artifacts.find((a) => a.platform === 'darwin' && !/\.zip$/i.test(a.file));
    if (mac) {
      throw new UserError(
        `--for electron: the darwin artifact ${mac.file} is not a .zip; electron-updater on macOS installs from the zip electron-builder makes (target zip)`,
      );
    }
  }
}
