/**
 * Bundles the dashboard (src/dashboard/) into public/dashboard/assets/ with esbuild: app.js (ES
 * module, uPlot included) and app.css (uPlot's stylesheet included). Wrangler runs it before `dev`
 * and `deploy` (wrangler.toml [build]); run it by hand with `node scripts/build-dashboard.ts`.
 */
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
export const DASHBOARD_OUT = join(ROOT, 'public', 'dashboard', 'assets');

export async function buildDashboard(opts: { minify?: boolean } = {}): Promise<void> {
  await build({
    absWorkingDir: ROOT,
    entryPoints: [
      { in: 'src/dashboard/main.ts', out: 'app' },
      { in: 'src/dashboard/styles.css', out: 'app' },
    ],
    outdir: DASHBOARD_OUT,
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: opts.minify ?? true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
}

if (import.meta.main) {
  const started = Date.now();
  await buildDashboard();
  process.stdout.write(`dashboard built into public/dashboard/assets in ${Date.now() - started} ms\n`);
}
