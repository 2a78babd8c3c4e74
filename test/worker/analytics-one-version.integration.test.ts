/**
 * For one version, release health reads its indexes in order instead of sorting: install durations
 * walk `events_install_durations` (LIMIT 1 OFFSET k − 1), and rollbacks and exposure read one
 * version's range of `events_rollbacks` and `release_clients`. They must give exactly the numbers of
 * the per-version forms the health listing runs, for every count of samples and clients including
 * none, one and two.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareNamed } from '../../src/worker/storage/analytics.ts';
import { durationsSql, rollbacksSql } from '../../src/worker/storage/analytics-sql.ts';
import { storeEvents } from '../../src/worker/storage/telemetry.ts';
import type { StoredEvent } from '../../src/worker/storage/telemetry-sql.ts';
import { event, WINDOW } from './support/analytics-fixture.ts';
import { uniqueApp } from './support/fixtures.ts';

interface Durations {
  version: string;
  samples: number;
  p50: number | null;
  p95: number | null;
}
interface Rollbacks {
  version: string;
  rollbacks: number;
  exposed: number;
}

/** How many installs with a duration each version gets in the window; 1.0.0 gets none. */
const SAMPLES: Record<string, number> = { '1.0.1': 1, '1.0.2': 2, '1.0.3': 3, '1.1.0': 97, '1.2.0': 400 };
const VERSIONS = ['1.0.0', ...Object.keys(SAMPLES)];

let app: string;
const params = () => ({ app, channel: 'stable', ...WINDOW });

beforeAll(async () => {
  app = uniqueApp('one-version');
  let seed = 7;
  const next = () => {
    seed = (seed * 48_271) % 2_147_483_647;
    return seed;
  };
  const events: StoredEvent[] = Object.entries(SAMPLES).flatMap(([to, n]) =>
    Array.from({ length: n }, (_, i) =>
      // Ties on purpose (few distinct durations and clients), spread over the window.
      event(app, {
        client: `c${i % 37}`,
        type: 'install_succeeded',
        at: -40 + (i % 40),
        to,
        ms: next() % 50,
      }),
    ),
  );
  for (const [i, version] of VERSIONS.entries()) {
    // Rollbacks in the window (some by clients that installed, some by clients never seen installing),
    // one before the window, and an install long before it, which still counts as exposure.
    for (let k = 0; k < i; k++) {
      events.push(event(app, { client: `c${k * 3}`, type: 'rollback', at: -5, from: version, to: '0.9.0' }));
    }
    events.push(
      event(app, { client: `r${i}`, type: 'rollback', at: -3, from: version, to: '0.9.0' }),
      event(app, { client: `old${i}`, type: 'rollback', at: -100, from: version, to: '0.9.0' }),
      event(app, { client: `early${i}`, type: 'install_succeeded', at: -300, to: version, ms: 1 }),
    );
  }
  // Not samples: no duration, another type, another channel.
  events.push(
    event(app, { client: 'x1', type: 'install_succeeded', at: -10, to: '1.0.0' }),
    event(app, { client: 'x2', type: 'download_succeeded', at: -10, to: '1.0.0', ms: 5 }),
    event(app, { client: 'x4', type: 'install_succeeded', at: -10, to: '1.1.0', ms: 1, channel: 'beta' }),
  );
  await storeEvents(env.DB, events);
});

describe('one-version health queries', () => {
  it('give the nearest-rank p50 and p95 of the window over every version', async () => {
    const each = await prepareNamed(env.DB, durationsSql('each'), params()).all<Durations>();
    expect(each.results.map((r) => [r.version, r.samples])).toEqual(Object.entries(SAMPLES));
    for (const version of VERSIONS) {
      const one = await prepareNamed(env.DB, durationsSql('one'), { ...params(), version }).all<Durations>();
      expect(one.results, version).toEqual(each.results.filter((r) => r.version === version));
    }
  });

  it('give the rollbacks and exposure of the count over every version', async () => {
    const each = await prepareNamed(env.DB, rollbacksSql('each'), params()).all<Rollbacks>();
    expect(each.results).toHaveLength(VERSIONS.length);
    for (const version of [...VERSIONS, '9.9.9']) {
      const one = await prepareNamed(env.DB, rollbacksSql('one'), { ...params(), version }).all<Rollbacks>();
      const expected = each.results.find((r) => r.version === version) ?? {
        version,
        rollbacks: 0,
        exposed: 0,
      };
      expect(one.results, version).toEqual([expected]);
    }
  });
});
