import { beforeAll, describe, expect, it } from 'vitest';
import type { SentReleaseHealth as ReleaseHealth } from '../../src/protocol/admin-api.ts';
import type { ActiveClients, AdoptionPoint } from '../../src/worker/storage/analytics.ts';
import { h, seedAnalyticsApp, seedLiveApp, WINDOW } from './support/analytics-fixture.ts';
import { admin, type ErrorBody } from './support/fixtures.ts';

const query = (params: Record<string, string | number>) =>
  `?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`;

const UNKNOWN = { value: 0, low: 0, high: 1 };
// Wilson(0, 1): p = 0, high = (z²/n)/(1 + z²/n) = 3.8416/4.8416 = 0.793457.
const ZERO_OF_ONE = { value: 0, low: 0, high: expect.closeTo(0.793457, 6) };

let app: string;
beforeAll(async () => {
  app = await seedAnalyticsApp();
});

/** A release's session figures when it has no session report: counts 0, crash-free unknown. */
const NO_SESSIONS = {
  sessions: { total: 0, crashed: 0, errored: 0, abnormal: 0, clients: 0, crashed_clients: 0 },
  crash_free_sessions: { value: 1, low: 0, high: 1 },
  crash_free_users: { value: 1, low: 0, high: 1 },
};

describe('release health (every number derived by hand from analytics-fixture.ts)', () => {
  it('computes docs/protocol.md §5 for 1.1.0 over [H−46h, H+2h)', async () => {
    const res = await admin<ReleaseHealth>(`/apps/${app}/health${query({ version: '1.1.0', ...WINDOW })}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.body).toEqual({
      app,
      channel: 'stable',
      version: '1.1.0',
      window: { from: '2026-11-08T14:00:00.000Z', to: '2026-11-10T14:00:00.000Z' },
      // install_succeeded to 1.1.0 in the window: c5 (H−46h, = from, included), c2, c3, c9 (stored
      // twice, counted once). Not c1, c13, c14 (before), c6 (H+2h, = to, excluded), c8 (beta).
      installs: 4,
      // install_failed to 1.1.0: c3 (E_DISK), c4 (E_SIG), c9 (E_DISK); c1's at H−51h is before the window.
      failures: 3,
      // 3 / (4 + 3); Wilson(3, 7): d = 1.5488, centre = 0.4538813, half = 0.2956644.
      failure_rate: {
        value: expect.closeTo(3 / 7, 10),
        low: expect.closeTo(0.158217, 6),
        high: expect.closeTo(0.749546, 6),
      },
      // Distinct clients with a rollback from 1.1.0 in the window: c1, c5 (twice: once), c11.
      rollbacks: 3,
      exposed: 8,
      // Exposed: installed 1.1.0 before `to`, at any time {c1, c2, c3, c5, c9, c13, c14} ∪ rolled back
      // from it in the window {c1, c5, c11} = 8 (c13 and c14 installed before the window and are still
      // exposed; c11 never reported its install). Wilson(3, 8): p = 0.375, d = 1.4802,
      // centre = (0.375 + 0.2401)/d = 0.4155520, half = 1.96·√(0.0292969 + 0.0150063)/d = 0.2787102.
      rollback_rate: {
        value: 0.375,
        low: expect.closeTo(0.136842, 6),
        high: expect.closeTo(0.694262, 6),
      },
      // Active in [H−22h, H+2h) by clients.last_seen: c1 (1.0.0 after its rollback), c2 (1.1.0), c3 (1.1.0),
      // c4 (1.0.0, from its install_failed), c5 (1.0.0), c9 (1.1.0), c10 (1.0.0), c11 (1.0.0) = 8;
      // not c6 (last seen at `to`), c7 (H−29h), c8 (beta), c12-c14 (long ago). 3 on 1.1.0: 3/8.
      adoption: 0.375,
      // Samples 2000 (c2), 3000 (c3), 4000 (c5), 5000 (c9); nearest rank: p50 = x⌈0.5·4⌉ = x2,
      // p95 = x⌈0.95·4⌉ = x4 (an interpolating p50 would say 3500).
      duration_ms: { p50: 3000, p95: 5000 },
      // install_failed + download_failed to 1.1.0 with a code: E_DISK c3, c9 ×2; E_NET c4; E_SIG c4;
      // c10's download_failed has no code. Ties by code.
      top_errors: [
        { code: 'E_DISK', count: 3 },
        { code: 'E_NET', count: 1 },
        { code: 'E_SIG', count: 1 },
      ],
      // No session reports in this history (telemetry-sessions.integration.test.ts has them).
      ...NO_SESSIONS,
    });
  });

  it('lists every version with a rollout or events in the window, newest first', async () => {
    const res = await admin<{ app: string; channel: string; window: object; releases: ReleaseHealth[] }>(
      `/apps/${app}/health${query(WINDOW)}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.window).toEqual({ from: WINDOW.from, to: WINDOW.to });
    // 1.2.0 and 1.1.0 have rollouts; 1.0.0 has checks (c7, c10); 0.9.0 only before the window.
    expect(res.body.releases.map((r) => r.version)).toEqual(['1.2.0', '1.1.0', '1.0.0']);
    const [v2, v1, v0] = res.body.releases;
    expect(v1?.installs).toBe(4);
    expect(v1?.adoption).toBe(0.375);
    expect(v2).toMatchObject({
      // c7 installed 1.2.0 at H−29h in 7000 ms after a download_failed E_NET; c7 is not active.
      installs: 1,
      failures: 0,
      failure_rate: ZERO_OF_ONE,
      rollbacks: 0,
      rollback_rate: ZERO_OF_ONE,
      adoption: 0,
      duration_ms: { p50: 7000, p95: 7000 },
      top_errors: [{ code: 'E_NET', count: 1 }],
    });
    expect(v0).toEqual({
      app,
      channel: 'stable',
      version: '1.0.0',
      window: WINDOW,
      installs: 0,
      failures: 0,
      failure_rate: UNKNOWN,
      rollbacks: 0,
      exposed: 0,
      rollback_rate: UNKNOWN,
      // 5 of the 8 active clients run 1.0.0.
      adoption: 0.625,
      duration_ms: { p50: null, p95: null },
      top_errors: [],
      ...NO_SESSIONS,
    });
  });

  it('answers a version known only from telemetry, and 404 for one nobody has heard of', async () => {
    const known = await admin<ReleaseHealth>(`/apps/${app}/health${query({ version: '0.9.0', ...WINDOW })}`);
    expect(known.status).toBe(200);
    expect(known.body).toMatchObject({ installs: 0, adoption: 0, top_errors: [] });
    for (const path of ['health', 'errors', 'durations']) {
      const res = await admin<ErrorBody>(`/apps/${app}/${path}?version=9.9.9`);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('unknown_release');
    }
  });
});

describe('adoption, errors and durations', () => {
  it('gives adoption per day: each active client once, by its latest version in the day', async () => {
    const res = await admin<{ interval: string; points: AdoptionPoint[] }>(
      `/apps/${app}/adoption${query({ ...WINDOW, interval: 'day' })}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.interval).toBe('day');
    expect(res.body.points).toEqual([
      // From 14:00: c5 installed then rolled back (1.0.0), c2 installed (1.1.0). c1's install is before from.
      { at: '2026-11-08T00:00:00Z', clients: 2, versions: { '1.0.0': 0.5, '1.1.0': 0.5 } },
      // c3 → 1.1.0 (failed, then installed); c7 → 1.2.0; c4 → 1.0.0 (its download_failed names no
      // installed version, its install_failed does); c9 → 1.0.0 (installs only after midnight).
      { at: '2026-11-09T00:00:00Z', clients: 4, versions: { '1.0.0': 0.5, '1.1.0': 0.25, '1.2.0': 0.25 } },
      // Until 14:00: c9, c3, c2 on 1.1.0; c1, c5, c11 (rollbacks), c10 on 1.0.0. c8 is beta, c6 at `to`.
      { at: '2026-11-10T00:00:00Z', clients: 7, versions: { '1.0.0': 4 / 7, '1.1.0': 3 / 7 } },
    ]);
  });

  it('gives adoption per hour, empty hours included', async () => {
    const res = await admin<{ points: AdoptionPoint[] }>(
      `/apps/${app}/adoption${query({ from: h(-16), to: h(-11), interval: 'hour' })}`,
    );
    expect(res.body.points).toEqual([
      { at: '2026-11-09T20:00:00Z', clients: 0, versions: {} },
      { at: '2026-11-09T21:00:00Z', clients: 0, versions: {} },
      { at: '2026-11-09T22:00:00Z', clients: 1, versions: { '1.0.0': 1 } }, // c9 download_failed from 1.0.0
      { at: '2026-11-09T23:00:00Z', clients: 1, versions: { '1.0.0': 1 } }, // c9 install_failed
      { at: '2026-11-10T00:00:00Z', clients: 1, versions: { '1.1.0': 1 } }, // c9 install_succeeded
    ]);
  });

  it('lists top errors for a version or for all versions, with a limit', async () => {
    const one = await admin(`/apps/${app}/errors${query({ ...WINDOW, version: '1.1.0', limit: 2 })}`);
    expect(one.body).toEqual({
      app,
      channel: 'stable',
      version: '1.1.0',
      window: WINDOW,
      top_errors: [
        { code: 'E_DISK', count: 3 },
        { code: 'E_NET', count: 1 },
      ],
    });
    // All versions: c7's download_failed of 1.2.0 adds an E_NET.
    const all = await admin(`/apps/${app}/errors${query(WINDOW)}`);
    expect(all.body).toEqual({
      app,
      channel: 'stable',
      window: WINDOW,
      top_errors: [
        { code: 'E_DISK', count: 3 },
        { code: 'E_NET', count: 2 },
        { code: 'E_SIG', count: 1 },
      ],
    });
  });

  it('gives nearest-rank install durations for a version or for all versions', async () => {
    const one = await admin(`/apps/${app}/durations${query({ ...WINDOW, version: '1.1.0' })}`);
    expect(one.body).toEqual({
      app,
      channel: 'stable',
      version: '1.1.0',
      window: WINDOW,
      count: 4,
      duration_ms: { p50: 3000, p95: 5000 },
    });
    // [2000, 3000, 4000, 5000, 7000]: p50 = x⌈2.5⌉ = x3, p95 = x⌈4.75⌉ = x5.
    const all = await admin(`/apps/${app}/durations${query(WINDOW)}`);
    expect(all.body).toMatchObject({ count: 5, duration_ms: { p50: 4000, p95: 7000 } });
    const none = await admin(`/apps/${app}/durations${query({ from: h(-200), to: h(-150) })}`);
    expect(none.body).toMatchObject({ count: 0, duration_ms: { p50: null, p95: null } });
  });
});

describe('active clients and default windows', () => {
  it('counts clients whose newest event is in the last 24 h, by version, platform and updater', async () => {
    const live = await seedLiveApp();
    const res = await admin<ActiveClients & { app: string; channel: string }>(`/apps/${live}/clients`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      app: live,
      channel: 'stable',
      active_24h: 3,
      versions: [
        { version: '1.0.0', clients: 2, share: 2 / 3 },
        { version: '1.1.0', clients: 1, share: 1 / 3 },
      ],
      platforms: [
        { platform: 'darwin', clients: 1 },
        { platform: 'linux', clients: 1 },
        { platform: 'windows', clients: 1 },
      ],
      kinds: [{ kind: 'sdk', clients: 3 }],
    });
    const beta = await admin<ActiveClients>(`/apps/${live}/clients?channel=beta`);
    expect(beta.body.active_24h).toBe(1);

    // Without from/to: the 7 days up to now. Adoption there is the /clients share.
    const health = await admin<ReleaseHealth>(`/apps/${live}/health?version=1.1.0`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ installs: 1, adoption: 1 / 3, duration_ms: { p50: 900, p95: 900 } });
    const { from, to } = health.body.window;
    expect(Date.parse(to) - Date.parse(from)).toBe(7 * 24 * 3600_000);
    expect(Math.abs(Date.parse(to) - Date.now())).toBeLessThan(60_000);
  });
});

describe('auth and bad input', () => {
  it('needs a token; an analyst token is enough', async () => {
    const anonymous = await admin<ErrorBody>(`/apps/${app}/health`, { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('missing_token');
    const created = await admin<{ token: string }>('/tokens', {
      method: 'POST',
      body: { name: 'analytics reader', role: 'analyst' },
    });
    expect(created.status).toBe(201);
    for (const path of ['health', 'adoption', 'errors', 'durations', 'clients']) {
      const res = await admin(`/apps/${app}/${path}`, { token: created.body.token });
      expect(res.status, path).toBe(200);
    }
  });

  it('answers 400 invalid_query naming the field', async () => {
    const cases: [string, string][] = [
      [query({ from: 'yesterday' }), 'from:'],
      [query({ from: h(0), to: h(0) }), 'from:'],
      [query({ from: h(1), to: h(0) }), 'from:'],
      [query({ from: h(-401 * 24), to: h(0) }), 'to:'],
      [query({ version: '1.0' }), 'version:'],
      [query({ channel: 'Stable' }), 'channel:'],
      ['?from=a&from=b', 'from:'],
    ];
    for (const [q, field] of cases) {
      const res = await admin<ErrorBody>(`/apps/${app}/health${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('invalid_query');
      expect(res.body.error.message.startsWith(field), res.body.error.message).toBe(true);
    }
    const interval = await admin<ErrorBody>(`/apps/${app}/adoption?interval=week`);
    expect(interval.body.error.message).toMatch(/^interval:/);
    const hourly = await admin<ErrorBody>(
      `/apps/${app}/adoption${query({ interval: 'hour', from: h(-32 * 24), to: h(0) })}`,
    );
    expect(hourly.status).toBe(400);
    expect(hourly.body.error.message).toMatch(/^interval:/);
    const limit = await admin<ErrorBody>(`/apps/${app}/errors?limit=0`);
    expect(limit.body.error.message).toMatch(/^limit:/);
  });

  it('takes offsets and normalises the window to UTC with milliseconds', async () => {
    const res = await admin<ReleaseHealth>(
      `/apps/${app}/health${query({ version: '1.1.0', from: '2026-11-08T16:00:00+02:00', to: '2026-11-10T14:00:00Z' })}`,
    );
    expect(res.body.window).toEqual(WINDOW);
    expect(res.body.installs).toBe(4);
  });

  it('answers 404 for an unknown app or channel', async () => {
    const noApp = await admin<ErrorBody>('/apps/no-such-app/health');
    expect(noApp.status).toBe(404);
    expect(noApp.body.error.code).toBe('unknown_app');
    const noChannel = await admin<ErrorBody>(`/apps/${app}/clients?channel=nightly`);
    expect(noChannel.status).toBe(404);
    expect(noChannel.body.error.code).toBe('unknown_channel');
  });
});
