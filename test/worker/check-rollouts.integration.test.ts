/** Rollouts, yanks, halts and channel routing as clients see them through the check endpoint. */
import { describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { bucket } from '../../src/protocol/bucket.ts';
import type { Rollout } from '../../src/protocol/documents.ts';
import { fetchWorker, release, seedApp, seedChannel, uniqueApp, yank } from './support/seed-projection.ts';

async function check(
  app: string,
  clientId: string,
  version: string,
  channel?: string,
): Promise<CheckResponse> {
  const query = new URLSearchParams({ client_id: clientId, version, platform: 'linux', arch: 'x64' });
  if (channel) query.set('channel', channel);
  const response = await fetchWorker(`/v1/apps/${app}/check?${query}`);
  expect(response.status).toBe(200);
  return response.json();
}

/** The clients among `ids` that are offered `version`, asked a few hundred at a time. */
async function offered(app: string, ids: string[], installed: string, version: string): Promise<Set<string>> {
  const updated = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const batch = ids.slice(i, i + 500);
    const bodies = await Promise.all(batch.map((id) => check(app, id, installed)));
    bodies.forEach((body, j) => {
      const id = batch[j];
      if (id !== undefined && body.status === 'update' && body.version === version) updated.add(id);
    });
  }
  return updated;
}

const SALT = '00112233445566778899aabbccddeeff';

describe('staged rollouts', () => {
  it('reaches 10 % ± 1 % of 10,000 clients at 1000 bp, and raising to 5000 bp keeps all of them', async () => {
    const app = uniqueApp('rollout');
    await seedApp(app);
    const seed = (percent_bp: number, revision: number) =>
      seedChannel({
        app,
        revision,
        releases: [
          { release: release(app, '1.0.0'), rollout: { state: 'complete', percent_bp: 10_000 } },
          { release: release(app, '1.1.0'), rollout: { salt: SALT, percent_bp, state: 'active' } },
        ],
      });
    const ids = Array.from({ length: 10_000 }, (_, i) => `client-${i}`);

    await seed(1000, 1);
    const first = await offered(app, ids, '1.0.0', '1.1.0');
    expect(first.size).toBeGreaterThanOrEqual(900);
    expect(first.size).toBeLessThanOrEqual(1100);
    // The server's choice is the one a client can verify: bucket(salt, id) < percent_bp.
    for (const id of ids.slice(0, 500)) expect(first.has(id)).toBe((await bucket(SALT, id)) < 1000);

    await seed(5000, 2);
    const second = await offered(app, ids, '1.0.0', '1.1.0');
    expect(second.size).toBeGreaterThanOrEqual(4900);
    expect(second.size).toBeLessThanOrEqual(5100);
    for (const id of first) expect(second.has(id)).toBe(true);
  }, 120_000);

  it('a halted rollout is offered to nobody new, and clients already on it stay', async () => {
    const app = uniqueApp('halted');
    await seedApp(app);
    const halted: Partial<Rollout> = { state: 'halted', percent_bp: 10_000 };
    await seedChannel({
      app,
      releases: [
        { release: release(app, '1.0.0'), rollout: { state: 'complete' } },
        { release: release(app, '1.1.0'), rollout: halted },
      ],
    });
    const ids = Array.from({ length: 300 }, (_, i) => `halt-client-${i}`);
    expect((await offered(app, ids, '1.0.0', '1.1.0')).size).toBe(0);
    expect(await check(app, 'on-it', '1.1.0')).toMatchObject({ status: 'none', yanked: false });
  });

  it('a paused rollout keeps offering to the clients inside its percentage', async () => {
    const app = uniqueApp('paused');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [{ release: release(app, '1.1.0'), rollout: { state: 'paused', percent_bp: 10_000 } }],
    });
    expect(await check(app, 'anyone', '1.0.0')).toMatchObject({ status: 'update', version: '1.1.0' });
  });
});

describe('yanks', () => {
  async function yankedApp() {
    const app = uniqueApp('yank');
    await seedApp(app);
    const projection = await seedChannel({
      app,
      releases: [
        { release: release(app, '1.0.0'), rollout: { state: 'complete' } },
        { release: release(app, '1.1.0'), rollout: { state: 'active', percent_bp: 10_000 } },
      ],
      yanks: [yank(app, '1.1.0', '1.0.0')],
    });
    return { app, projection };
  }

  it('sends every client on the yanked version back, with the signed yank', async () => {
    const { app, projection } = await yankedApp();
    const ids = Array.from({ length: 200 }, (_, i) => `yanked-client-${i}`);
    const bodies = await Promise.all(ids.map((id) => check(app, id, '1.1.0')));
    for (const body of bodies) {
      expect(body).toMatchObject({
        status: 'rollback',
        channel: 'stable',
        version: '1.0.0',
        mandatory: true,
      });
      expect(body.artifact?.url).toMatch(/\/artifacts\/1\.0\.0\/linux-x64\//);
      expect(body.signed).toEqual({
        snapshot: projection.snapshot,
        release: projection.releases['1.0.0'],
        yank: projection.yanks['1.1.0'],
      });
    }
  });

  it('offers the yanked version to nobody', async () => {
    const { app } = await yankedApp();
    expect(await check(app, 'someone', '1.0.0')).toMatchObject({ status: 'none', yanked: false });
  });

  it('moves a yanked client forward when a fix exists', async () => {
    const app = uniqueApp('forward');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [
        { release: release(app, '1.0.0'), rollout: { state: 'complete' } },
        { release: release(app, '1.1.0') },
        { release: release(app, '1.2.0') },
      ],
      yanks: [yank(app, '1.1.0', '1.0.0')],
    });
    expect(await check(app, 'c', '1.1.0')).toMatchObject({ status: 'update', version: '1.2.0' });
  });

  it('answers none with yanked: true and the yank when there is nowhere to go', async () => {
    const app = uniqueApp('nowhere');
    await seedApp(app);
    const projection = await seedChannel({
      app,
      releases: [{ release: release(app, '1.0.0') }],
      yanks: [yank(app, '1.0.0', null)],
    });
    expect(await check(app, 'c', '1.0.0')).toEqual({
      status: 'none',
      channel: 'stable',
      yanked: true,
      signed: { snapshot: projection.snapshot, yank: projection.yanks['1.0.0'] },
    });
  });
});

describe('channel routing', () => {
  async function twoChannels() {
    const app = uniqueApp('route');
    await seedApp(app, {
      channels: [
        { name: 'stable', public: true },
        { name: 'beta', public: true },
        { name: 'internal', public: false },
      ],
      rules: [{ channel: 'internal', match: { client_ids: ['tester-1'] } }],
    });
    for (const [channel, version] of [
      ['stable', '1.0.0'],
      ['beta', '1.1.0-beta.1'],
      ['internal', '1.2.0-dev.1'],
    ] as const) {
      await seedChannel({ app, channel, releases: [{ release: release(app, version) }] });
    }
    return app;
  }

  it('gives a client asking for a private channel without a rule the default channel', async () => {
    const app = await twoChannels();
    expect(await check(app, 'stranger', '0.9.0', 'internal')).toMatchObject({
      channel: 'stable',
      version: '1.0.0',
    });
  });

  it('routes listed clients by rule and honours a requested public channel', async () => {
    const app = await twoChannels();
    expect(await check(app, 'tester-1', '0.9.0')).toMatchObject({
      channel: 'internal',
      version: '1.2.0-dev.1',
    });
    expect(await check(app, 'stranger', '0.9.0', 'beta')).toMatchObject({
      channel: 'beta',
      version: '1.1.0-beta.1',
    });
    expect(await check(app, 'stranger', '0.9.0', 'nonexistent')).toMatchObject({ channel: 'stable' });
  });
});
