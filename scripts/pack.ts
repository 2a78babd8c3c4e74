/**
 * `npm run pack`: builds the client SDK and the `updraft` CLI as packages other projects install,
 * and packs them: dist/updraft-client-<version>.tgz (@updraft/client) and
 * dist/updraft-cli-<version>.tgz (@updraft/cli). tsc compiles each package's entry points file by
 * file into <package>/dist/ (ESM JavaScript, .d.ts, source maps with the sources inline), keeping the
 * repository's folders below it (dist/client + dist/protocol; dist/scripts + dist/src). Each
 * package depends on exactly the packages its compiled code imports, with the root's ranges.
 * docs/decisions.md ("Packages") says why it is built this way.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

interface PackageSpec {
  name: '@updraft/client' | '@updraft/cli';
  /** Folder name under the output folder, and the tarball's middle part. */
  slug: 'client' | 'cli';
  description: string;
  /** What tsc compiles from (repository-relative): the package's dist/ mirrors the folders below it. */
  rootDir: string;
  /** Entry points, repository-relative; tsc follows their imports, dynamic ones included. */
  entries: string[];
  /** Export subpath → compiled module below dist/, without extension. */
  exports: Record<string, string>;
  bin?: Record<string, string>;
  /** The SDK's modules only define things: bundlers may drop whatever an app does not use. */
  sideEffects?: false;
  keywords: string[];
}

export const PACKAGES: readonly PackageSpec[] = [
  {
    name: '@updraft/client',
    slug: 'client',
    description: 'Updraft client SDK: check for signed updates, verify them end to end, download, report',
    rootDir: 'src',
    entries: ['src/client/index.ts', 'src/client/file-storage.ts'],
    exports: { '.': 'client/index', './file-storage': 'client/file-storage' },
    sideEffects: false,
    keywords: ['updates', 'auto-update', 'software-update', 'ed25519', 'webcrypto'],
  },
  {
    name: '@updraft/cli',
    slug: 'cli',
    description: 'The updraft CLI: publish, roll out and yank signed releases on an Updraft server',
    rootDir: '.',
    entries: ['scripts/updraft.ts'],
    exports: { '.': 'scripts/lib/cli' },
    bin: { updraft: 'scripts/updraft' },
    keywords: ['updates', 'releases', 'rollout', 'cli'],
  },
];

export interface Packed {
  name: string;
  version: string;
  /** The built package folder (what the tarball holds, under `package/`). */
  dir: string;
  tarball: string;
  dependencies: Record<string, string>;
}

/**
 * Builds and packs both packages into `out` (default dist/, gitignored), which is emptied first.
 * Throws with tsc's or npm's output when a step fails.
 */
export async function pack(out = join(ROOT, 'dist')): Promise<Record<PackageSpec['slug'], Packed>> {
  const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  // Both compile at once: tsc is most of the time, and each run is one process.
  const [client, cli] = await Promise.all(PACKAGES.map((spec) => packOne(spec, out, root)));
  if (!client || !cli) throw new Error('pack: a package is missing');
  return { client, cli };
}

async function packOne(
  spec: PackageSpec,
  out: string,
  root: { version: string; dependencies: Record<string, string> },
): Promise<Packed> {
  const dir = join(out, spec.slug);
  const dist = join(dir, 'dist');
  await compile(spec, dist, join(out, `tsconfig.${spec.slug}.json`));
  await rewriteDeclarations(dist);
  await rewriteSourceMaps(dist, dir);

  const dependencies = await runtimeDependencies(spec, dist, root.dependencies);
  const manifest = {
    name: spec.name,
    version: root.version,
    description: spec.description,
    keywords: spec.keywords,
    type: 'module',
    engines: { node: '>=20' },
    ...(spec.bin ? { bin: mapValues(spec.bin, (path) => `dist/${path}.js`) } : {}),
    exports: {
      ...mapValues(spec.exports, (path) => ({ types: `./dist/${path}.d.ts`, default: `./dist/${path}.js` })),
      './package.json': './package.json',
    },
    ...(spec.sideEffects === false ? { sideEffects: false } : {}),
    files: ['dist/'],
    dependencies,
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(
    join(dir, 'README.md'),
    await readFile(join(ROOT, 'scripts', 'pack-readme', `${spec.slug}.md`), 'utf8'),
  );

  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
    cwd: dir,
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_fund: 'false' },
  });
  const [result] = JSON.parse(stdout) as { filename: string }[];
  if (!result) throw new Error(`npm pack of ${spec.name} printed no result: ${stdout}`);
  return { name: spec.name, version: root.version, dir, tarball: join(out, result.filename), dependencies };
}

async function compile(spec: PackageSpec, outDir: string, configPath: string): Promise<void> {
  const config = {
    extends: join(ROOT, 'tsconfig.base.json'),
    compilerOptions: {
      noEmit: false,
      declaration: true,
      sourceMap: true,
      inlineSources: true,
      // `./check.ts` becomes `./check.js` in the JavaScript (and in .d.ts, by rewriteDeclarations).
      rewriteRelativeImportExtensions: true,
      rootDir: join(ROOT, spec.rootDir),
      outDir,
      // FileStorage and the CLI use node: modules; the SDK's own types need only the DOM's fetch.
      lib: ['es2023', 'dom', 'dom.iterable'],
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
    },
    files: spec.entries.map((entry) => join(ROOT, entry)),
  };
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  try {
    await run(TSC, ['-p', configPath], { cwd: ROOT });
  } catch (error) {
    const output = error instanceof Error && 'stdout' in error ? String(error.stdout) : '';
    throw new Error(`tsc could not build ${spec.name}:\n${output || String(error)}`);
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

// A relative module specifier ending in .ts, in `from '…'`, `import '…'` or `import('…')`.
const RELATIVE_TS = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g;

/**
 * tsc rewrites `.ts` specifiers in the JavaScript it emits but copies them into declarations as
 * written; a consumer's TypeScript would then look for .ts files the package does not ship.
 */
async function rewriteDeclarations(dist: string): Promise<void> {
  for (const file of await filesUnder(dist)) {
    if (!file.endsWith('.d.ts') && !file.endsWith('.js')) continue;
    const text = await readFile(file, 'utf8');
    if (file.endsWith('.js')) {
      if (text.search(RELATIVE_TS) !== -1) throw new Error(`${file} still imports a .ts file`);
      continue;
    }
    const rewritten = text.replace(RELATIVE_TS, (_, head: string, quote: string, path: string) => {
      return `${head}${quote}${path}.js${quote}`;
    });
    if (rewritten !== text) await writeFile(file, rewritten);
  }
}

/**
 * tsc names each map's source by its path in this checkout (`../../../../src/client/index.ts`),
 * which from node_modules points nowhere. Name it as if the package held the repository's file at
 * the same place below its root (`../../src/client/index.ts`); the text itself is inline.
 */
async function rewriteSourceMaps(dist: string, packageDir: string): Promise<void> {
  for (const file of await filesUnder(dist)) {
    if (!file.endsWith('.js.map')) continue;
    const map = JSON.parse(await readFile(file, 'utf8')) as { sources: string[]; sourceRoot?: string };
    const here = dirname(file);
    map.sources = map.sources.map((source) => {
      const inRepository = relative(ROOT, resolve(here, map.sourceRoot ?? '', source));
      return relative(here, join(packageDir, inRepository)).split(sep).join('/');
    });
    delete map.sourceRoot;
    await writeFile(file, JSON.stringify(map));
  }
}

/**
 * The packages the compiled entry points import, statically or dynamically, read by esbuild from
 * the emitted JavaScript, with the root package.json's ranges. A package the root lists only as a
 * devDependency (or not at all) is a build error: it would be missing when installed.
 */
async function runtimeDependencies(
  spec: PackageSpec,
  dist: string,
  rootDependencies: Record<string, string>,
): Promise<Record<string, string>> {
  const result = await build({
    entryPoints: spec.entries.map((entry) =>
      join(dist, relative(spec.rootDir, entry).replace(/\.ts$/, '.js')),
    ),
    bundle: true,
    write: false,
    outdir: join(dist, '.deps'),
    format: 'esm',
    platform: 'node',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
  });
  const names = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith('node:') || builtinModules.includes(imported.path)) {
        continue;
      }
      const parts = imported.path.split('/');
      names.add(imported.path.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? ''));
    }
  }
  const dependencies: Record<string, string> = {};
  for (const name of [...names].sort()) {
    const range = rootDependencies[name];
    if (range === undefined) {
      throw new Error(`${spec.name} imports ${name}, which package.json does not list in dependencies`);
    }
    dependencies[name] = range;
  }
  return dependencies;
}

function mapValues<T>(record: Record<string, string>, f: (value: string) => T): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]));
}

if (import.meta.main) {
  const started = Date.now();
  const packed = await pack();
  for (const p of Object.values(packed)) {
    const deps = Object.entries(p.dependencies).map(([name, range]) => `${name}@${range}`);
    process.stdout.write(
      `${p.name}@${p.version}: ${relative(process.cwd(), p.tarball)} (${deps.join(', ')})\n`,
    );
  }
  process.stdout.write(`packed in ${Date.now() - started} ms\n`);
}
