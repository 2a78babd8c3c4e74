/**
 * The Worker bundle exactly as `wrangler deploy` would upload it: `wrangler deploy --dry-run
 * --outdir` runs the same esbuild configuration (and the [build] command) without deploying.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ROOT } from './servers.ts';

// Run by this Node, and so is the [build] command (`node scripts/build-dashboard.ts`): not whichever
// `node` comes first on PATH, since both need Node 22.
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

export interface Bundle {
  scriptPath: string;
  bytes: number;
  gzipBytes: number;
}

/**
 * Builds into `outDir` and measures the bundle (gzip at the default level, as an upload is compressed).
 * `readable` builds it unminified (wrangler.toml minifies), so that a CPU profile names functions.
 */
export async function buildWorker(outDir: string, options: { readable?: boolean } = {}): Promise<Bundle> {
  const args = [
    WRANGLER,
    'deploy',
    '--dry-run',
    '--outdir',
    outDir,
    ...(options.readable ? ['--minify=false'] : []),
  ];
  await promisify(execFile)(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      WRANGLER_SEND_METRICS: 'false',
      CI: 'true',
    },
  });
  const scriptPath = join(outDir, 'index.js');
  const code = await readFile(scriptPath);
  return { scriptPath, bytes: code.length, gzipBytes: gzipSync(code).length };
}
