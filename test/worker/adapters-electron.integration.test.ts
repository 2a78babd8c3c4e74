/**
 * electron-updater's generic provider route (docs/protocol.md §9): `electron/{channel}/{name}.yml`, through the
 * Worker's real entry point over a projection of really signed documents, parsed with js-yaml as
 * electron-updater parses it. electron-updater's own code runs against a real Worker in
 * test/e2e/electron-updater.e2e.test.ts.
 */
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { bucket } from '../../src/protocol/bucket.ts';
import type { Arch, Artifact, Platform } from '../../src/protocol/documents.ts';
import { quote } from '../../src/worker/adapters/electron-yml.ts';
import { expectClientError, makeUnverifiable, releaseFor } from './support/adapters-feeds-fixtures.ts';
import { fetchWorker, ORIGIN, seedApp, seedChannel, uniqueApp, yank } from './support/seed-projection.ts';

const SALT = '00112233445566778899aabbccddeeff';
const sha512Of = (label: string) => `${btoa(label.padEnd(64, '.')).slice(0, 86)}==`;

interface UpdateInfo {
  version: string;
  files: { url: string; sha512?: string; sha2?: string; size: number }[];
  path?: string;
  sha512?: string;
  sha2?: string;
  releaseDate?: string;
  releaseNotes?: string;
  stagingPercentage?: number;
}

type Target = Pick<Artifact, 'platform' | 'arch' | 'file'>;

const EVERY_TARGET: Target[] = [
  { platform: 'windows', arch: 'x64', file: 'App-Setup-VERSION.exe' },
  { platform: 'windows', arch: 'arm64', file: 'App-Setup-VERSION-arm64.exe' },
  { platform: 'darwin', arch: 'x64', file: 'App-VERSION-mac.zip' },
  { platform: 'darwin', arch: 'arm64', file: 'App-VERSION-arm64-mac.zip' },
  { platform: 'darwin', arch: 'universal', file: 'App-VERSION-universal-mac.zip' },
  { platform: 'linux', arch: 'x64', file: 'App-VERSION.AppImage' },
  { platform: 'linux', arch: 'arm64', file: 'App-VERSION-arm64.AppImage' },
  { platform: 'linux', arch: 'arm', file: 'App-VERSION-armv7l.AppImage' },
  { platform: 'linux', arch: 'ia32', file: 'App-VERSION-i386.AppImage' },
];

const targets = (version: string, list = EVERY_TARGET) =>
  list.map((t) => ({ ...t, file: t.file.replace('VERSION', version) }));
const withSha512 = (t: Target) => ({ sha512: sha512Of(t.file) });

async function poll(
  app: string,
  path: string,
  headers: { id?: string; version?: string } = {},
): Promise<Response> {
  const all = new Headers();
  if (headers.id !== undefined) all.set('x-user-staging-id', headers.id);
  if (headers.version !== undefined) all.set('x-updraft-version', headers.version);
  return fetchWorker(`/v1/apps/${app}/electron/${path}`, { headers: all });
}

async function info(app: string, path: string, headers: { id?: string; version?: string } = {}) {
  const response = await poll(app, path, headers);
  expect(response.status, path).toBe(200);
  expect(response.headers.get('Content-Type')).toMatch(/^text\/yaml/);
  return load(await response.text()) as UpdateInfo;
}

/** An app whose `stable` channel holds 1.0.0 (complete) and 1.1.0 with `rollout`, every target. */
async function twoReleases(rollout: { percent_bp?: number; state?: 'active' | 'halted' } = {}) {
  const app = uniqueApp('electron');
  await seedApp(app);
  await seedChannel({
    app,
    releases: [
      { release: releaseFor(app, '1.0.0', targets('1.0.0'), withSha512), rollout: { state: 'complete' } },
      {
        release: releaseFor(app, '1.1.0', targets('1.1.0'), withSha512),
        rollout: { salt: SALT, ...rollout },
      },
    ],
  });
  return app;
}

const fileUrl = (app: string, version: string, t: Target, id: string) =>
  `${ORIGIN}/v1/apps/${app}/artifacts/${version}/${t.platform}-${t.arch}/${t.file}?client_id=${id}&via=electron`;

describe('electron adapter: file names', () => {
  const cases: [string, Platform, Arch[]][] = [
    ['latest.yml', 'windows', ['x64', 'arm64']],
    ['latest-mac.yml', 'darwin', ['arm64', 'universal', 'x64']],
    ['latest-linux.yml', 'linux', ['x64']],
    ['latest-linux-arm64.yml', 'linux', ['arm64']],
    ['latest-linux-arm.yml', 'linux', ['arm']],
    ['latest-linux-armv7l.yml', 'linux', ['arm']],
    ['latest-linux-ia32.yml', 'linux', ['ia32']],
  ];
  it.each(cases)('%s lists the %s artifacts of %j, in that order', async (name, platform, arches) => {
    const app = await twoReleases();
    const body = await info(app, `stable/${name}`, { id: 'mapper', version: '1.0.0' });
    const expected = targets('1.1.0').filter((t) => t.platform === platform);
    expect(body.version).toBe('1.1.0');
    expect(body.files).toEqual(
      arches.map((arch) => {
        const t = expected.find((e) => e.arch === arch) as Target;
        return { url: fileUrl(app, '1.1.0', t, 'mapper'), sha512: sha512Of(t.file), size: 4321 };
      }),
    );
    expect(body.path).toBe(body.files[0]?.url);
    expect(body.sha512).toBe(body.files[0]?.sha512);
    expect(body.releaseDate).toBe('2026-11-20T12:00:00Z');
    expect(body.releaseNotes).toBe('release 1.1.0');
    expect(body).not.toHaveProperty('stagingPercentage');
  });

  it('reads another prefix than latest as the channel electron-updater was set to', async () => {
    const app = uniqueApp('electron-beta');
    await seedApp(app, {
      channels: [
        { name: 'stable', public: true },
        { name: 'beta', public: true },
      ],
    });
    await seedChannel({
      app,
      releases: [{ release: releaseFor(app, '1.0.0', targets('1.0.0'), withSha512) }],
    });
    await seedChannel({
      app,
      channel: 'beta',
      releases: [{ release: releaseFor(app, '2.0.0-beta.1', targets('2.0.0-beta.1'), withSha512) }],
    });
    expect((await info(app, 'stable/latest-mac.yml')).version).toBe('1.0.0');
    expect((await info(app, 'beta/latest-mac.yml')).version).toBe('2.0.0-beta.1');
    expect((await info(app, 'stable/beta-mac.yml')).version).toBe('2.0.0-beta.1');
    expect((await info(app, 'stable/beta-linux-arm64.yml')).files[0]?.url).toContain('/linux-arm64/');
    // A well-formed channel the app does not have is the default one (docs/protocol.md §3), as /check does.
    expect((await info(app, 'nightly/latest.yml')).version).toBe('1.0.0');
    expect((await info(app, 'stable/nightly.yml')).version).toBe('1.0.0');
  });

  it('lists on latest-mac.yml only the arches the offered release has, and picks the highest offer', async () => {
    const app = uniqueApp('electron-arm');
    await seedApp(app);
    const intelOnly = targets('1.2.0').filter((t) => t.platform === 'darwin' && t.arch === 'x64');
    await seedChannel({
      app,
      releases: [
        { release: releaseFor(app, '1.1.0', targets('1.1.0'), withSha512) },
        { release: releaseFor(app, '1.2.0', intelOnly, withSha512) },
      ],
    });
    const body = await info(app, 'stable/latest-mac.yml', { id: 'c', version: '1.0.0' });
    expect(body.version).toBe('1.2.0');
    expect(body.files.map((f) => f.url)).toEqual([fileUrl(app, '1.2.0', intelOnly[0] as Target, 'c')]);
    // Linux x64 has no 1.2.0: its own decision stands.
    expect((await info(app, 'stable/latest-linux.yml', { id: 'c', version: '1.0.0' })).version).toBe('1.1.0');
  });

  it('sends sha2 (the signed SHA-256) for an artifact published without sha512', async () => {
    const app = uniqueApp('electron-sha2');
    await seedApp(app);
    await seedChannel({ app, releases: [{ release: releaseFor(app, '1.0.0', targets('1.0.0')) }] });
    const body = await info(app, 'stable/latest-linux.yml', { id: 'c' });
    expect(body.files).toEqual([
      { url: fileUrl(app, '1.0.0', targets('1.0.0')[5] as Target, 'c'), sha2: 'b'.repeat(64), size: 4321 },
    ]);
    expect(body.sha2).toBe('b'.repeat(64));
    expect(body).not.toHaveProperty('sha512');
  });

  it('quotes notes so that js-yaml reads back exactly what was signed', async () => {
    const notes =
      'Fixes: "quotes", back\\slash, #hash, key: value\n- a list?\ttab \u0085 \u2028 \u{1F680} é \u007f';
    const app = uniqueApp('electron-notes');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [{ release: releaseFor(app, '1.0.0', targets('1.0.0'), withSha512, { notes }) }],
    });
    expect((await info(app, 'stable/latest.yml')).releaseNotes).toBe(notes);
    for (const s of [notes, '', 'null', '1.0', 'true', '\ufeff\ufffe']) expect(load(quote(s))).toBe(s);
  });
});

describe('electron adapter: the decision', () => {
  it('offers 1.1.0 at 10 % to exactly the clients whose bucket is inside, with or without the version', async () => {
    const app = await twoReleases({ percent_bp: 1000 });
    const ids = Array.from({ length: 1500 }, () => crypto.randomUUID());
    let inside = 0;
    for (let i = 0; i < ids.length; i += 250) {
      const batch = ids.slice(i, i + 250);
      const answers = await Promise.all(
        batch.map(async (id) => {
          const [known, unknown] = await Promise.all([
            info(app, 'stable/latest-linux.yml', { id, version: '1.0.0' }),
            info(app, 'stable/latest-linux.yml', { id }),
          ]);
          return { id, known, unknown };
        }),
      );
      for (const { id, known, unknown } of answers) {
        const isInside = (await bucket(SALT, id)) < 1000;
        if (isInside) inside += 1;
        // Outside, the known version gets "no update": its own version, refused by the rollout share.
        expect(known.version).toBe(isInside ? '1.1.0' : '1.0.0');
        expect(known.stagingPercentage).toBe(isInside ? undefined : 0);
        // Unknown version (docs/protocol.md §3 rule 5): the highest release the client is inside of.
        expect(unknown.version).toBe(isInside ? '1.1.0' : '1.0.0');
        expect(unknown.files).toHaveLength(1);
      }
    }
    expect(inside).toBeGreaterThan(100);
    expect(inside).toBeLessThan(200);
  }, 120_000);

  it('a halted rollout is offered to nobody new', async () => {
    const app = await twoReleases({ state: 'halted' });
    for (let i = 0; i < 50; i++) {
      const body = await info(app, 'stable/latest.yml', { id: `h-${i}`, version: '1.0.0' });
      expect([body.version, body.files, body.stagingPercentage]).toEqual(['1.0.0', [], 0]);
    }
    // Clients already on it stay: their own version back, never a downgrade.
    const on = await info(app, 'stable/latest.yml', { id: 'on-it', version: '1.1.0' });
    expect([on.version, on.files]).toEqual(['1.1.0', []]);
  });

  it('a yank stops the offer, and sends its rollback only to clients that say their version', async () => {
    const app = uniqueApp('electron-yank');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [
        { release: releaseFor(app, '1.0.0', targets('1.0.0'), withSha512), rollout: { state: 'complete' } },
        { release: releaseFor(app, '1.1.0', targets('1.1.0'), withSha512) },
      ],
      yanks: [yank(app, '1.1.0', '1.0.0')],
    });
    const fresh = await info(app, 'stable/latest-linux.yml', { id: 'x', version: '1.0.0' });
    expect([fresh.version, fresh.files]).toEqual(['1.0.0', []]);
    const onYanked = await info(app, 'stable/latest-linux.yml', { id: 'x', version: '1.1.0' });
    expect(onYanked.version).toBe('1.0.0');
    expect(onYanked.files[0]?.url).toContain('/artifacts/1.0.0/linux-x64/');
    // Without the header: the highest release still offered, which only allowDowngrade installs.
    expect((await info(app, 'stable/latest-linux.yml', { id: 'x' })).version).toBe('1.0.0');
  });

  it('honours requires only when the client says its version', async () => {
    const app = uniqueApp('electron-requires');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [
        { release: releaseFor(app, '1.5.0', targets('1.5.0'), withSha512) },
        { release: releaseFor(app, '2.0.0', targets('2.0.0'), withSha512, { requires: '>=1.5.0' }) },
      ],
    });
    expect((await info(app, 'stable/latest.yml', { id: 'r', version: '1.0.0' })).version).toBe('1.5.0');
    expect((await info(app, 'stable/latest.yml', { id: 'r', version: '1.5.0' })).version).toBe('2.0.0');
    expect((await info(app, 'stable/latest.yml', { id: 'r' })).version).toBe('2.0.0');
  });

  it('answers "no update" for nothing to offer, with 0.0.0 when the version is unknown', async () => {
    const app = uniqueApp('electron-none');
    await seedApp(app);
    await seedChannel({ app, releases: [] });
    const body = await info(app, 'stable/latest-mac.yml', { id: 'n' });
    expect(body).toEqual({ version: '0.0.0', files: [], stagingPercentage: 0 });
  });

  it('serves nothing from a projection that does not verify, and no 5xx', async () => {
    const app = await twoReleases();
    await makeUnverifiable(app);
    const response = await poll(app, 'stable/latest.yml', { id: 'u', version: '1.0.0' });
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(load(await response.text())).toEqual({ version: '1.0.0', files: [], stagingPercentage: 0 });
  });

  it('gives a client without x-user-staging-id a pseudonymous id, stable for its IP and User-Agent', async () => {
    const app = await twoReleases();
    const headers = { 'CF-Connecting-IP': '203.0.113.9', 'User-Agent': 'electron-builder' };
    const url = `/v1/apps/${app}/electron/stable/latest.yml`;
    const a = load(await (await fetchWorker(url, { headers })).text()) as UpdateInfo;
    const b = load(await (await fetchWorker(url, { headers })).text()) as UpdateInfo;
    expect(a.files[0]?.url).toMatch(/client_id=anon%3A/);
    expect(a.files[0]?.url).toBe(b.files[0]?.url);
  });
});

describe('electron adapter: bad input', () => {
  it('answers 4xx with a code and a message, never a 5xx', async () => {
    const app = await twoReleases();
    const cases: [string, { id?: string; version?: string }, number, string][] = [
      ['stable/latest.json', {}, 400, 'invalid_file'],
      ['stable/latest.yaml', {}, 400, 'invalid_file'],
      ['stable/latest_mac.yml', {}, 400, 'invalid_file'],
      ['stable/Latest.yml', {}, 400, 'invalid_file'],
      ['stable/.yml', {}, 400, 'invalid_file'],
      ['stable/-mac.yml', {}, 400, 'invalid_file'],
      [`stable/${'a'.repeat(200)}.yml`, {}, 400, 'invalid_param'],
      ['Stable!/latest.yml', {}, 400, 'invalid_param'],
      ['stable/latest.yml', { id: 'x'.repeat(129) }, 400, 'invalid_client_id'],
      ['stable/latest.yml', { id: 'has space' }, 400, 'invalid_client_id'],
      ['stable/latest.yml', { version: '1.0' }, 400, 'invalid_version'],
      ['stable/latest.yml', { version: `1.0.0-${'a'.repeat(200)}` }, 400, 'invalid_version'],
    ];
    for (const [path, headers, status, code] of cases) {
      expect(await expectClientError(await poll(app, path, headers), status), path).toBe(code);
    }
    await expectClientError(await poll(uniqueApp('nobody'), 'stable/latest.yml'), 404, 'unknown_app');
    const empty = uniqueApp('electron-empty');
    await seedApp(empty);
    await expectClientError(await poll(empty, 'stable/latest.yml'), 404, 'unknown_channel');
  });
});
