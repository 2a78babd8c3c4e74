/**
 * @updraft/client and @updraft/cli as another project uses them: `npm run pack`'s tarballs installed
 * with npm into a fresh project outside the repository, run on the system Node 20 against the real
 * Worker under `wrangler dev`. The CLI publishes and promotes a release, a script of that project
 * checks and downloads it through the SDK (on Node 20, Bun and Deno), and TypeScript type-checks code
 * written against both.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import type { PublicJwk } from '../../src/protocol/documents.ts';
import type { RunResult } from '../scripts/helpers.ts';
import { type ConsumerProject, installedManifest, installPackages } from '../support/packages.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

const BIN = join(import.meta.dirname, '..', '..', 'node_modules', '.bin');
const TSC = join(BIN, 'tsc');
/** Runtimes besides Node that the SDK promises, from the repository's devDependencies `bun` and `deno`. */
const OTHER_RUNTIMES: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['bun', join(BIN, 'bun'), []],
  ['deno', join(BIN, 'deno'), ['run', '--allow-all']],
];
/** What each package imports at run time; the CLI's `expo keys` makes Expo code signing certificates. */
const RUNTIME_DEPENDENCIES: Record<string, readonly string[]> = {
  '@updraft/client': ['jose', 'semver', 'zod'],
  '@updraft/cli': ['@expo/code-signing-certificates', 'jose', 'semver', 'zod'],
};
const ROOT_MANIFEST = JSON.parse(
  await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'),
) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** Code a Node project writes against both packages: what must compile, and what must not. */
const NODE_CONSUMER = `import {
  type CheckResult,
  createUpdater,
  type StorageAdapter,
  UpdraftError,
  type UpdraftErrorCode,
} from '@updraft/client';
import { FileStorage } from '@updraft/client/file-storage';
import { runCli } from '@updraft/cli';

const storage: StorageAdapter = new FileStorage('state.json');
const updater = createUpdater({
  server: 'https://updates.example.com', app: 'demo', rootKeys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'k' }],
  storage, platform: 'linux', arch: 'x64', currentVersion: '1.0.0',
});
const result: CheckResult = await updater.check();
if (result.status !== 'none') {
  const bytes: Uint8Array = await updater.download(result);
  const hash: string = result.artifact.sha256;
  console.log(bytes.length, hash);
}
const code: number = await runCli(['--version']);
const refusal: UpdraftErrorCode = new UpdraftError('artifact_hash', 'no').code;
// @ts-expect-error error codes are a closed list
new UpdraftError('nonsense', 'no');
// @ts-expect-error platforms are a closed list
createUpdater({ server: '', app: '', rootKeys: [], storage, platform: 'plan9', arch: 'x64', currentVersion: '1' });
// @ts-expect-error the CLI takes its arguments as strings
await runCli([1]);
console.log(code, refusal);
`;

/** A web app's code: bundler resolution, the DOM's types and no Node types at all. */
const BROWSER_CONSUMER = `import { createUpdater, MemoryStorage, type UpdaterOptions } from '@updraft/client';

const options: UpdaterOptions = {
  server: 'https://updates.example.com', app: 'web', rootKeys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'k' }],
  storage: new MemoryStorage(), platform: 'web', arch: 'any', currentVersion: '1.0.0',
};
const updater = createUpdater(options);
const result = await updater.check();
document.title = result.status;
export {};
`;

const STRICT = { strict: true, noEmit: true, skipLibCheck: false, target: 'es2023' };

/** Runs the repository's tsc over `source` in the consumer project; resolves to its output and exit code. */
async function typeCheck(project: ConsumerProject, name: string, source: string, options: object) {
  await writeFile(join(project.dir, `${name}.ts`), source);
  const config = { compilerOptions: { ...STRICT, ...options }, files: [`${name}.ts`] };
  await writeFile(join(project.dir, `tsconfig.${name}.json`), JSON.stringify(config));
  return project.run(TSC, ['-p', `tsconfig.${name}.json`]);
}

let project: ConsumerProject | undefined;
/** Started as soon as the packages are installed, while the Worker may still be starting. */
let typeChecks: { node: Promise<RunResult>; browser: Promise<RunResult> } | undefined;
let server: DevServer | undefined;
let work = '';
let keysDir = '';
let rootKey: PublicJwk;
let artifact: Buffer;
let env: NodeJS.ProcessEnv = {};

function consumer(): ConsumerProject {
  if (!project) throw new Error('the packages were not installed');
  return project;
}

function dev(): DevServer {
  if (!server) throw new Error('the dev server did not start');
  return server;
}

/** The installed CLI against the test server; a non-zero exit fails with its stderr. */
async function updraft(args: readonly string[]): Promise<string> {
  const result = await consumer().updraft(args, env);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function expectOneLine(result: RunResult, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-packages-'));
  keysDir = join(work, 'keys');
  artifact = randomBytes(200_000);
  await writeFile(join(work, 'demo-1.1.0-linux-x64.tar.gz'), artifact);
  // Packing and installing (tsc, npm) and starting the Worker take about as long: side by side.
  // @types/node: a Node project that calls the CLI's runCli types process.env with it.
  const installing = installPackages([`@types/node@${ROOT_MANIFEST.devDependencies['@types/node']}`]).then(
    (installed) => {
      typeChecks = {
        node: typeCheck(installed, 'node', NODE_CONSUMER, {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
        }),
        browser: typeCheck(installed, 'browser', BROWSER_CONSUMER, {
          module: 'esnext',
          moduleResolution: 'bundler',
          lib: ['es2023', 'dom'],
          types: [],
        }),
      };
      return installed;
    },
  );
  const starting = (async () => {
    const keys = await keysInit({ keysDir, offline: true });
    rootKey = keys.keys.root;
    const onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
    return startDevServer({ onlineKey });
  })();
  const [installed, started] = await Promise.allSettled([installing, starting]);
  if (installed.status === 'fulfilled') project = installed.value;
  if (started.status === 'fulfilled') server = started.value;
  if (installed.status === 'rejected') throw installed.reason;
  if (started.status === 'rejected') throw started.reason;
  env = { UPDRAFT_SERVER: dev().url, UPDRAFT_TOKEN: dev().adminToken, UPDRAFT_KEYS: keysDir };
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await project?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('are named, versioned and depend on exactly what they import, with the root ranges', async () => {
    const root = ROOT_MANIFEST;
    for (const [name, dependencies] of Object.entries(RUNTIME_DEPENDENCIES)) {
      const expected = Object.fromEntries(dependencies.map((dep) => [dep, root.dependencies[dep]]));
      const manifest = await installedManifest(consumer(), name);
      expect(manifest).toMatchObject({ name, version: root.version, type: 'module', dependencies: expected });
      expect(manifest.engines).toEqual({ node: '>=20' });
    }
    expect(consumer().node.version).toMatch(/^v20\./);
  });

  it('the SDK loads on Node 20 through both entry points, and nothing else is exported', async () => {
    const script = `
      const client = await import('@updraft/client');
      const { FileStorage } = await import('@updraft/client/file-storage');
      console.log(JSON.stringify({ exports: Object.keys(client).sort(), file: typeof FileStorage }));`;
    const result = await consumer().run('node', ['--input-type=module', '-e', script]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      exports: ['MemoryStorage', 'UpdraftError', 'createUpdater'],
      file: 'function',
    });
    const deep = await consumer().run('node', [
      '--input-type=module',
      '-e',
      "import '@updraft/client/dist/client/check.js'",
    ]);
    expect(deep.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});

describe('the installed updraft CLI on Node 20', () => {
  it('prints its version, with npx too', async () => {
    expect((await consumer().updraft(['--version'])).stdout).toBe(`${consumer().packed.cli.version}\n`);
    expect((await consumer().updraft(['-v'])).stdout).toBe(`${consumer().packed.cli.version}\n`);
    const npx = await consumer().run('npx', ['--no-install', 'updraft', '--version']);
    expect(npx).toMatchObject({ code: 0, stdout: `${consumer().packed.cli.version}\n` });
  });

  it('loads every module it ships on Node 20 (commands load on demand, so --help alone would not)', async () => {
    const script = `
      import { readdirSync } from 'node:fs';
      import { join } from 'node:path';
      import { pathToFileURL } from 'node:url';
      const dist = 'node_modules/@updraft/cli/dist';
      const files = readdirSync(dist, { recursive: true }).filter((f) => f.endsWith('.js') && f !== join('scripts', 'updraft.js'));
      for (const file of files) await import(pathToFileURL(join(dist, file)).href);
      console.log(files.length);`;
    const result = await consumer().run('node', ['--input-type=module', '-e', script]);
    expect(result.stderr).toBe('');
    expect(Number(result.stdout)).toBeGreaterThan(50);
  });

  it('prints help', async () => {
    const result = await consumer().updraft(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: updraft <command>');
    expect(result.stdout).toContain('updraft --version');
    const promote = await consumer().updraft(['promote', '--help']);
    expect(promote.stdout).toContain('Usage: updraft promote <app> <version> --channel <name>');
  });

  it('answers a mistake with one line and exit 1', async () => {
    expectOneLine(await consumer().updraft(['promote', 'demo']), /^updraft: missing <version> \(usage: /);
    expectOneLine(await consumer().updraft(['frobnicate']), /^updraft: unknown command "frobnicate"/);
    const unknown = await consumer().updraft(['promote', 'demo', '9.9.9', '--channel', 'stable'], env);
    expectOneLine(unknown, /^updraft: .*\(404 /);
  });

  it('makes keys offline', async () => {
    const dir = join(work, 'more-keys');
    const result = await consumer().updraft(['keys', 'init', '--offline', '--keys', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Root key to pin in clients: \{"kty":"OKP"/);
  });

  it('registers keys, creates the app, publishes and promotes a release', async () => {
    expect(await updraft(['keys', 'register'])).toMatch(/Registered keys document 1/);
    await updraft(['app', 'create', 'demo']);
    const file = join(work, 'demo-1.1.0-linux-x64.tar.gz');
    const published = await updraft(['publish', 'demo', '1.1.0', '--artifact', `linux-x64=${file}`]);
    expect(published).toMatch(/Published demo 1\.1\.0/);
    expect(await updraft(['promote', 'demo', '1.1.0', '--channel', 'stable'])).toMatch(
      /Promoted demo 1\.1\.0 to 100% of stable/,
    );
  });
});

describe('the installed SDK on Node 20', () => {
  it('checks, verifies and downloads the promoted release, keeping its state in a FileStorage; on Bun and Deno too', async () => {
    const script = join(consumer().dir, 'update.js');
    await writeFile(
      script,
      `import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createUpdater } from '@updraft/client';
import { FileStorage } from '@updraft/client/file-storage';

const [server, rootKey, path] = process.argv.slice(2);
const updater = createUpdater({
  server, app: 'demo', channel: 'stable', rootKeys: [JSON.parse(rootKey)], storage: new FileStorage(path),
  platform: 'linux', arch: 'x64', currentVersion: '1.0.0', verifyBucket: true,
});
const result = await updater.check();
if (result.status === 'none') {
  console.log(JSON.stringify(result));
} else {
  const bytes = await updater.download(result);
  const stored = Object.keys(JSON.parse(await readFile(path, 'utf8'))).sort();
  console.log(JSON.stringify({ status: result.status, version: result.version, size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'), stored }));
}
`,
    );
    const storage = join(work, 'client-state.json');
    const args = [script, dev().url, JSON.stringify(rootKey), storage];
    // The Worker's isolate may hold the app's state from before the promote for a few seconds.
    let answer: Record<string, unknown> = {};
    for (const deadline = Date.now() + 20_000; ; ) {
      const result = await consumer().run('node', args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe(''); // not even a warning from Node 20
      answer = JSON.parse(result.stdout) as Record<string, unknown>;
      if (answer.status !== 'none' || Date.now() > deadline) break;
      await new Promise((done) => setTimeout(done, 500));
    }
    expect(answer).toEqual(expectedUpdate());

    // The same app code, unchanged, on Bun and on Deno (npm packages of both, run from node_modules
    // the way their users run them), each a first run with its own state file.
    for (const [runtime, command, flags] of OTHER_RUNTIMES) {
      const own = [script, dev().url, JSON.stringify(rootKey), join(work, `client-state-${runtime}.json`)];
      const result = await consumer().run(command, [...flags, ...own]);
      expect(result.code, `${runtime}: ${result.stderr}`).toBe(0);
      expect(JSON.parse(result.stdout), runtime).toEqual(expectedUpdate());
    }
  });
});

/** What the update script prints for the promoted release. */
function expectedUpdate() {
  return {
    status: 'update',
    version: '1.1.0',
    size: artifact.length,
    sha256: createHash('sha256').update(artifact).digest('hex'),
    stored: [
      'updraft:demo:channel',
      'updraft:demo:client_id',
      'updraft:demo:keys',
      'updraft:demo:revision:stable',
      // The last verified snapshot: the next check sends its hash and is answered without it.
      'updraft:demo:snapshot',
    ],
  };
}

describe('the packages’ types', () => {
  const expectCompiles = async (check: Promise<RunResult> | undefined) => {
    if (!check) throw new Error('the type checks did not start');
    const result = await check;
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.code).toBe(0);
  };

  it('resolve for a Node project (nodenext) importing both packages', async () => {
    await expectCompiles(typeChecks?.node);
  });

  it('resolve for a browser project (bundler resolution, DOM types, no Node types)', async () => {
    await expectCompiles(typeChecks?.browser);
  });
});
