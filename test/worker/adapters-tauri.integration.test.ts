/**
 * The Tauri v2 updater's route (docs/protocol.md §9): `tauri/{channel}/{{target}}/{{arch}}/{{current_version}}`
 * answered in the plugin's dynamic-server format, through the Worker's real entry point over a
 * projection of really signed documents. The signature itself is checked with the real Tauri signer
 * and Debian's minisign in test/e2e/tauri-signature.e2e.test.ts.
 */
import semverValid from 'semver/functions/valid.js';
import { describe, expect, it } from 'vitest';
import { bucket } from '../../src/protocol/bucket.ts';
import type { Arch, Platform } from '../../src/protocol/documents.ts';
import { TAURI_ARCHES, TAURI_TARGETS, type TauriUpdate } from '../../src/worker/adapters/tauri.ts';
import {
  expectClientError,
  fakeSig,
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

const LINUX = [{ platform: 'linux', arch: 'x64', file: 'app_amd64.AppImage.tar.gz' }] as const;
const SALT = '00112233445566778899aabbccddeeff';

function poll(app: string, path: string, clientId?: string, headers: Record<string, string> = {}) {
  const all = new Headers(headers);
  if (clientId !== undefined) all.set('x-updraft-client-id', clientId);
  return fetchWorker(`/v1/apps/${app}/tauri/${path}`, { headers: all });
}

/** An app whose `stable` channel holds 1.0.0 (complete) and 1.1.0 with `rollout`. */
async function twoReleases(rollout: { percent_bp?: number; state?: 'active' | 'halted' } = {}) {
  const app = uniqueApp('tauri');
  await seedApp(app);
  const sig = (t: { file: string }) => ({ minisign: fakeSig(t.file) });
  await seedChannel({
    app,
    releases: [
      { release: releaseFor(app, '1.0.0', [...LINUX], sig), rollout: { state: 'complete' } },
      { release: releaseFor(app, '1.1.0', [...LINUX], sig), rollout: { salt: SALT, ...rollout } },
    ],
  });
  return app;
}

describe('tauri adapter: the answer', () => {
  it('maps every Tauri target and arch name to the artifact of that platform and arch', async () => {
    const app = uniqueApp('tauri-map');
    await seedApp(app);
    const targets = Object.values(TAURI_TARGETS).flatMap((platform: Platform) =>
      Object.values(TAURI_ARCHES).map((arch: Arch) => ({
        platform,
        arch,
        file: `app-${platform}-${arch}.tar.gz`,
      })),
    );
    await seedChannel({
      app,
      releases: [{ release: releaseFor(app, '2.0.0', targets, (t) => ({ minisign: fakeSig(t.file) })) }],
    });
    for (const [target, platform] of Object.entries(TAURI_TARGETS)) {
      for (const [tauriArch, arch] of Object.entries(TAURI_ARCHES)) {
        const response = await poll(app, `stable/${target}/${tauriArch}/1.0.0`, 'mapper');
        expect(response.status, `${target}/${tauriArch}`).toBe(200);
        const body: TauriUpdate = await response.json();
        const file = `app-${platform}-${arch}.tar.gz`;
        expect(body.url).toBe(
          `${ORIGIN}/v1/apps/${app}/artifacts/2.0.0/${platform}-${arch}/${file}?client_id=mapper&via=tauri`,
        );
        expect(body.signature).toBe(fakeSig(file));
      }
    }
  });

  it('serves a universal macOS bundle to both Mac arches, and an own-arch bundle before it', async () => {
    const app = uniqueApp('tauri-universal');
    await seedApp(app);
    const universal = { platform: 'darwin', arch: 'universal', file: 'App_universal.app.tar.gz' } as const;
    const arm = { platform: 'darwin', arch: 'arm64', file: 'App_aarch64.app.tar.gz' } as const;
    const sig = (t: { file: string }) => ({ minisign: fakeSig(t.file) });
    await seedChannel({ app, releases: [{ release: releaseFor(app, '1.1.0', [universal, arm], sig) }] });
    const urlOf = async (arch: string) =>
      ((await (await poll(app, `stable/darwin/${arch}/1.0.0`, 'mac')).json()) as TauriUpdate).url;
    expect(await urlOf('x86_64')).toContain('/artifacts/1.1.0/darwin-universal/App_universal.app.tar.gz?');
    expect(await urlOf('aarch64')).toContain('/artifacts/1.1.0/darwin-arm64/App_aarch64.app.tar.gz?');
  });

  it('is exactly the dynamic-server JSON: version, notes, pub_date (RFC 3339), url, signature', async () => {
    const app = uniqueApp('tauri-fields');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [
        {
          release: releaseFor(app, '1.2.0-beta.1', [...LINUX], () => ({ minisign: fakeSig('one') }), {
            notes: 'Fixes the "crash" on start\nand more',
            published_at: '2026-11-20T12:34:56.789Z',
          }),
        },
      ],
    });
    await seedArtifact({ app, version: '1.2.0-beta.1', ...LINUX[0] }, new TextEncoder().encode('bundle'));
    const response = await poll(app, 'stable/linux/x86_64/1.0.0', 'field-client');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(response.headers.get('Cache-Control')).toBe('private, no-cache');
    const body: Record<string, unknown> = await response.json();
    expect(Object.keys(body).sort()).toEqual(['notes', 'pub_date', 'signature', 'url', 'version']);
    // The plugin parses `version` with semver (after trimming a leading v) and `pub_date` as RFC 3339.
    expect(body.version).toBe('1.2.0-beta.1');
    expect(semverValid(String(body.version))).toBe(body.version);
    expect(body.notes).toBe('Fixes the "crash" on start\nand more');
    expect(body.pub_date).toBe('2026-11-20T12:34:56Z');
    expect(String(body.pub_date)).toMatch(RFC3339_UTC_SECONDS);
    expect(body.signature).toBe(fakeSig('one'));
    expect(body.url).toBe(
      `${ORIGIN}/v1/apps/${app}/artifacts/1.2.0-beta.1/linux-x64/${LINUX[0].file}?client_id=field-client&via=tauri`,
    );
    // The url is the ordinary immutable artifact route: it serves the bytes.
    const download = await fetchWorker(String(body.url).slice(ORIGIN.length));
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('bundle');
  });

  it('answers 204 with no body when nothing newer is offered, and for an unknown installed build', async () => {
    const app = await twoReleases();
    for (const installed of ['1.1.0', '9.0.0']) {
      const response = await poll(app, `stable/linux/x86_64/${installed}`, 'up-to-date');
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');
      expect(response.headers.get('Cache-Control')).toBe('private, no-cache');
    }
    // darwin has no artifact in this release: nothing to offer, not an error.
    expect((await poll(app, 'stable/darwin/aarch64/1.0.0', 'mac')).status).toBe(204);
  });

  it('reads build metadata in {{current_version}} (sent as %2B) as the version it decorates', async () => {
    const app = await twoReleases();
    expect((await poll(app, 'stable/linux/x86_64/1.1.0%2B45', 'build')).status).toBe(204);
    const response = await poll(app, 'stable/linux/x86_64/1.0.0%2Bnightly.7', 'build');
    expect(response.status).toBe(200);
    expect(((await response.json()) as TauriUpdate).version).toBe('1.1.0');
  });

  it('identifies a client without the header by its pseudonymous id, stable for the same IP and agent', async () => {
    const app = await twoReleases();
    const from = { 'CF-Connecting-IP': '203.0.113.7', 'User-Agent': 'tauri-plugin-updater/2.9.0' };
    const first: TauriUpdate = await (await poll(app, 'stable/linux/x86_64/1.0.0', undefined, from)).json();
    const again: TauriUpdate = await (await poll(app, 'stable/linux/x86_64/1.0.0', undefined, from)).json();
    const id = new URL(first.url).searchParams.get('client_id');
    expect(id).toMatch(/^anon:[A-Za-z0-9_-]{22}$/);
    expect(new URL(again.url).searchParams.get('client_id')).toBe(id);
    expect(id).not.toContain('203.0.113.7');
  });
});

describe('tauri adapter: rollouts, halts and yanks', () => {
  it('offers a 10 % rollout to exactly the clients whose bucket is below 1000', async () => {
    const app = await twoReleases({ percent_bp: 1000 });
    const ids = Array.from({ length: 3000 }, (_, i) => `tauri-client-${i}`);
    const offered = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const statuses = await Promise.all(
        batch.map(async (id) => {
          const response = await poll(app, 'stable/linux/x86_64/1.0.0', id);
          if (response.status === 200) expect(((await response.json()) as TauriUpdate).version).toBe('1.1.0');
          else expect(response.status).toBe(204);
          return response.status;
        }),
      );
      batch.forEach((id, j) => {
        if (statuses[j] === 200) offered.add(id);
      });
    }
    const expected = new Set<string>();
    for (const id of ids) if ((await bucket(SALT, id)) < 1000) expected.add(id);
    expect(offered).toEqual(expected);
    expect(offered.size).toBeGreaterThan(240);
    expect(offered.size).toBeLessThan(360);
  }, 120_000);

  it('offers a halted rollout to nobody', async () => {
    const app = await twoReleases({ state: 'halted' });
    for (let i = 0; i < 100; i += 1) {
      expect((await poll(app, 'stable/linux/x86_64/1.0.0', `halt-${i}`)).status).toBe(204);
    }
  });

  it('stops offering a yanked release, and serves the rollback that only a custom comparator takes', async () => {
    const app = uniqueApp('tauri-yank');
    await seedApp(app);
    const sig = (t: { file: string }) => ({ minisign: fakeSig(t.file) });
    await seedChannel({
      app,
      releases: [
        { release: releaseFor(app, '1.0.0', [...LINUX], sig), rollout: { state: 'complete' } },
        { release: releaseFor(app, '1.1.0', [...LINUX], sig) },
      ],
      yanks: [yank(app, '1.1.0', '1.0.0')],
    });
    expect((await poll(app, 'stable/linux/x86_64/1.0.0', 'before')).status).toBe(204);
    // A client on the yanked version gets 1.0.0; Tauri's default comparator (newer only) ignores it.
    const response = await poll(app, 'stable/linux/x86_64/1.1.0', 'on-yanked');
    expect(response.status).toBe(200);
    expect(((await response.json()) as TauriUpdate).version).toBe('1.0.0');
  });

  it('withholds a release whose artifact has no minisign signature (204, saying why)', async () => {
    const app = uniqueApp('tauri-unsigned');
    await seedApp(app);
    await seedChannel({ app, releases: [{ release: releaseFor(app, '1.1.0', [...LINUX]) }] });
    const response = await poll(app, 'stable/linux/x86_64/1.0.0', 'unsigned');
    expect(response.status).toBe(204);
    expect(response.headers.get('Updraft-Withheld')).toBe('1.1.0 has no minisign signature for linux-x64');
  });

  it('answers 204, never a 5xx, while the projection does not verify', async () => {
    const app = await twoReleases();
    expect((await poll(app, 'stable/linux/x86_64/1.0.0', 'v')).status).toBe(200);
    await makeUnverifiable(app);
    const response = await poll(app, 'stable/linux/x86_64/1.0.0', 'v');
    expect(response.status).toBe(204);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
  });
});

describe('tauri adapter: bad input', () => {
  it('answers 4xx with a code and a message, never a 5xx', async () => {
    const app = await twoReleases();
    const cases: [string, number, string, Record<string, string>?][] = [
      ['stable/macos/x86_64/1.0.0', 400, 'invalid_param'],
      ['stable/darwin-aarch64/aarch64/1.0.0', 400, 'invalid_param'],
      ['stable/linux/x64/1.0.0', 400, 'invalid_param'],
      ['stable/linux/riscv64/1.0.0', 400, 'invalid_param'],
      ['stable/linux/x86_64/1.0', 400, 'invalid_param'],
      ['stable/linux/x86_64/latest', 400, 'invalid_param'],
      ['stable/linux/x86_64/v1.0.0', 400, 'invalid_param'],
      ['stable/linux/x86_64/{{current_version}}', 400, 'invalid_param'],
      [`stable/linux/x86_64/1.0.0-${'a'.repeat(200)}`, 400, 'invalid_param'],
      ['Not_A_Channel/linux/x86_64/1.0.0', 400, 'invalid_param'],
      ['stable/linux/x86_64/1.0.0', 400, 'invalid_client_id', { 'x-updraft-client-id': 'x'.repeat(129) }],
      ['stable/linux/x86_64/1.0.0', 400, 'invalid_client_id', { 'x-updraft-client-id': 'a b' }],
      ['stable/linux/x86_64/1.0.0', 400, 'invalid_client_id', { 'x-updraft-client-id': 'x'.repeat(20_000) }],
      ['stable/linux/x86_64', 404, 'not_found'],
      ['stable/linux/x86_64/1.0.0/extra', 404, 'not_found'],
    ];
    for (const [path, status, code, headers] of cases) {
      const response = await poll(app, path, undefined, headers);
      await expectClientError(response, status, code);
    }
    await expectClientError(await poll('no-such-app', 'stable/linux/x86_64/1.0.0', 'c'), 404, 'unknown_app');
    await expectClientError(await poll('Bad_App', 'stable/linux/x86_64/1.0.0', 'c'), 400, 'invalid_param');
    const post = await fetchWorker(`/v1/apps/${app}/tauri/stable/linux/x86_64/1.0.0`, { method: 'POST' });
    expect(post.status).toBeGreaterThanOrEqual(400);
    expect(post.status).toBeLessThan(500);
  });

  it('serves a well-formed but unknown channel from the default channel (docs/protocol.md §3)', async () => {
    const app = await twoReleases();
    const response = await poll(app, 'nightly/linux/x86_64/1.0.0', 'c');
    expect(response.status).toBe(200);
    expect(((await response.json()) as TauriUpdate).version).toBe('1.1.0');
  });
});
