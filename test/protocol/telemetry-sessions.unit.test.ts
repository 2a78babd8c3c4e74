import { describe, expect, it } from 'vitest';
import {
  eventSchema,
  eventVersion,
  installedVersionAfter,
  sessionEventId,
  type TelemetryEventInput,
} from '../../src/protocol/telemetry.ts';

const NOW = new Date('2026-11-21T18:30:00.000Z');
const schema = eventSchema(() => NOW);
const HOUR = '2026-11-21T17:00:00.000Z';

const report = async (over: Partial<TelemetryEventInput> = {}): Promise<TelemetryEventInput> => ({
  id: await sessionEventId('demo', 'client-1', '1.2.0', HOUR),
  type: 'session',
  client_id: 'client-1',
  channel: 'stable',
  from_version: '1.2.0',
  platform: 'linux',
  arch: 'x64',
  sessions: { ok: 3, errored: 0, crashed: 1, abnormal: 0 },
  occurred_at: HOUR,
  ...over,
});

describe('session events', () => {
  it('accept an hourly report about the version the sessions ran, with a derived id', async () => {
    const parsed = schema.parse(await report({ occurred_at: '2026-11-21T18:00:00+01:00' }));
    expect(parsed.occurred_at).toBe(HOUR);
    expect(eventVersion(parsed)).toBe('1.2.0');
    expect(installedVersionAfter(parsed)).toBe('1.2.0');
  });

  it('derive one id per app, client, version and hour', async () => {
    const id = await sessionEventId('demo', 'client-1', '1.2.0', HOUR);
    expect(id).toBe(await sessionEventId('demo', 'client-1', '1.2.0', HOUR));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const others = await Promise.all([
      sessionEventId('other', 'client-1', '1.2.0', HOUR),
      sessionEventId('demo', 'client-2', '1.2.0', HOUR),
      sessionEventId('demo', 'client-1', '1.2.1', HOUR),
      sessionEventId('demo', 'client-1', '1.2.0', '2026-11-21T18:00:00.000Z'),
    ]);
    expect(new Set([id, ...others]).size).toBe(5);
  });

  it.each([
    [
      { sessions: { ok: 0, errored: 0, crashed: 0, abnormal: 0 } },
      'sessions: must count at least one session',
    ],
    [{ sessions: { ok: 100_001, errored: 0, crashed: 0, abnormal: 0 } }, 'sessions.ok: '],
    [{ sessions: { ok: 1, errored: 0, crashed: 0 } }, 'sessions.abnormal: '],
    [{ sessions: undefined }, 'sessions: is required for session'],
    [{ from_version: undefined }, 'from_version: is required for session'],
    [{ occurred_at: '2026-11-21T17:00:00.001Z' }, 'occurred_at: must be the start of a UTC hour for session'],
    [
      { occurred_at: '2026-11-21T17:00:00+05:30' },
      'occurred_at: must be the start of a UTC hour for session',
    ],
    [{ type: 'rollback', to_version: '1.1.0' }, 'sessions: is only for session events, not rollback'],
  ] as const)('refuses %j', async (over, message) => {
    const parsed = schema.safeParse({ ...(await report()), ...over });
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues[0];
    expect(`${issue?.path.join('.')}: ${issue?.message}`.startsWith(message)).toBe(true);
  });
});
