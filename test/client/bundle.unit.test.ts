/**
 * `@updraft/client` is what apps ship: its module graph must hold nothing of the Worker or the CLI
 * and nothing of Node (browsers, React Native), and its source entry points load in Node as they are.
 * The packed package itself is tested installed: test/e2e/packages.e2e.test.ts (Node 20) and
 * test/browser/sdk-bundle.test.ts (Chromium).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function bundle(entry: string, platform: 'browser' | 'node') {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { inputs: Object.keys(result.metafile.inputs), code };
}

describe('the @updraft/client entry points', () => {
  it('bundles for the browser from the SDK and the protocol only', async () => {
    // platform 'browser' fails the build on any node: import.
    const { inputs, code } = await bundle('src/client/index.ts', 'browser');
    const own = inputs.filter((path) => !path.startsWith('node_modules/'));
    expect(own.length).toBeGreaterThan(5);
    for (const path of own) expect(path, path).toMatch(/^src\/(client|protocol)\//);
    expect(inputs.filter((path) => /^(src\/worker|scripts|src\/dashboard)\//.test(path))).toEqual([]);
    expect(own).not.toContain('src/client/file-storage.ts');
    const packages = new Set(inputs.filter((p) => p.startsWith('node_modules/')).map((p) => p.split('/')[1]));
    expect([...packages].sort()).toEqual(['jose', 'semver', 'zod']);
    // docs/client.md quotes this figure; keep it honest when dependencies change.
    const gzipKiB = gzipSync(code).length / 1024;
    console.info(
      `@updraft/client: ${(code.length / 1024).toFixed(0)} KiB minified, ${gzipKiB.toFixed(0)} KiB gzip`,
    );
    expect(gzipKiB).toBeLessThan(60);
  });

  it('keeps node:fs behind the separate file-storage entry point', async () => {
    const { inputs } = await bundle('src/client/file-storage.ts', 'node');
    expect(inputs).toEqual(['src/client/file-storage.ts']);
  });

  it('load in Node from source, with type stripping and nothing else', async () => {
    const source = (path: string) => new URL(`../../src/client/${path}`, import.meta.url).href;
    const script = `
      const client = await import('${source('index.ts')}');
      const { FileStorage } = await import('${source('file-storage.ts')}');
      console.log(JSON.stringify({
        exports: Object.keys(client).sort(),
        error: new client.UpdraftError('network', 'x').code,
        storages: [typeof FileStorage, typeof client.MemoryStorage],
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], {
      cwd: process.cwd(),
    });
    expect(JSON.parse(stdout)).toEqual({
      exports: ['MemoryStorage', 'UpdraftError', 'createUpdater'],
      error: 'network',
      storages: ['function', 'function'],
    });
  });
});
