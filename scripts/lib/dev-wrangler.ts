/**
 * One `wrangler dev` child of `npm run dev` (scripts/dev.ts): started on a loopback port, healthy once
 * /healthz answers 200, stopped on demand. dev.ts starts one on a private port to seed the demo and
 * the one on the public port afterwards, and restarts that one when the online key changes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { UserError } from './errors.ts';

export interface WranglerOptions {
  root: string;
  port: number;
  /** Local state folder (--persist-to); wrangler's default .wrangler/state when undefined. */
  persistTo?: string;
  /** Secrets file (--env-file); the project's .dev.vars when undefined. */
  envFile?: string;
  /** Keep wrangler's output (shown on failure only) instead of passing it to the terminal. */
  quiet: boolean;
  /** Serve /__scheduled too; also stops wrangler warning that the cron is not triggered locally. */
  testScheduled: boolean;
}

export interface RunningWrangler {
  url: string;
  child: ChildProcess;
  /** What a quiet wrangler printed so far. */
  output(): string;
  /** Stops it (SIGINT, then SIGKILL after 10 s) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * wrangler's own environment: no metrics, and no UPDRAFT_ADMIN_TOKEN or UPDRAFT_ONLINE_KEY from the
 * caller's shell, which wrangler would take over the secrets file that dev.ts keeps in step.
 */
export function wranglerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', ...extra };
  delete env.UPDRAFT_ADMIN_TOKEN;
  delete env.UPDRAFT_ONLINE_KEY;
  return env;
}

export async function startWrangler(opts: WranglerOptions, timeoutMs = 120_000): Promise<RunningWrangler> {
  const wrangler = `${opts.root}/node_modules/.bin/wrangler`;
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(opts.port)];
  if (opts.persistTo) args.push('--persist-to', opts.persistTo);
  if (opts.envFile) args.push('--env-file', opts.envFile);
  if (opts.quiet) args.push('--show-interactive-dev-session=false');
  if (opts.testScheduled) args.push('--test-scheduled');
  const child = spawn(wrangler, args, {
    cwd: opts.root,
    env: wranglerEnv(opts.quiet ? { CI: 'true' } : {}),
    stdio: opts.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${opts.port}`;
  const running: RunningWrangler = { url, child, output: () => output, stop: () => stopChild(child) };
  try {
    await waitForHealth(url, child, timeoutMs);
  } catch (error) {
    await running.stop();
    if (opts.quiet && error instanceof UserError)
      throw new UserError(`${error.message}\n--- wrangler output ---\n${output}`);
    throw error;
  }
  return running;
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new UserError(`wrangler dev exited with code ${child.exitCode ?? child.signalCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new UserError(`${url}/healthz did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGINT');
  });
}
