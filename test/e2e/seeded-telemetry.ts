/** Waiting for the demo telemetry (scripts/seed-telemetry.ts) to pass through the queue into D1. */
import type { ApiClient } from '../../scripts/lib/api.ts';
import { DEMO_APP } from '../../scripts/seed.ts';
import { planTelemetry } from '../../scripts/seed-telemetry.ts';
import type { ChannelHealth } from '../../src/protocol/admin-api.ts';

const CHANNELS = ['stable', 'beta'] as const;

/** What the seeded installs must add up to, per "channel version", for a seed run at `now`. */
export async function expectedInstalls(
  now: Date,
): Promise<Map<string, { installs: number; failures: number }>> {
  const counts = new Map<string, { installs: number; failures: number }>();
  for (const event of (await planTelemetry(DEMO_APP, now)).batches.flat()) {
    if (event.type !== 'install_succeeded' && event.type !== 'install_failed') continue;
    const key = `${event.channel} ${event.to_version}`;
    const entry = counts.get(key) ?? { installs: 0, failures: 0 };
    if (event.type === 'install_succeeded') entry.installs++;
    else entry.failures++;
    counts.set(key, entry);
  }
  return counts;
}

/** The seeded sessions per "channel version" (all within the default 7-day window), for a seed run at `now`. */
export async function expectedSessions(now: Date): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const event of (await planTelemetry(DEMO_APP, now)).batches.flat()) {
    if (event.type !== 'session' || !event.sessions) continue;
    const { ok, errored, crashed, abnormal } = event.sessions;
    const key = `${event.channel} ${event.from_version}`;
    totals.set(key, (totals.get(key) ?? 0) + ok + errored + crashed + abnormal);
  }
  return totals;
}

/**
 * The queue consumer writes a few seconds after intake: polls the analytics API until every
 * release's counts match the plan for `now` and two answers in a row agree.
 */
export async function waitForSeededTelemetry(admin: ApiClient, now: Date, timeoutMs = 90_000): Promise<void> {
  const expected = await expectedInstalls(now);
  const sessions = await expectedSessions(now);
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
    const sessionsMatch = [...sessions].every(([key, total]) => {
      const [channel, version] = key.split(' ');
      const got = views.find((v) => v.channel === channel)?.releases.find((r) => r.version === version);
      return got?.sessions?.total === total;
    });
    // Everything but the windows, which move with the clock.
    const fingerprint = JSON.stringify([
      views.map((v) => v.releases.map(({ window: _, ...r }) => r)),
      clients,
    ]);
    if (matches && sessionsMatch && fingerprint === previous) return;
    previous = matches && sessionsMatch ? fingerprint : '';
    last = JSON.stringify(
      views.map((v) => v.releases.map((r) => [v.channel, r.version, r.installs, r.failures])),
    );
    await new Promise((done) => setTimeout(done, 1500));
  }
  throw new Error(`the seeded telemetry was not written within ${timeoutMs} ms (last: ${last})`);
}
