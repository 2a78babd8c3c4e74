/**
 * The SDK and the CLI as another project gets them: `npm run pack`'s two tarballs installed with
 * npm into a fresh temporary project, outside this repository, and run with the machine's own Node
 * (the 20 the packages promise), not the repository's Node 22.
 */
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { type Packed, pack } from '../../scripts/pack.ts';
import type { RunResult } from '../scripts/helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export interface ConsumerProject {
  /** The temporary project: package.json, node_modules with both packages. */
  dir: string;
  packed: { client: Packed; cli: Packed };
  node: { path: string; version: string };
  /** Runs `file` in the project with the system Node first on PATH (npm, npx and the bin's shebang use it). */
  run(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** The installed `node_modules/.bin/updraft`. */
  updraft(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  remove(): Promise<void>;
}

/**
 * The first `node` on PATH outside any node_modules (npm run and npx put the repository's Node 22
 * first). Throws unless it is a Node 20: a newer one would prove nothing about the floor.
 */
export async function systemNode(): Promise<{ path: string; version: string }> {
  const repoNode = realpathSync(process.execPath);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const path = join(dir, 'node');
    if (!existsSync(path) || realpathSync(path) === repoNode) continue;
    const { stdout } = await runFile(path, ['--version'], {});
    const version = stdout.trim();
    if (!version.startsWith('v20.')) {
      throw new Error(
        `the packages are tested on Node 20, their floor, but the first node on PATH outside node_modules is ${path} ${version}: put a Node 20 first on PATH`,
      );
    }
    return { path, version };
  }
  throw new Error(
    `no Node 20 on PATH outside node_modules (PATH=${process.env.PATH}): the packages are tested on the system Node`,
  );
}

/** A clean user environment: the system Node first on PATH, none of npm run's or Updraft's variables. */
function userEnv(nodePath: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|UPDRAFT_|NODE_OPTIONS$|VITEST)/i.test(name)) continue;
    env[name] = value;
  }
  const path = (process.env.PATH ?? '').split(delimiter).filter((dir) => !dir.includes('node_modules'));
  env.PATH = [dirname(nodePath), ...path].join(delimiter);
  return env;
}

function runFile(file: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = ROOT) {
  return new Promise<RunResult>((resolve) => {
    execFile(file, args, { cwd, env, timeout: 90_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Packs both packages and installs the tarballs (and `extra` registry packages) into a new project. */
export async function installPackages(extra: readonly string[] = []): Promise<ConsumerProject> {
  const node = await systemNode();
  const env = userEnv(node.path);
  const dir = await mkdtemp(join(tmpdir(), 'updraft-consumer-'));
  try {
    const packed = await pack(join(dir, 'tarballs'));
    const project = join(dir, 'app');
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`,
    );
    const install = await runFile(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        packed.client.tarball,
        packed.cli.tarball,
        ...extra,
      ],
      env,
      project,
    );
    if (install.code !== 0) throw new Error(`npm install failed (${install.code}):\n${install.stderr}`);
    const run = (file: string, args: readonly string[], more: NodeJS.ProcessEnv = {}) =>
      runFile(file, args, { ...env, ...more }, project);
    return {
      dir: project,
      packed,
      node,
      run,
      updraft: (args, more) => run(join(project, 'node_modules', '.bin', 'updraft'), args, more),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The installed package.json of `name` in the project. */
export async function installedManifest(
  project: ConsumerProject,
  name: string,
): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(project.dir, 'node_modules', name, 'package.json'), 'utf8'));
}
