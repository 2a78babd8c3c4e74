/** Waiting for the demo telemetry (scripts/seed-telemetry.ts) to pass through the queue into D1. */
import type { ApiClient } from '../../scripts/lib/api.ts';
import { DEMO_APP } from '../../scripts/seed.ts';
import { planTelemetry } from '../../scripts/seed-telemetry.ts';
import type { ChannelHealth } from '../../src/protocol/admin-api.ts';

const CHANNELS = ['stable', 'beta'] as const;

/** What the seeded installs must add up to, per "channel version", for a seed run at `now`. */
export function expectedInstalls(now: Date): Map<string, { installs: number; failures: number }> {
  const counts = new Map<string, { installs: number; failures: number }>();
  for (const event of planTelemetry(DEMO_APP, now).batches.flat()) {
    if (event.type !== 'install_succeeded' && event.type !== 'install_failed') continue;
    const key = `${event.channel} ${event.to_version}`;
    const entry = counts.get(key) ?? { installs: 0, failures: 0 };
    if (event.type === 'install_succeeded') entry.installs++;
    else entry.failures++;
    counts.set(key, entry);
  }
  return counts;
}

/**
 * The queue consumer writes a few seconds after intake: polls the analytics API until every
 * release's counts match the plan for `now` and two answers in a row agree.
 */
export async function waitForSeededTelemetry(admin: ApiClient, now: Date, timeoutMs = 90_000): Promise<void> {
  const expected = expectedInstalls(now);
  const deadline = Date.now() + timeoutMs;
  let previous = '';
  let last = '';
  while (Date.now() < deadline) {
    const views = await Promise.all(
      CHANNELS.map((channel) =>
        admin.get<ChannelHealth>(`/v1/admin/apps/${DEMO_APP}/health`, { query: { channel } }),
      ),
    );
    const clients = await Promise.all(
      CHANNELS.map((channel) => admin.get(`/v1/admin/apps/${DEMO_APP}/clients`, { query: { channel } })),
    );
    const matches = [...expected].every(([key, want]) => {
      const [channel, version] = key.split(' ');
      const got = views.find((v) => v.channel === channel)?.releases.find((r) => r.version === version);
      return got?.installs === want.installs && got.failures === want.failures;
    });
    // Everything but the windows, which move with the clock.
    const fingerprint = JSON.stringify([
      views.map((v) => v.releases.map(({ window: _, ...r }) => r)),
      clients,
    ]);
    if (matches && fingerprint === previous) return;
    previous = matches ? fingerprint : '';
    last = JSON.stringify(
      views.map((v) => v.releases.map((r) => [v.channel, r.version, r.installs, r.failures])),
    );
    await new Promise((done) => setTimeout(done, 1500));
  }
  throw new Error(`the seeded telemetry was not written within ${timeoutMs} ms (last: ${last})`);
}
