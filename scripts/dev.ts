/**
 * `npm run dev`: a working local Updraft on http://127.0.0.1:8787 (env PORT) from a fresh clone.
 * Creates dev keys and .dev.vars when missing, applies the D1 migrations locally, starts
 * `wrangler dev`, waits for /healthz and seeds the demo app (scripts/seed.ts). Ctrl-C stops it all.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { keysInit } from './commands/keys-init.ts';
import { ApiClient } from './lib/api.ts';
import { DEFAULT_SERVER } from './lib/config.ts';
import { updateDevVars } from './lib/dev-vars.ts';
import { messageOf, UserError } from './lib/errors.ts';
import { keyPath, readPrivateKey } from './lib/keys-folder.ts';
import { DEMO_APP, pickExampleClients, seed } from './seed.ts';

const root = resolve(import.meta.dirname, '..');
const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
const keysDir = join(root, '.updraft', 'keys');
const port = Number(process.env.PORT ?? 8787);
const server = `http://127.0.0.1:${port}`;
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
const log = (line: string) => process.stdout.write(`[updraft dev] ${line}\n`);
let child: ChildProcess | undefined;

async function main(): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new UserError(`PORT must be a port number, got ${process.env.PORT}`);
  if (!existsSync(wrangler))
    throw new UserError('node_modules/.bin/wrangler is missing: run `npm install` first');

  if (!existsSync(keyPath(keysDir, 'root'))) {
    await keysInit({ keysDir, offline: true });
    log(`created dev keys in ${keysDir}`);
  }
  const onlineKey = await readPrivateKey(keysDir, 'online');
  const devVarsPath = join(root, '.dev.vars');
  const before = existsSync(devVarsPath) ? await readFile(devVarsPath, 'utf8') : undefined;
  const devVars = updateDevVars(before, onlineKey);
  if (devVars.changed) {
    await writeFile(devVarsPath, devVars.text, { mode: 0o600 });
    log(before === undefined ? 'wrote .dev.vars' : 'updated .dev.vars (admin token or online key)');
  }

  log('applying D1 migrations locally');
  try {
    await promisify(execFile)(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local'], {
      cwd: root,
      env: { ...wranglerEnv, CI: 'true' },
    });
  } catch (error) {
    const stderr =
      typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
    throw new UserError(`wrangler d1 migrations apply failed: ${messageOf(error)}\n${stderr}`);
  }

  child = spawn(wrangler, ['dev', '--ip', '127.0.0.1', '--port', String(port)], {
    cwd: root,
    env: wranglerEnv,
    stdio: 'inherit',
  });
  stopWithParent(child);
  await waitForHealth(child);

  const client = new ApiClient({ server, token: devVars.adminToken });
  try {
    await seed({ client, keysDir, log: (line) => log(`seed: ${line}`) });
  } catch (error) {
    log(`seeding failed (the server keeps running): ${messageOf(error)}`);
    return;
  }
  await printWelcome(client);
}

/** Ctrl-C reaches wrangler too (same process group); wait for it, then leave with its code. */
function stopWithParent(child: ChildProcess): void {
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGINT');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

async function waitForHealth(child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new UserError(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${server}/healthz`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = messageOf(error);
    }
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new UserError(`${server}/healthz did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`);
}

async function printWelcome(client: ApiClient): Promise<void> {
  const current = await client.get<{
    channels: { name: string; rollouts: { version: string; salt: string; percent_bp: number }[] }[];
  }>(`/v1/admin/apps/${DEMO_APP}/status`);
  const staged = current.channels
    .find((c) => c.name === 'stable')
    ?.rollouts.find((r) => r.version === '1.1.0');
  const check = (id: string) =>
    `curl '${server}/v1/apps/${DEMO_APP}/check?client_id=${id}&version=1.0.0&platform=linux&arch=x64'`;
  const lines = ['', `Updraft is running on ${server}`, ''];
  if (staged) {
    const { inside, outside } = await pickExampleClients(staged.salt, staged.percent_bp);
    lines.push(
      `1.1.0 is staged to ${staged.percent_bp / 100} % of stable. Two clients on 1.0.0:`,
      `  ${check(inside)}    # inside the rollout: update to 1.1.0`,
      `  ${check(outside)}    # outside: none`,
      `  curl '${server}/v1/apps/${DEMO_APP}/check?client_id=${inside}&version=1.1.0&platform=darwin&arch=arm64&channel=beta'    # beta: 1.2.0-beta.1`,
      'The same decision as electron-updater reads it (docs/clients/electron.md):',
      `  curl -H 'x-user-staging-id: ${inside}' -H 'x-updraft-version: 1.0.0' '${server}/v1/apps/${DEMO_APP}/electron/stable/latest-linux.yml'`,
    );
  }
  // The CLI's default server is 127.0.0.1:8787; on another port the commands must name it.
  const cli = server === DEFAULT_SERVER ? 'npx updraft' : `UPDRAFT_SERVER=${server} npx updraft`;
  lines.push(
    '',
    `Dashboard: ${server}/dashboard/ (sign in with UPDRAFT_ADMIN_TOKEN from .dev.vars, or an analyst token`,
    `  from \`${cli} token create --name me --role analyst\`); the seeded telemetry shows within seconds.`,
    '',
    'The CLI uses the token in .dev.vars for a loopback server:',
    `  ${cli} status ${DEMO_APP}`,
    `  ${cli} stats ${DEMO_APP} 1.1.0`,
    `  ${cli} stats ${DEMO_APP} 1.1.0 --compare    # against its baseline 1.0.0: clearly more crashes`,
    `  ${cli} promote ${DEMO_APP} 1.1.0 --channel stable --percent 50`,
    `  ${cli} history ${DEMO_APP}`,
    `  ${cli} yank ${DEMO_APP} 1.1.0 --reason "crash on start"`,
    '',
    'Ctrl-C stops the server.',
    '',
  );
  process.stdout.write(lines.join('\n'));
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
  if (child && child.exitCode === null) child.kill('SIGINT');
  process.exitCode = 1;
}
