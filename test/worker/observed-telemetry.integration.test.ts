/**
 * Telemetry the Worker observes for updaters that report nothing themselves (docs/protocol.md §9): downloads
 * of artifact URLs that carry a client id, and events marked with the client kind, through the real
 * queue into D1. A download is counted once per client and release, however often it is resumed.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { parseMessage } from '../../src/worker/telemetry/queue.ts';
import { call, createApp, promote, publish, uniqueApp } from './support/fixtures.ts';
import { clientRows, telemetryEvent } from './support/telemetry-fixtures.ts';

const QUEUE_WAIT = { timeout: 15_000, interval: 250 };

async function stored(app: string) {
  const { results } = await env.DB.prepare(
    'SELECT type, client_id, version, kind FROM events WHERE app = ?1 ORDER BY client_id, type',
  )
    .bind(app)
    .all<{ type: string; client_id: string; version: string; kind: string }>();
  return results;
}

async function artifactPath(app: string, version: string): Promise<string> {
  const answer = await call(`/v1/apps/${app}/check?client_id=probe&version=0.0.1&platform=linux&arch=x64`);
  const body = await answer.json<{ artifact?: { url: string } }>();
  if (!body.artifact) throw new Error(`no update offered for ${version}`);
  return new URL(body.artifact.url).pathname;
}

describe('downloads of artifact URLs that carry a client id', () => {
  it('count one download_started per client and release, marked with the updater, however often fetched', async () => {
    const app = uniqueApp('observed');
    await createApp(app);
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    const path = await artifactPath(app, '1.1.0');

    for (let i = 0; i < 3; i++) {
      const response = await call(`${path}?client_id=desk-1&via=electron`);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    const resumed = await call(`${path}?client_id=desk-1&via=electron`, { headers: { Range: 'bytes=3-' } });
    expect(resumed.status).toBe(206);
    await resumed.arrayBuffer();
    const other = await call(`${path}?client_id=desk-2&via=tauri`);
    await other.arrayBuffer();
    // A plain download (the SDK's own URL) is not counted here: the SDK reports its own events.
    await (await call(path)).arrayBuffer();

    await vi.waitFor(async () => expect(await stored(app)).toHaveLength(2), QUEUE_WAIT);
    expect(await stored(app)).toEqual([
      { type: 'download_started', client_id: 'desk-1', version: '1.1.0', kind: 'electron' },
      { type: 'download_started', client_id: 'desk-2', version: '1.1.0', kind: 'tauri' },
    ]);
  });

  it('answers a malformed client_id or via with 400 and counts nothing', async () => {
    const app = uniqueApp('observed');
    await createApp(app);
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    const path = await artifactPath(app, '1.1.0');
    for (const query of ['client_id=bad%20id', `client_id=${'x'.repeat(129)}`, 'client_id=ok&via=winamp']) {
      const response = await call(`${path}?${query}`);
      expect(response.status, query).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_param' } });
    }
    await new Promise((done) => setTimeout(done, 1_500));
    expect(await stored(app)).toEqual([]);
  });
});

describe('the consumer and the client kind', () => {
  it('keeps the kind of a message on its events and on the client row; intake messages stay sdk', async () => {
    const app = uniqueApp('kinds');
    const received_at = new Date().toISOString();
    const observed = parseMessage({
      app,
      received_at,
      kind: 'sparkle',
      events: [telemetryEvent({ type: 'check', client_id: 'mac-1', from_version: '2.0.0' })],
    });
    const intake = parseMessage({ app, received_at, events: [telemetryEvent({ client_id: 'sdk-1' })] });
    expect(observed).toMatchObject({ events: [{ kind: 'sparkle' }] });
    expect(intake).toMatchObject({ events: [expect.not.objectContaining({ kind: expect.anything() })] });
    expect(parseMessage({ app, received_at, kind: 'winamp', events: [] })).toMatchObject({
      error: expect.stringContaining('kind'),
    });

    await env.EVENTS.send({
      app,
      received_at,
      kind: 'sparkle',
      events: [telemetryEvent({ type: 'check', client_id: 'mac-1', from_version: '2.0.0' })],
    });
    await vi.waitFor(async () => expect(await clientRows(app)).toHaveLength(1), QUEUE_WAIT);
    const row = await env.DB.prepare('SELECT kind, version FROM clients WHERE app = ?1').bind(app).first();
    expect(row).toEqual({ kind: 'sparkle', version: '2.0.0' });
  });
});
