import { describe, expect, it } from 'vitest';
import { describeReleaseHealth } from '../../scripts/lib/metrics.ts';
import type { ReleaseHealth } from '../../src/protocol/admin-api.ts';

const health: ReleaseHealth = {
  app: 'demo',
  channel: 'stable',
  version: '1.1.0',
  window: { from: '2026-11-14T18:00:00Z', to: '2026-11-21T18:00:00Z' },
  installs: 57,
  failures: 3,
  failure_rate: { value: 0.05, low: 0.0171, high: 0.1369 },
  rollbacks: 2,
  rollback_rate: { value: 0.0351, low: 0.0097, high: 0.1189 },
  adoption: 0.2214,
  duration_ms: { p50: 4210, p95: 11_800 },
  top_errors: [],
  sessions: { total: 2000, crashed: 10, errored: 31, abnormal: 4, clients: 400, crashed_clients: 9 },
  crash_free_sessions: { value: 0.995, low: 0.9908, high: 0.99729 },
  crash_free_users: { value: 0.9775, low: 0.95774, high: 0.98813 },
};

describe('updraft stats: sessions', () => {
  it('adds the sessions and both crash-free rates with their intervals, to two decimals', () => {
    const text = describeReleaseHealth(health);
    expect(text).toMatch(/sessions\s+2000: 10 crashed, 31 errored, 4 abnormal/);
    expect(text).toMatch(/crash-free sessions\s+99\.50% {2}\(95 % interval 99\.08–99\.73%\)/);
    expect(text).toMatch(/crash-free users\s+97\.75% {2}\(95 % interval 95\.77–98\.81%\)/);
  });

  it('says when there are no sessions, and shows nothing from a server without them', () => {
    const none = describeReleaseHealth({
      ...health,
      sessions: { total: 0, crashed: 0, errored: 0, abnormal: 0, clients: 0, crashed_clients: 0 },
      crash_free_sessions: { value: 1, low: 0, high: 1 },
      crash_free_users: { value: 1, low: 0, high: 1 },
    });
    expect(none).toMatch(/crash-free users\s+– \(no sessions yet\)/);
    const { sessions: _s, crash_free_sessions: _cs, crash_free_users: _cu, ...older } = health;
    expect(describeReleaseHealth(older)).not.toContain('crash-free');
  });
});
