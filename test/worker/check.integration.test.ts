import { describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { decodeDocument } from '../../src/protocol/jws.ts';
import {
  errorOf,
  fetchWorker,
  ORIGIN,
  release,
  seedApp,
  seedChannel,
  uniqueApp,
} from './support/seed-projection.ts';

function checkPath(app: string, params: Record<string, string>): string {
  const query = new URLSearchParams({
    client_id: 'client-1',
    version: '1.0.0',
    platform: 'linux',
    arch: 'x64',
    ...params,
  });
  return `/v1/apps/${app}/check?${query}`;
}

async function checkOk(app: string, params: Record<string, string> = {}): Promise<CheckResponse> {
  const response = await fetchWorker(checkPath(app, params));
  expect(response.status).toBe(200);
  return response.json();
}

/** An app on `stable` with 1.0.0 and 1.1.0, both at 100 %. */
async function twoReleases() {
  const app = uniqueApp('check');
  await seedApp(app);
  const projection = await seedChannel({
    app,
    releases: [{ release: release(app, '1.0.0') }, { release: release(app, '1.1.0') }],
  });
  return { app, projection };
}

describe('GET /v1/apps/{app}/check', () => {
  it('offers the highest release with its signed documents and artifact', async () => {
    const { app, projection } = await twoReleases();
    const response = await fetchWorker(checkPath(app, {}));
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('private, no-cache');
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    const body: CheckResponse = await response.json();
    expect(body).toEqual({
      status: 'update',
      channel: 'stable',
      version: '1.1.0',
      mandatory: false,
      artifact: {
        url: `${ORIGIN}/v1/apps/${app}/artifacts/1.1.0/linux-x64/${app}-1.1.0.tar.gz`,
        sha256: 'a'.repeat(64),
        size: 1234,
      },
      signed: { snapshot: projection.snapshot, release: projection.releases['1.1.0'] },
    });
  });

  it('answers none, with the snapshot only, when the client is up to date', async () => {
    const { app, projection } = await twoReleases();
    const body = await checkOk(app, { version: '1.1.0' });
    expect(body).toEqual({
      status: 'none',
      channel: 'stable',
      yanked: false,
      signed: { snapshot: projection.snapshot },
    });
  });

  it('sets an ETag on the decision and answers If-None-Match with 304', async () => {
    const { app } = await twoReleases();
    const first = await fetchWorker(checkPath(app, {}));
    const etag = first.headers.get('ETag');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);

    const again = await fetchWorker(checkPath(app, {}), { headers: { 'If-None-Match': etag ?? '' } });
    expect(again.status).toBe(304);
    expect(again.headers.get('ETag')).toBe(etag);
    expect(again.headers.get('Cache-Control')).toBe('private, no-cache');
    expect(await again.text()).toBe('');

    // A different decision is a different ETag.
    const other = await fetchWorker(checkPath(app, { version: '1.1.0' }), {
      headers: { 'If-None-Match': etag ?? '' },
    });
    expect(other.status).toBe(200);
    expect(other.headers.get('ETag')).not.toBe(etag);
  });

  it.each([
    ['version', { version: '1.0' }],
    ['version', { version: `1.0.0-${'a'.repeat(64)}` }],
    ['client_id', { client_id: 'c'.repeat(129) }],
    ['client_id', { client_id: 'bad id!' }],
    ['client_id', { client_id: '' }],
    ['platform', { platform: 'osx' }],
    ['arch', { arch: 'amd64' }],
    ['channel', { channel: 'Beta_Channel' }],
    ['channel', { channel: 'c'.repeat(64) }],
    ['os_version', { os_version: 'x'.repeat(40) }],
  ])('answers 400 invalid_query naming %s for %j', async (parameter, params) => {
    const { app } = await twoReleases();
    const response = await fetchWorker(checkPath(app, params));
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('invalid_query');
    expect(error.message.startsWith(`${parameter}:`)).toBe(true);
  });

  it.each(['client_id', 'version', 'platform', 'arch'])(
    'answers 400 when %s is missing',
    async (parameter) => {
      const { app } = await twoReleases();
      const query = new URLSearchParams({
        client_id: 'c1',
        version: '1.0.0',
        platform: 'linux',
        arch: 'x64',
      });
      query.delete(parameter);
      const response = await fetchWorker(`/v1/apps/${app}/check?${query}`);
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toEqual({
        code: 'invalid_query',
        message: `${parameter}: is required`,
      });
    },
  );

  it('answers 400 when a parameter is given twice', async () => {
    const { app } = await twoReleases();
    const response = await fetchWorker(`${checkPath(app, {})}&platform=darwin`);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(/^platform:/);
  });

  it('answers 400 for a malformed app name and 404 unknown_app for an unknown one', async () => {
    const bad = await fetchWorker(checkPath('Not_An_App', {}));
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('invalid_param');

    const unknown = await fetchWorker(checkPath(uniqueApp('missing'), {}));
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('unknown_app');
    expect(unknown.headers.get('Cache-Control')).toBe('no-store');
  });

  it('answers 404 unknown_channel when the app has no projected channel at all', async () => {
    const app = uniqueApp('bare');
    await seedApp(app);
    const response = await fetchWorker(checkPath(app, {}));
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe('unknown_channel');
  });

  it('prefers the exact arch and falls back to an any-arch artifact', async () => {
    const app = uniqueApp('arch');
    await seedApp(app);
    const artifact = (arch: 'x64' | 'any', file: string) => ({
      platform: 'linux' as const,
      arch,
      file,
      sha256: 'b'.repeat(64),
      size: 10,
    });
    await seedChannel({
      app,
      releases: [
        {
          release: release(app, '2.0.0', {
            artifacts: [artifact('x64', 'native.bin'), artifact('any', 'bundle.js')],
          }),
        },
      ],
    });
    expect((await checkOk(app)).artifact?.url).toMatch(/\/2\.0\.0\/linux-x64\/native\.bin$/);
    expect((await checkOk(app, { arch: 'arm64' })).artifact?.url).toMatch(
      /\/2\.0\.0\/linux-any\/bundle\.js$/,
    );
    expect((await checkOk(app, { platform: 'darwin' })).status).toBe('none');
  });

  it('offers an artifact of a runtime only to clients of that runtime, one of none to anyone (docs/protocol.md §3)', async () => {
    const app = uniqueApp('runtime');
    await seedApp(app);
    const artifact = (file: string, runtime?: string) => ({
      platform: 'ios' as const,
      arch: 'any' as const,
      file,
      sha256: 'c'.repeat(64),
      size: 10,
      ...(runtime === undefined ? {} : { runtime }),
    });
    await seedChannel({
      app,
      releases: [
        { release: release(app, '1.1.0', { artifacts: [artifact('plain.js')] }) },
        { release: release(app, '1.2.0', { artifacts: [artifact('sdk52.js', 'exposdk:52.0.0')] }) },
      ],
    });
    const ios = { platform: 'ios', arch: 'any' };
    expect(await checkOk(app, { ...ios, runtime: 'exposdk:52.0.0' })).toMatchObject({ version: '1.2.0' });
    // Another runtime, or none: the 1.2.0 build is not for it; the runtime-less 1.1.0 is.
    expect(await checkOk(app, { ...ios, runtime: 'exposdk:51.0.0' })).toMatchObject({ version: '1.1.0' });
    expect(await checkOk(app, ios)).toMatchObject({ version: '1.1.0' });

    for (const bad of ['has space', 'x'.repeat(256), '']) {
      const response = await fetchWorker(checkPath(app, { ...ios, runtime: bad }));
      expect(response.status, bad).toBe(400);
      expect((await errorOf(response)).message).toContain('runtime');
    }
  });

  it('marks an update mandatory when it skips a mandatory release', async () => {
    const app = uniqueApp('mandatory');
    await seedApp(app);
    await seedChannel({
      app,
      releases: [{ release: release(app, '1.1.0', { mandatory: true }) }, { release: release(app, '1.2.0') }],
    });
    const body = await checkOk(app);
    expect(body).toMatchObject({ status: 'update', version: '1.2.0', mandatory: true });
    expect(await checkOk(app, { version: '1.1.0' })).toMatchObject({ version: '1.2.0', mandatory: false });
  });

  it('the snapshot it serves is the signed channel document of that channel', async () => {
    const { app } = await twoReleases();
    const body = await checkOk(app);
    const { header, payload } = decodeDocument(body.signed.snapshot);
    expect(header.typ).toBe('updraft-channel+jwt');
    expect(payload).toMatchObject({ app, channel: 'stable' });
  });
});
