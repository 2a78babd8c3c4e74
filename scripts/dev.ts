/**
 * `npm run dev`: a working local Updraft on http://127.0.0.1:8787 (env PORT) from a fresh clone.
 * Creates dev keys and .dev.vars when missing, applies the D1 migrations locally, seeds the demo app
 * (scripts/seed.ts) once on a private port while the public one answers 503 `seeding`, then starts
 * `wrangler dev` on the public port, runs the Worker's cron every minute (unless --no-cron) and
 * restarts the Worker when `updraft keys rotate --role online` replaces the online key. Ctrl-C
 * stops it all.
 */

import { execFile } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { keysInit } from './commands/keys-init.ts';
import { ApiClient } from './lib/api.ts';
import { DEFAULT_SERVER } from './lib/config.ts';
import { startDevCron } from './lib/dev-cron.ts';
import { updateDevVars } from './lib/dev-vars.ts';
import { welcomeLines } from './lib/dev-welcome.ts';
import { type RunningWrangler, startWrangler, wranglerEnv } from './lib/dev-wrangler.ts';
import { messageOf, UserError } from './lib/errors.ts';
import { keyPath, readPrivateKey } from './lib/keys-folder.ts';
import { freePort } from './lib/net.ts';
import { DEMO_APP, seed } from './seed.ts';

const USAGE = `Usage: npm run dev [-- --no-cron] [-- --state <dir>]

  --no-cron      do not run the Worker's scheduled handler every minute
  --state <dir>  keep the keys (<dir>/keys), secrets (<dir>/dev.vars) and local data (<dir>/state)
                 there instead of .updraft/keys, .dev.vars and .wrangler/state: a separate dev server
  PORT=<n>       listen on 127.0.0.1:<n> instead of 8787
`;

const root = resolve(import.meta.dirname, '..');
const log = (line: string) => process.stdout.write(`[updraft dev] ${line}\n`);
/** Marks a local state whose demo is seeded, so a restart goes straight to the public port. */
const SEEDED_MARKER = 'updraft-dev-seeded.json';
/** The Worker on the public port, and whether dev.ts itself is stopping or restarting it. */
let worker: RunningWrangler | undefined;
let restarting = false;

interface DevPaths {
  keysDir: string;
  secrets: string;
  /** --persist-to for wrangler; undefined: its default, .wrangler/state. */
  persistTo: string | undefined;
  state: string;
}

function devPaths(stateDir: string | undefined): DevPaths {
  if (stateDir === undefined) {
    return {
      keysDir: join(root, '.updraft', 'keys'),
      secrets: join(root, '.dev.vars'),
      persistTo: undefined,
      state: join(root, '.wrangler', 'state'),
    };
  }
  const dir = resolve(stateDir);
  return {
    keysDir: join(dir, 'keys'),
    secrets: join(dir, 'dev.vars'),
    persistTo: join(dir, 'state'),
    state: join(dir, 'state'),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cron: { type: 'boolean', default: true },
      state: { type: 'string' },
      help: { type: 'boolean' },
    },
    allowNegative: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const cron = values.cron !== false;
  const stopAll = async () => {
    restarting = true;
    await worker?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());
  const port = Number(process.env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new UserError(`PORT must be a port number, got ${process.env.PORT}`);
  if (!existsSync(join(root, 'node_modules', '.bin', 'wrangler')))
    throw new UserError('node_modules/.bin/wrangler is missing: run `npm install` first');
  const paths = devPaths(values.state);
  const server = `http://127.0.0.1:${port}`;

  let newKeys = false;
  if (!existsSync(keyPath(paths.keysDir, 'root'))) {
    await keysInit({ keysDir: paths.keysDir, offline: true });
    log(`created dev keys in ${paths.keysDir}`);
    newKeys = true;
  }
  const adminToken = await syncSecrets(paths);
  await applyMigrations(paths);

  const wranglerOptions = {
    root,
    persistTo: paths.persistTo,
    envFile: values.state === undefined ? undefined : paths.secrets,
  };
  const marker = join(paths.state, SEEDED_MARKER);
  if (newKeys || !existsSync(marker)) {
    const seeded = await seedPrivately(port, adminToken, paths.keysDir, wranglerOptions);
    if (seeded) await writeFile(marker, `${JSON.stringify({ seeded_at: new Date().toISOString() })}\n`);
  }

  const start = async () => {
    worker = await startWrangler({ ...wranglerOptions, port, quiet: false, testScheduled: cron });
    const child = worker.child;
    // wrangler leaving by itself (its own `x` key, a crash) ends `npm run dev` with its code.
    child.on('exit', (code, signal) => {
      if (worker?.child === child && !restarting) process.exit(code ?? (signal ? 0 : 1));
    });
  };
  await start();

  const client = new ApiClient({ server, token: adminToken });
  // The CLI's defaults are 127.0.0.1:8787, .updraft/keys and the token in .dev.vars.
  const cliEnv: string[] = [];
  if (server !== DEFAULT_SERVER) cliEnv.push(`UPDRAFT_SERVER=${server}`);
  if (values.state !== undefined) cliEnv.push(`UPDRAFT_KEYS=${paths.keysDir}`, 'UPDRAFT_TOKEN=…');
  try {
    const lines = await welcomeLines({
      client,
      server,
      app: DEMO_APP,
      fromVersion: '1.0.0',
      cliEnv,
      secretsFile: values.state === undefined ? '.dev.vars' : paths.secrets,
      cron,
    });
    process.stdout.write(lines.join('\n'));
  } catch (error) {
    log(`Updraft is running on ${server}, but reading the demo failed: ${messageOf(error)}`);
  }

  if (cron) startDevCron({ server: () => (restarting ? undefined : server), log });
  watchOnlineKey(paths, async (kid) => {
    restarting = true;
    try {
      await syncSecrets(paths);
      log(`the online key in ${paths.keysDir} changed (${kid}): restarting the Worker with it`);
      await worker?.stop();
      await start();
      log(`the Worker now signs with online key ${kid}`);
    } finally {
      restarting = false;
    }
  });
}

/** Keeps the secrets file's admin token and online key in step with the keys folder; returns the token. */
async function syncSecrets(paths: DevPaths): Promise<string> {
  const onlineKey = await readPrivateKey(paths.keysDir, 'online');
  const before = existsSync(paths.secrets) ? await readFile(paths.secrets, 'utf8') : undefined;
  const devVars = updateDevVars(before, onlineKey);
  if (devVars.changed) {
    await writeFile(paths.secrets, devVars.text, { mode: 0o600 });
    log(
      before === undefined
        ? `wrote ${paths.secrets}`
        : `updated ${paths.secrets} (admin token or online key)`,
    );
  }
  return devVars.adminToken;
}

/** DB and every telemetry database wrangler.toml binds (`binding = "TELEMETRY_…"`, docs/protocol.md §11). */
async function d1Bindings(): Promise<string[]> {
  const toml = await readFile(join(root, 'wrangler.toml'), 'utf8');
  const telemetry = [...toml.matchAll(/^\s*binding\s*=\s*"(TELEMETRY_[A-Z0-9_]+)"/gm)].map((m) => m[1] ?? '');
  return ['DB', ...telemetry.filter(Boolean)];
}

async function applyMigrations(paths: DevPaths): Promise<void> {
  // Every telemetry database gets the same migrations as DB (docs/decisions.md).
  for (const binding of await d1Bindings()) {
    log(`applying D1 migrations locally to ${binding}`);
    const args = ['d1', 'migrations', 'apply', binding, '--local'];
    if (paths.persistTo) args.push('--persist-to', paths.persistTo);
    try {
      await promisify(execFile)(join(root, 'node_modules', '.bin', 'wrangler'), args, {
        cwd: root,
        env: wranglerEnv({ CI: 'true' }),
      });
    } catch (error) {
      const stderr =
        typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
      throw new UserError(`wrangler d1 migrations apply ${binding} failed: ${messageOf(error)}\n${stderr}`);
    }
  }
}

/**
 * Seeds the demo through a Worker on a private port while the public port answers 503 `seeding` to
 * everything, /healthz included: whoever waits for /healthz on the public port meets a whole demo,
 * its telemetry written. Returns whether the seed finished; a failure is logged and the server
 * starts anyway.
 */
async function seedPrivately(
  port: number,
  adminToken: string,
  keysDir: string,
  options: { root: string; persistTo: string | undefined; envFile: string | undefined },
): Promise<boolean> {
  const gate = await holdPort(port);
  let seeder: RunningWrangler | undefined;
  try {
    log('seeding the demo app on a private port (the public one answers 503 `seeding` until it is done)');
    seeder = await startWrangler({ ...options, port: await freePort(), quiet: true, testScheduled: false });
    const client = new ApiClient({ server: seeder.url, token: adminToken });
    await seed({
      client,
      keysDir,
      log: (line) => log(`seed: ${line}`),
      waitForTelemetry: { timeoutMs: 90_000 },
    });
    return true;
  } catch (error) {
    log(
      `seeding failed (the server starts anyway; the next \`npm run dev\` tries again): ${messageOf(error)}`,
    );
    return false;
  } finally {
    await seeder?.stop();
    await new Promise((done) => gate.close(done));
  }
}

/** A stand-in on the public port: 503 `seeding` (the API's error shape) to every request. */
async function holdPort(port: number): Promise<Server> {
  const gate = createServer((_request, response) => {
    // Connection: close, or a keep-alive socket would hold the port past close().
    response.writeHead(503, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      'Retry-After': '5',
      Connection: 'close',
    });
    response.end(
      JSON.stringify({
        error: {
          code: 'seeding',
          message: 'npm run dev is seeding the demo app; the server starts when it is done',
        },
      }),
    );
  });
  await new Promise<void>((done, fail) => {
    gate.once('error', (error) =>
      fail(new UserError(`cannot listen on 127.0.0.1:${port}: ${messageOf(error)}`)),
    );
    gate.listen(port, '127.0.0.1', done);
  });
  return gate;
}

/** Calls `changed(kid)` when the keys folder's online key becomes a different key. */
function watchOnlineKey(paths: DevPaths, changed: (kid: string) => Promise<void>): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: string | undefined;
  let busy = Promise.resolve();
  void readPrivateKey(paths.keysDir, 'online').then((key) => {
    current = key.kid;
  });
  const look = () => {
    busy = busy.then(async () => {
      let kid: string;
      try {
        kid = (await readPrivateKey(paths.keysDir, 'online')).kid;
      } catch {
        return; // mid-rotation (renamed away for a moment): the next event looks again
      }
      if (current === undefined || kid === current) return;
      current = kid;
      try {
        await changed(kid);
      } catch (error) {
        log(`restarting with the new online key failed: ${messageOf(error)}`);
        process.exit(1);
      }
    });
  };
  watch(paths.keysDir, () => {
    // A rotation renames files in turn: look once the folder has been quiet for a moment.
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(look, 500);
  });
}

try {
  await main();
} catch (error) {
  if (error instanceof UserError) {
    process.stderr.write(`updraft dev: ${error.message}\n`);
  } else {
    process.stderr.write(
      `updraft dev: unexpected error:\n${error instanceof Error ? error.stack : String(error)}\n`,
    );
  }
  restarting = true;
  await worker?.stop();
  process.exit(1);
}
