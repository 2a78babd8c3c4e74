import { beforeEach, describe, expect, it } from 'vitest';
import type { RejectedEvent } from '../../src/client/index.ts';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import type { TelemetryEvent } from '../../src/protocol/telemetry.ts';
import { APP, CHANNEL, FakeServer, json, NOW, updaterFor } from './fake-server.ts';

let server: FakeServer;
let storage: MemoryStorage;
let sleeps: number[];
beforeEach(async () => {
  server = await FakeServer.create();
  storage = new MemoryStorage();
  sleeps = [];
});

const updater = (options: Parameters<typeof updaterFor>[1] = {}) =>
  updaterFor(server, {
    storage,
    channel: 'beta',
    osVersion: '14.2',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
const queued = (): TelemetryEvent[] => JSON.parse(storage.snapshot()[`updraft:${APP}:events`] ?? '[]');
const sent = () => server.batches.flat() as TelemetryEvent[];

describe('report()', () => {
  it('fills in id, client, channel, platform and time, validates, and persists the event', async () => {
    await updater().report({
      type: 'install_succeeded',
      from_version: '1.0.0',
      to_version: '1.1.0',
      duration_ms: 900,
    });
    const [event] = queued();
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'install_succeeded',
      client_id: 'client-1',
      channel: 'beta',
      platform: 'linux',
      arch: 'x64',
      os_version: '14.2',
      from_version: '1.0.0',
      to_version: '1.1.0',
      duration_ms: 900,
      occurred_at: NOW.toISOString(),
    });
  });

  it('uses the channel of the last check over the configured one', async () => {
    server.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: await server.snapshot([]) } };
    await updater().check();
    await updater().report({ type: 'check' });
    expect(queued()[0]).toMatchObject({ channel: CHANNEL, from_version: '1.0.0' });
  });

  it('refuses an invalid event with a TypeError and queues nothing', async () => {
    await expect(updater().report({ type: 'install_failed', error_code: 'bad code!' })).rejects.toThrow(
      /error_code: must be .*; to_version: is required for install_failed/,
    );
    await expect(updaterFor(server).report({ type: 'check' })).rejects.toThrow(/no channel known/);
    expect(queued()).toEqual([]);
  });

  it('cuts a long error message instead of losing the event', async () => {
    await updater().report({ type: 'install_failed', to_version: '1.1.0', error_message: 'x'.repeat(1000) });
    expect(queued()[0]?.error_message).toHaveLength(256);
  });
});

describe('flush()', () => {
  it('sends batches of at most 100, empties the queue, and survives a restart before sending', async () => {
    for (let i = 0; i < 250; i++) await updater().report({ type: 'check' });
    await updater().flush(); // a new updater on the same storage: the queue was persisted
    expect(server.batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(new Set(sent().map((e) => e.id)).size).toBe(250);
    expect(queued()).toEqual([]);
  });

  it('keeps everything on 5xx and network errors, backs off, gives up for now, and resends the same ids', async () => {
    await updater().report({ type: 'check' });
    const id = queued()[0]?.id;
    let calls = 0;
    server.intercept = (_request, url) => {
      if (!url.pathname.endsWith('/events')) return undefined;
      calls += 1;
      if (calls % 2) throw new TypeError('fetch failed');
      return json({ error: { code: 'unavailable', message: 'retry' } }, 503);
    };
    await updater().flush();
    expect(calls).toBe(5);
    expect(sleeps).toEqual([1000, 2000, 4000, 8000]);
    expect(queued().map((e) => e.id)).toEqual([id]);

    server.intercept = undefined;
    await updater().flush();
    expect(sent().map((e) => e.id)).toEqual([id]);
    expect(queued()).toEqual([]);
  });

  it('honours Retry-After, and stops for now when it is longer than the longest backoff', async () => {
    await updater().report({ type: 'check' });
    let calls = 0;
    server.intercept = () => {
      calls += 1;
      return json({ error: { code: 'rate_limited', message: 'slow down' } }, 429, {
        'Retry-After': calls === 1 ? '3' : '60',
      });
    };
    await updater().flush();
    expect(sleeps).toEqual([3000]);
    expect(calls).toBe(2);
    expect(queued()).toHaveLength(1);
  });

  it('drops events refused for good, reporting them, and keeps the rate-limited ones', async () => {
    const rejected: RejectedEvent[] = [];
    for (let i = 0; i < 3; i++) await updater().report({ type: 'check' });
    const ids = queued().map((e) => e.id);
    server.intercept = () =>
      json(
        {
          accepted: 1,
          rejected: [
            { index: 1, code: 'invalid_event', message: 'channel: unknown' },
            { index: 2, code: 'rate_limited', message: 'client sends too often' },
          ],
        },
        202,
      );
    await updater({ onRejected: (r) => rejected.push(...r) }).flush();
    expect(rejected).toEqual([
      { event: expect.objectContaining({ id: ids[1] }), code: 'invalid_event', message: 'channel: unknown' },
    ]);
    expect(queued().map((e) => e.id)).toEqual([ids[2]]);
    expect(sleeps).toEqual([]);
  });

  it('drops a batch the server refuses as a whole with a 4xx, and keeps it on 404', async () => {
    const rejected: RejectedEvent[] = [];
    await updater().report({ type: 'check' });
    server.intercept = () => json({ error: { code: 'unknown_app', message: 'no app' } }, 404);
    await updater().flush();
    expect(queued()).toHaveLength(1);
    server.intercept = () => json({ error: { code: 'invalid_json', message: 'events: bad' } }, 400);
    await updater({ onRejected: (r) => rejected.push(...r) }).flush();
    expect(queued()).toEqual([]);
    expect(rejected.map((r) => r.code)).toEqual(['invalid_json']);
  });

  it('does not lose events reported while a flush is under way', async () => {
    const u = updater();
    await u.report({ type: 'check' });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.intercept = async () => {
      await gate;
      return undefined;
    };
    const flushing = u.flush();
    expect(u.flush()).toBe(flushing);
    await u.report({ type: 'download_started', to_version: '1.1.0' });
    release();
    await flushing;
    await u.flush();
    expect(sent().map((e) => e.type)).toEqual(['check', 'download_started']);
    expect(queued()).toEqual([]);
  });

  it('keeps batches under the 64 KiB intake limit whatever the events', async () => {
    for (let i = 0; i < 100; i++) {
      await updater().report({
        type: 'install_failed',
        to_version: '1.1.0',
        error_message: '\u0001'.repeat(256),
      });
    }
    await updater().flush();
    expect(server.batches.length).toBeGreaterThan(1);
    for (const batch of server.batches)
      expect(JSON.stringify({ events: batch }).length).toBeLessThan(64 * 1024);
  });
});

describe('the queue', () => {
  it('keeps at most the newest 1000 events', async () => {
    await updater().report({ type: 'check' });
    const [first] = queued();
    const many = Array.from({ length: 1000 }, () => ({ ...first, id: crypto.randomUUID() }));
    await storage.set(`updraft:${APP}:events`, JSON.stringify(many));
    await updater().report({ type: 'download_started', to_version: '1.1.0' });
    const after = queued();
    expect(after).toHaveLength(1000);
    expect(after[0]?.id).toBe(many[1]?.id);
    expect(after.at(-1)?.type).toBe('download_started');
  });

  it('treats a corrupt queue as empty rather than failing', async () => {
    await storage.set(`updraft:${APP}:events`, '{not json');
    await updater().report({ type: 'check' });
    await updater().flush();
    expect(sent()).toHaveLength(1);
  });
});
