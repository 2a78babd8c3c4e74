/**
 * What `npm run dev` prints once the server is up, read from the server as it is now (the demo may
 * have been promoted, halted or yanked since it was seeded): each channel's rollouts, and check
 * commands for example clients with the answer the Worker gives them at this moment.
 */

import type { StatusView } from '../../src/protocol/admin-api.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import type { ApiClient } from './api.ts';

/** Example client IDs tried, in order, for two distinct answers. */
const PROBES = 60;

export interface WelcomeOptions {
  client: ApiClient;
  server: string;
  app: string;
  /** The version the example clients run. */
  fromVersion: string;
  /** What the CLI must be told to reach this server (UPDRAFT_SERVER=…); empty for the defaults. */
  cliEnv: string[];
  /** The secrets file holding UPDRAFT_ADMIN_TOKEN. */
  secretsFile: string;
  cron: boolean;
}

/** `update to 1.1.0`, `rollback to 1.0.0`, `none`: a check answer in a few words. */
export function describeAnswer(answer: Pick<CheckResponse, 'status' | 'version'>): string {
  return answer.status === 'none' ? 'none' : `${answer.status} to ${answer.version}`;
}

export function checkUrl(server: string, app: string, query: Record<string, string>): string {
  return `${server}/v1/apps/${app}/check?${new URLSearchParams(query)}`;
}

async function check(url: string): Promise<CheckResponse> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as CheckResponse;
}

export async function welcomeLines(opts: WelcomeOptions): Promise<string[]> {
  const { server, app } = opts;
  const cli = 'npx updraft';
  const status = await opts.client.get<StatusView>(`/v1/admin/apps/${app}/status`);
  const lines = ['', `Updraft is running on ${server}`, ''];
  for (const channel of status.channels) {
    const rollouts = channel.rollouts.map((r) => `${r.version} ${r.percent_bp / 100} % ${r.state}`);
    lines.push(`  ${channel.name}: ${rollouts.length > 0 ? rollouts.join(' · ') : 'no rollouts'}`);
  }

  // One client per distinct answer, as the Worker decides it now.
  const examples = new Map<string, { id: string; url: string }>();
  for (let i = 1; i <= PROBES && examples.size < 2; i++) {
    const id = `demo-client-${i}`;
    const url = checkUrl(server, app, {
      client_id: id,
      version: opts.fromVersion,
      platform: 'linux',
      arch: 'x64',
    });
    const answer = describeAnswer(await check(url));
    if (!examples.has(answer)) examples.set(answer, { id, url });
  }
  const first = [...examples.entries()].find(([answer]) => answer !== 'none') ?? [...examples.entries()][0];
  lines.push('', `Clients on ${opts.fromVersion} of ${app}, as the Worker answers them now:`);
  for (const [answer, { url }] of examples) lines.push(`  curl '${url}'    # ${answer}`);
  if (first && status.channels.some((c) => c.name === 'beta')) {
    const url = checkUrl(server, app, {
      client_id: first[1].id,
      version: opts.fromVersion,
      platform: 'darwin',
      arch: 'arm64',
      channel: 'beta',
    });
    lines.push(`  curl '${url}'    # ${describeAnswer(await check(url))}`);
  }
  if (first) {
    lines.push(
      'The same decision as electron-updater reads it (docs/clients/electron.md):',
      `  curl -H 'x-user-staging-id: ${first[1].id}' -H 'x-updraft-version: ${opts.fromVersion}' '${server}/v1/apps/${app}/electron/${status.default_channel}/latest-linux.yml'`,
    );
  }

  lines.push(
    '',
    opts.cron
      ? 'Cron: the scheduled handler runs at the start of every minute, as in production (staged plans,'
      : 'Cron: off (--no-cron). Run the scheduled handler by hand (staged plans, automatic halts,',
    opts.cron
      ? '  automatic halts, webhook retries, re-signing, retention); `npm run dev -- --no-cron` turns it off.'
      : `  webhook retries, re-signing, retention): curl '${server}/cdn-cgi/handler/scheduled'`,
    '',
    `Dashboard: ${server}/dashboard/ (sign in with UPDRAFT_ADMIN_TOKEN from ${opts.secretsFile}, or an analyst`,
    `  token from \`${cli} token create --name me --role analyst\`).`,
    '',
    ...(opts.cliEnv.length === 0
      ? ['The CLI uses the token in .dev.vars for a loopback server:']
      : [
          'Tell the CLI where this server is (UPDRAFT_TOKEN: UPDRAFT_ADMIN_TOKEN from the file above):',
          `  export ${opts.cliEnv.join(' ')}`,
        ]),
    `  ${cli} status ${app}`,
    `  ${cli} stats ${app} 1.1.0 --compare    # the seeded canary against its baseline`,
    `  ${cli} promote ${app} 1.1.0 --channel stable --percent 50`,
    `  ${cli} history ${app}`,
    `  ${cli} yank ${app} 1.1.0 --reason "crash on start"`,
    '',
    'Ctrl-C stops the server.',
    '',
  );
  return lines;
}
