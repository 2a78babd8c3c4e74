import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import { eventSchema, sessionEventId, type TelemetryEvent } from '../../src/protocol/telemetry.ts';
import { APP, FakeServer, NOW, updaterFor } from './fake-server.ts';

let server: FakeServer;
let storage: MemoryStorage;
let clock: Date;
beforeEach(async () => {
  server = await FakeServer.create();
  storage = new MemoryStorage();
  clock = new Date(NOW.getTime() + 10 * 60_000); // 18:10
});

const at = (hhmm: string) => {
  clock = new Date(`2026-11-21T${hhmm}:00.000Z`);
};
/** A fresh updater on the same storage: a new run of the app. */
const run = (options: Parameters<typeof updaterFor>[1] = {}) =>
  updaterFor(server, { storage, channel: 'beta', now: () => clock, sleep: async () => {}, ...options });
const sent = () => server.batches.flat() as TelemetryEvent[];
const stored = () => JSON.parse(storage.snapshot()[`updraft:${APP}:sessions`] ?? 'null');

describe('sessions', () => {
  it('counts each way a session ends in the hour it ends, and reports a finished hour once as a valid event', async () => {
    const first = run();
    await first.sessions.start();
    await first.sessions.end(); // ok
    await first.sessions.start();
    await first.sessions.markErrored();
    await first.sessions.end(); // errored
    await first.sessions.start();
    await first.sessions.markCrashed(); // crashed, and it ends
    await first.sessions.end(); // nothing open: no-op
    await first.sessions.markCrashed(); // likewise
    await first.sessions.start(); // never ended: the app dies

    at('18:50');
    const second = run();
    await second.sessions.start(); // finds the earlier run's session open: abnormal
    await second.flush();
    expect(sent()).toEqual([]); // 18:00 is not finished yet

    at('19:05');
    await second.sessions.end(); // ok, in the 19:00 hour
    await second.flush();
    const hour = '2026-11-21T18:00:00.000Z';
    expect(sent()).toEqual([
      {
        id: await sessionEventId(APP, 'client-1', '1.0.0', hour),
        type: 'session',
        client_id: 'client-1',
        channel: 'beta',
        platform: 'linux',
        arch: 'x64',
        from_version: '1.0.0',
        sessions: { ok: 1, errored: 1, crashed: 1, abnormal: 1 },
        occurred_at: hour,
      },
    ]);
    const [event] = sent();
    expect(eventSchema(() => clock).safeParse(event).success).toBe(true);
    expect(stored().hours).toEqual([
      { version: '1.0.0', hour: '2026-11-21T19:00:00.000Z', ok: 1, errored: 0, crashed: 0, abnormal: 0 },
    ]);

    await second.flush();
    expect(sent()).toHaveLength(1);
  });

  it('reports a replayed hour under the same id, so the server stores it once', async () => {
    const updater = run();
    await updater.sessions.start();
    await updater.sessions.markCrashed();
    const before = storage.snapshot();
    at('19:01');
    await updater.flush();
    // The app's storage is restored from a backup taken before the report: the hour is sent again.
    storage = new MemoryStorage(before);
    await run().flush();
    const [a, b] = sent();
    expect(a?.id).toBe(b?.id);
    expect(a).toEqual(b);
  });

  it('counts a session for the version it started on, and the next one for the version after an update', async () => {
    const updater = run();
    await updater.sessions.start();
    updater.setCurrentVersion('1.1.0');
    await updater.sessions.end();
    await updater.sessions.start();
    await updater.sessions.markCrashed();
    at('19:00');
    await updater.flush();
    expect(sent().map((e) => [e.from_version, e.sessions])).toEqual([
      ['1.0.0', { ok: 1, errored: 0, crashed: 0, abnormal: 0 }],
      ['1.1.0', { ok: 0, errored: 0, crashed: 1, abnormal: 0 }],
    ]);
    expect(new Set(sent().map((e) => e.id)).size).toBe(2);
  });

  it('keeps finished hours while no channel is known, and survives a corrupt stored value', async () => {
    const updater = run({ channel: undefined });
    await updater.sessions.start();
    await updater.sessions.end();
    at('20:00');
    await updater.flush();
    expect(sent()).toEqual([]);
    expect(stored().hours).toHaveLength(1);

    await storage.set(`updraft:${APP}:sessions`, '{"open": 7}');
    const again = run();
    await again.sessions.start();
    await again.sessions.end();
    expect(stored().hours).toEqual([
      { version: '1.0.0', hour: '2026-11-21T20:00:00.000Z', ok: 1, errored: 0, crashed: 0, abnormal: 0 },
    ]);
  });
});
