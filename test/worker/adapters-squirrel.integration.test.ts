/**
 * The Squirrel.Mac route (Electron's built-in autoUpdater, update-electron-app), docs/protocol.md §9:
 * `squirrel/{channel}/darwin-{arch}/{version}[?client_id=]` → 204, or 200 with the update JSON that
 * Squirrel.Mac's SQRLUpdate reads, through the Worker's real entry point over a projection of really
 * signed documents.
 */
import { describe, expect, it } from 'vitest';
import { bucket } from '../../src/protocol/bucket.ts';
import { SQUIRREL_TARGETS, type SquirrelUpdate } from '../../src/worker/adapters/squirrel.ts';
import {
  expectClientError,
  makeUnverifiable,
  RFC3339_UTC_SECONDS,
  releaseFor,
} from './support/adapters-feeds-fixtures.ts';
import {
  fetchWorker,
  ORIGIN,
  seedApp,
  seedArtifact,
  seedChannel,
  uniqueApp,
  yank,
} from './support/seed-projection.ts';

const MAC = [
  { platform: 'darwin', arch: 'x64', file: 'App-mac-x64.zip' },
  { platform: 'darwin', arch: 'arm64', file: 'App-mac-arm64.zip' },
] as const;
const SALT = '00112233445566778899aabbccddeeff';

function poll(app: string, path: string, headers: Record<string, string> = {}) {
  return fetchWorker(`/v1/apps/${app}/squirrel/${path}`, { headers });
}

async function twoReleases(rollout: { percent_bp?: number; state?: 'active' | 'halted' } = {}) {
  const app = uniqueApp('squirrel');
  await seedApp(app);
  await seedChannel({
    app,
    releases: [
      { release: releaseFor(app, '1.0.0', [...MAC]), rollout: { state: 'complete' } },
      { release: releaseFor(app, '1.1.0', [...MAC]), rollout: { salt: SALT, ...rollout } },
    ],
  });
  return app;
}

describe('squirrel adapter: the answer', () => {
  it('maps darwin-x64 and darwin-arm64 to their own zip', async () => {
    const app = await twoReleases();
    for (const [target, arch] of Object.entries(SQUIRREL_TARGETS)) {
      const response = await poll(app, `stable/${target}/1.0.0?client_id=mapper`);
      expect(response.status, target).toBe(200);
      const body: SquirrelUpdate = await response.json();
      expect(body.url).toBe(
        `${ORIGIN}/v1/apps/${app}/artifacts/1.1.0/darwin-${arch}/App-mac-${arch}.zip?client_id=mapper&via=squirrel`,
      );
    }
  });

  it('serves a universal zip to both Mac arches, and the higher version when both builds exist', async () => {
    const app = uniqueApp('squirrel-universal');
    await seedApp(app);
    const universal = { platform: 'darwin', arch: 'universal', file: 'App-universal-mac.zip' } as const;
    await seedChannel({
      app,
      releases: [
        { release: releaseFor(app, '1.1.0', [MAC[0]]), rollout: { state: 'complete' } },
        { release: releaseFor(app, '1.2.0', [universal]) },
      ],
    });
    for (const target of ['darwin-x64', 'darwin-arm64']) {
      const body: SquirrelUpdate = await (await poll(app, `stable/${target}/1.0.0?client_id=m`)).json();
      expect(body.name, target).toBe('1.2.0');
      expect(body.url).toContain('/artifacts/1.2.0/darwin-universal/App-universal-mac.zip?');
    }
  });

  it('is the update JSON Squirrel.Mac reads: url, name, notes, pub_date', async () => {
    const app = uniqueApp('squirrel-fields');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [
        {
          release: releaseFor(app, '2.0.0', [...MAC], () => ({}), {
            notes: 'New "things"',
            published_at: '2026-11-20T08:09:10.5Z',
          }),
        },
      ],
    });
    await seedArtifact({ app, version: '2.0.0', ...MAC[1] }, new TextEncoder().encode('zip bytes'));
    const response = await poll(app, 'stable/darwin-arm64/1.0.0?client_id=field-client');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(response.headers.get('Cache-Control')).toBe('private, no-cache');
    const body: Record<string, unknown> = await response.json();
    expect(Object.keys(body).sort()).toEqual(['name', 'notes', 'pub_date', 'url']);
    expect(body.name).toBe('2.0.0');
    expect(body.notes).toBe('New "things"');
    // SQRLUpdate's formatter is yyyy-MM-dd'T'HH:mm:ssZZZZZ: no fractional seconds, or the date is dropped.
    expect(body.pub_date).toBe('2026-11-20T08:09:10Z');
    expect(String(body.pub_date)).toMatch(RFC3339_UTC_SECONDS);
    expect(body.url).toBe(
      `${ORIGIN}/v1/apps/${app}/artifacts/2.0.0/darwin-arm64/App-mac-arm64.zip?client_id=field-client&via=squirrel`,
    );
    const download = await fetchWorker(String(body.url).slice(ORIGIN.length));
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('zip bytes');
  });

  it('answers 204 with no body when nothing is offered', async () => {
    const app = await twoReleases();
    for (const installed of ['1.1.0', '3.0.0']) {
      const response = await poll(app, `stable/darwin-x64/${installed}?client_id=c`);
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');
    }
  });

  it('identifies a client without client_id by its pseudonymous id (update-electron-app sends none)', async () => {
    const app = await twoReleases();
    const from = {
      'CF-Connecting-IP': '198.51.100.4',
      'User-Agent': 'update-electron-app/3.1.1 (darwin: arm64)',
    };
    const body: SquirrelUpdate = await (await poll(app, 'stable/darwin-arm64/1.0.0', from)).json();
    expect(new URL(body.url).searchParams.get('client_id')).toMatch(/^anon:[A-Za-z0-9_-]{22}$/);
  });

  it('withholds a release whose Mac artifact is not a zip (204, saying why)', async () => {
    const app = uniqueApp('squirrel-dmg');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [
        { release: releaseFor(app, '1.1.0', [{ platform: 'darwin', arch: 'x64', file: 'App.dmg' }]) },
      ],
    });
    const response = await poll(app, 'stable/darwin-x64/1.0.0?client_id=c');
    expect(response.status).toBe(204);
    expect(response.headers.get('Updraft-Withheld')).toBe('1.1.0 has no zip for darwin-x64');
  });
});

describe('squirrel adapter: rollouts, halts and yanks', () => {
  it('offers a 10 % rollout to exactly the clients whose bucket is below 1000', async () => {
    const app = await twoReleases({ percent_bp: 1000 });
    const ids = Array.from({ length: 3000 }, (_, i) => `squirrel-client-${i}`);
    const offered = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const statuses = await Promise.all(
        batch.map(async (id) => (await poll(app, `stable/darwin-arm64/1.0.0?client_id=${id}`)).status),
      );
      batch.forEach((id, j) => {
        expect([200, 204]).toContain(statuses[j]);
        if (statuses[j] === 200) offered.add(id);
      });
    }
    const expected = new Set<string>();
    for (const id of ids) if ((await bucket(SALT, id)) < 1000) expected.add(id);
    expect(offered).toEqual(expected);
  }, 120_000);

  it('offers a halted rollout to nobody', async () => {
    const app = await twoReleases({ state: 'halted' });
    for (let i = 0; i < 100; i += 1) {
      expect((await poll(app, `stable/darwin-x64/1.0.0?client_id=halt-${i}`)).status).toBe(204);
    }
  });

  it('stops offering a yanked release, and rolls its clients back (Squirrel.Mac installs what it is given)', async () => {
    const app = uniqueApp('squirrel-yank');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [
        { release: releaseFor(app, '1.0.0', [...MAC]), rollout: { state: 'complete' } },
        { release: releaseFor(app, '1.1.0', [...MAC]) },
      ],
      yanks: [yank(app, '1.1.0', '1.0.0')],
    });
    expect((await poll(app, 'stable/darwin-x64/1.0.0?client_id=before')).status).toBe(204);
    const response = await poll(app, 'stable/darwin-x64/1.1.0?client_id=on-yanked');
    expect(response.status).toBe(200);
    const body: SquirrelUpdate = await response.json();
    expect(body.name).toBe('1.0.0');
    expect(body.url).toContain('/artifacts/1.0.0/darwin-x64/');
  });

  it('answers 204, never a 5xx, while the projection does not verify', async () => {
    const app = await twoReleases();
    await makeUnverifiable(app);
    const response = await poll(app, 'stable/darwin-x64/1.0.0?client_id=v');
    expect(response.status).toBe(204);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
  });
});

describe('squirrel adapter: bad input', () => {
  it('answers 4xx with a code and a message, never a 5xx', async () => {
    const app = await twoReleases();
    const cases: [string, number, string][] = [
      ['stable/win32-x64/1.0.0', 400, 'invalid_param'],
      ['stable/linux-x64/1.0.0', 400, 'invalid_param'],
      ['stable/darwin-ia32/1.0.0', 400, 'invalid_param'],
      ['stable/darwin-universal/1.0.0', 400, 'invalid_param'],
      ['stable/darwin/1.0.0', 400, 'invalid_param'],
      ['stable/darwin-x64/1.0', 400, 'invalid_param'],
      ['stable/darwin-x64/v1.0.0', 400, 'invalid_param'],
      [`stable/darwin-x64/1.0.0-${'a'.repeat(200)}`, 400, 'invalid_param'],
      ['Stable!/darwin-x64/1.0.0', 400, 'invalid_param'],
      [`stable/darwin-x64/1.0.0?client_id=${'x'.repeat(129)}`, 400, 'invalid_client_id'],
      [`stable/darwin-x64/1.0.0?client_id=${'x'.repeat(20_000)}`, 400, 'invalid_client_id'],
      ['stable/darwin-x64/1.0.0?client_id=a%20b', 400, 'invalid_client_id'],
      ['stable/darwin-x64/1.0.0?client_id=a&client_id=b', 400, 'invalid_query'],
      ['stable/darwin-x64', 404, 'not_found'],
      ['stable/win32-x64/1.0.0/RELEASES', 404, 'not_found'],
    ];
    for (const [path, status, code] of cases) await expectClientError(await poll(app, path), status, code);
    await expectClientError(await poll('no-such-app', 'stable/darwin-x64/1.0.0'), 404, 'unknown_app');
  });

  it('serves a well-formed but unknown channel from the default channel (docs/protocol.md §3)', async () => {
    const app = await twoReleases();
    expect((await poll(app, 'beta/darwin-x64/1.0.0?client_id=c')).status).toBe(200);
  });
});
