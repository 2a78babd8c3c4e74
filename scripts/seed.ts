/**
 * Seeds a local server with the demo app through the CLI's own command functions, once and
 * idempotently: whatever already exists (checked through the admin API) is left alone.
 *
 *   keys document 1 (from the keys folder) · app `demo` with public channels stable (default) and beta
 *   1.0.0 complete on stable · 1.1.0 at 25 % on stable · 1.2.0-beta.1 at 100 % on beta
 * (1.0.0 complete makes it 1.1.0's baseline, docs/protocol.md §6, for `updraft stats demo 1.1.0 --compare`)
 * Each release ships a few KB of deterministic bytes for linux, darwin and windows on x64 and arm64.
 * Then a few days of client telemetry for those releases (scripts/seed-telemetry.ts), once.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppView, ChannelHealth, ReleaseView } from '../src/protocol/admin-api.ts';
import type { Arch, Platform } from '../src/protocol/documents.ts';
import { appCreate } from './commands/app-create.ts';
import { complete } from './commands/complete.ts';
import { keysRegister } from './commands/keys-register.ts';
import { promote } from './commands/promote.ts';
import { publish } from './commands/publish.ts';
import { status } from './commands/status.ts';
import type { ApiClient } from './lib/api.ts';
import type { ArtifactSpec } from './lib/parse.ts';
import { planTelemetry, seedTelemetry } from './seed-telemetry.ts';

export const DEMO_APP = 'demo';
const TARGETS: readonly [Platform, Arch][] = [
  ['linux', 'x64'],
  ['linux', 'arm64'],
  ['darwin', 'x64'],
  ['darwin', 'arm64'],
  ['windows', 'x64'],
  ['windows', 'arm64'],
];
export const DEMO_RELEASES = [
  { version: '1.0.0', channel: 'stable', percentBp: 10_000, notes: 'First release.', complete: true },
  { version: '1.1.0', channel: 'stable', percentBp: 2_500, notes: 'Faster start-up; staged to 25 %.' },
  { version: '1.2.0-beta.1', channel: 'beta', percentBp: 10_000, notes: 'Beta of the next release.' },
] as const;

export interface SeedOptions {
  client: ApiClient;
  keysDir: string;
  log?: (line: string) => void;
  /** Post the demo telemetry too (default true). */
  telemetry?: boolean;
  /** The clock the telemetry's times are relative to (default now). */
  now?: Date;
  /**
   * Return only once the queue consumer has written the posted telemetry to D1, so the demo is
   * whole when seed() returns (default false); gives up with a log line after `timeoutMs`.
   */
  waitForTelemetry?: { timeoutMs: number };
}

/** Seeds what is missing; returns one line per thing it did. */
export async function seed(opts: SeedOptions): Promise<string[]> {
  const { client } = opts;
  const done: string[] = [];
  const note = (line: string) => {
    done.push(line);
    opts.log?.(line);
  };

  const keys = await keysRegister({ client, keysDir: opts.keysDir });
  if (keys.registered.length > 0) note(`registered keys document ${keys.registered.join(', ')}`);

  const app = await client.find<AppView>(`/v1/admin/apps/${DEMO_APP}`);
  if (!app) {
    await appCreate({
      client,
      app: DEMO_APP,
      defaultChannel: 'stable',
      channels: [
        { name: 'stable', public: true },
        { name: 'beta', public: true },
      ],
    });
    note(`created app ${DEMO_APP} with channels stable (default) and beta`);
  } else if (!app.channels.some((c) => c.name === 'beta')) {
    await client.request('PUT', `/v1/admin/apps/${DEMO_APP}/channels/beta`, { json: { public: true } });
    note('created channel beta');
  }

  const { releases } = await client.get<{ releases: ReleaseView[] }>(`/v1/admin/apps/${DEMO_APP}/releases`);
  for (const release of DEMO_RELEASES) {
    if (releases.some((r) => r.version === release.version)) continue;
    await publishDemoRelease(opts, release.version, release.notes);
    note(`published ${DEMO_APP} ${release.version} (${TARGETS.length} artifacts)`);
  }

  const current = await status({ client, app: DEMO_APP });
  for (const release of DEMO_RELEASES) {
    const channel = current.channels.find((c) => c.name === release.channel);
    if (channel?.rollouts.some((r) => r.version === release.version)) continue;
    await promote({
      client,
      app: DEMO_APP,
      version: release.version,
      channel: release.channel,
      percentBp: release.percentBp,
    });
    note(`promoted ${release.version} to ${release.percentBp / 100} % of ${release.channel}`);
  }

  const promoted = await status({ client, app: DEMO_APP });
  for (const release of DEMO_RELEASES) {
    if (!('complete' in release)) continue;
    const channel = promoted.channels.find((c) => c.name === release.channel);
    const rollout = channel?.rollouts.find((r) => r.version === release.version);
    if (!rollout || rollout.state === 'complete') continue;
    await complete({ client, app: DEMO_APP, version: release.version, channel: release.channel });
    note(`completed ${release.version} on ${release.channel}`);
  }

  if (opts.telemetry !== false) {
    const now = opts.now ?? new Date();
    const events = await seedTelemetry({ client, app: DEMO_APP, now });
    if (events > 0) note(`posted ${events} telemetry events (the queue consumer writes them within seconds)`);
    if (events > 0 && opts.waitForTelemetry) {
      const written = await waitForTelemetry(client, now, opts.waitForTelemetry.timeoutMs);
      note(
        written
          ? 'the queue consumer has written the telemetry'
          : `the telemetry is not all written after ${opts.waitForTelemetry.timeoutMs / 1000} s; it may still arrive`,
      );
    }
  }
  return done;
}

/**
 * Polls the analytics API until every release shows at least the installs, failures and sessions
 * the demo telemetry planned for `now` holds (the last 7 days, which hold all of it).
 */
async function waitForTelemetry(client: ApiClient, now: Date, timeoutMs: number): Promise<boolean> {
  const planned = new Map<string, { installs: number; failures: number; sessions: number }>();
  for (const event of (await planTelemetry(DEMO_APP, now)).batches.flat()) {
    const counted =
      event.type === 'install_succeeded' || event.type === 'install_failed' || event.type === 'session';
    if (!counted) continue;
    const version = event.type === 'session' ? event.from_version : event.to_version;
    const key = `${event.channel} ${version}`;
    const entry = planned.get(key) ?? { installs: 0, failures: 0, sessions: 0 };
    if (event.type === 'install_succeeded') entry.installs++;
    if (event.type === 'install_failed') entry.failures++;
    if (event.type === 'session' && event.sessions) {
      const { ok, errored, crashed, abnormal } = event.sessions;
      entry.sessions += ok + errored + crashed + abnormal;
    }
    planned.set(key, entry);
  }
  const channels = [...new Set([...planned.keys()].map((key) => key.split(' ')[0] ?? ''))];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const views = await Promise.all(
      channels.map((channel) =>
        client.get<ChannelHealth>(`/v1/admin/apps/${DEMO_APP}/health`, { query: { channel } }),
      ),
    );
    const written = [...planned].every(([key, want]) => {
      const [channel, version] = key.split(' ');
      const got = views.find((v) => v.channel === channel)?.releases.find((r) => r.version === version);
      return (
        got !== undefined &&
        got.installs >= want.installs &&
        got.failures >= want.failures &&
        (got.sessions === undefined || got.sessions.total >= want.sessions)
      );
    });
    if (written) return true;
    await new Promise((done) => setTimeout(done, 1000));
  }
  return false;
}

async function publishDemoRelease(opts: SeedOptions, version: string, notes: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'updraft-seed-'));
  try {
    const artifacts: ArtifactSpec[] = [];
    for (const [platform, arch] of TARGETS) {
      const ext = platform === 'linux' ? 'tar.gz' : 'zip';
      const path = join(dir, `${DEMO_APP}-${version}-${platform}-${arch}.${ext}`);
      await writeFile(
        path,
        demoBytes(`${DEMO_APP}/${version}/${platform}-${arch}`, 4096 + artifacts.length * 512),
      );
      artifacts.push({ platform, arch, path });
    }
    await publish({ client: opts.client, keysDir: opts.keysDir, app: DEMO_APP, version, artifacts, notes });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `size` deterministic bytes derived from `label` (SHA-256 in counter mode): same seed, same hashes. */
export function demoBytes(label: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let offset = 0, block = 0; offset < size; offset += 32, block++) {
    const digest = createHash('sha256').update(`${label}:${block}`).digest();
    out.set(digest.subarray(0, Math.min(32, size - offset)), offset);
  }
  return out;
}
