/**
 * Starts the real Worker under `wrangler dev` for end-to-end tests: a free loopback port, a fresh
 * state directory (--persist-to) with the D1 migrations applied, and its own secrets (--env-file),
 * so tests never touch the developer's .wrangler/state or .dev.vars. Wrangler runs the [build]
 * command of wrangler.toml first, so /dashboard/ serves a bundle built from this checkout.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/lib/net.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');

export interface DevServer {
  url: string;
  port: number;
  adminToken: string;
  /** The temp folder holding the state and the env file; removed by stop(). */
  dir: string;
  /** Everything wrangler printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** The online private key as JWK JSON: UPDRAFT_ONLINE_KEY. */
  onlineKey: string;
  /** Defaults to a random token. */
  adminToken?: string;
  timeoutMs?: number;
}

/** Environment for wrangler: no metrics, no prompts, and none of the caller's UPDRAFT_* settings. */
function wranglerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' };
  for (const name of Object.keys(env)) if (name.startsWith('UPDRAFT_')) delete env[name];
  return env;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const dir = await mkdtemp(join(tmpdir(), 'updraft-e2e-'));
  const persist = join(dir, 'state');
  const envFile = join(dir, 'secrets.env');
  const adminToken = options.adminToken ?? `updr_e2e_${randomBytes(24).toString('base64url')}`;
  await writeFile(envFile, `UPDRAFT_ADMIN_TOKEN=${adminToken}\nUPDRAFT_ONLINE_KEY=${options.onlineKey}\n`, {
    mode: 0o600,
  });

  await promisify(execFile)(
    WRANGLER,
    ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist],
    {
      cwd: ROOT,
      env: wranglerEnv(),
    },
  );

  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
  ];
  args.push('--persist-to', persist, '--env-file', envFile, '--show-interactive-dev-session=false');
  // The cron handler answers GET /cdn-cgi/handler/scheduled?time=<unix ms> (see triggerScheduled).
  args.push('--test-scheduled');
  // detached: wrangler runs workerd as its own child; killing the group stops both.
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: wranglerEnv(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const server: DevServer = {
    url,
    port,
    adminToken,
    dir,
    output: () => output,
    stop: async () => {
      await stopGroup(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForHealth(url, child, options.timeoutMs ?? 90_000);
  } catch (error) {
    await server.stop();
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- wrangler output ---\n${output}`,
    );
  }
  return server;
}

/**
 * Runs the Worker's `scheduled` handler once as if the cron fired at `at` (wrangler dev's test
 * route), and waits for it to finish: the scheduler's clock is `at`, so a test passes bake times
 * without waiting for them.
 */
export async function triggerScheduled(server: Pick<DevServer, 'url'>, at: Date): Promise<void> {
  const query = new URLSearchParams({ cron: '* * * * *', time: String(at.getTime()) });
  const response = await fetch(`${server.url}/cdn-cgi/handler/scheduled?${query}`);
  const text = await response.text();
  if (!response.ok) throw new Error(`the scheduled handler answered ${response.status}: ${text}`);
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((done) => setTimeout(done, 300));
  }
  throw new Error(`${url}/healthz did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const signal = (name: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
