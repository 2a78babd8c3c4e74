import { describe, expect, it } from 'vitest';
import {
  eventSchema,
  eventVersion,
  installedVersionAfter,
  type TelemetryEvent,
  type TelemetryEventInput,
} from '../../src/protocol/telemetry.ts';

const NOW = new Date('2026-11-21T18:00:00.000Z');
const schema = eventSchema(() => NOW);

const base: TelemetryEventInput = {
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  type: 'install_succeeded',
  client_id: 'client-1',
  channel: 'stable',
  from_version: '1.0.0',
  to_version: '1.1.0',
  platform: 'linux',
  arch: 'x64',
  occurred_at: '2026-11-21T17:59:00Z',
};

/** The first issue as "path: message", or "ok". */
function verdict(input: Record<string, unknown>): string {
  const parsed = schema.safeParse(input);
  if (parsed.success) return 'ok';
  const issue = parsed.error.issues[0];
  return `${issue?.path.join('.')}: ${issue?.message}`;
}

describe('eventSchema', () => {
  it('accepts a full event and normalises id and occurred_at', () => {
    const parsed = schema.parse({
      ...base,
      id: base.id.toUpperCase(),
      os_version: '14.2',
      error_code: 'E.disk:full_1-2',
      error_message: 'x'.repeat(256),
      duration_ms: 86_400_000,
      occurred_at: '2026-11-21T19:30:00.123456+02:00',
    });
    expect(parsed.id).toBe(base.id);
    expect(parsed.occurred_at).toBe('2026-11-21T17:30:00.123Z');
  });

  it('drops unknown fields (a newer SDK may send more)', () => {
    expect(schema.parse({ ...base, extra: 1 })).not.toHaveProperty('extra');
  });

  it.each([
    [{ id: 'not-a-uuid' }, 'id:'],
    [{ type: 'crash' }, 'type:'],
    [{ client_id: 'has space' }, 'client_id:'],
    [{ client_id: 'x'.repeat(129) }, 'client_id:'],
    [{ channel: 'Stable' }, 'channel:'],
    [{ to_version: 'v1' }, 'to_version:'],
    [{ platform: 'beos' }, 'platform:'],
    [{ arch: 'mips' }, 'arch:'],
    [{ os_version: 'fourteen' }, 'os_version:'],
    [{ error_code: '' }, 'error_code:'],
    [{ error_code: 'x'.repeat(65) }, 'error_code:'],
    [{ error_code: 'bad code' }, 'error_code:'],
    [{ error_message: 'x'.repeat(257) }, 'error_message:'],
    [{ duration_ms: -1 }, 'duration_ms:'],
    [{ duration_ms: 1.5 }, 'duration_ms:'],
    [{ duration_ms: 86_400_001 }, 'duration_ms:'],
    [{ occurred_at: '2026-11-21 17:00:00' }, 'occurred_at:'],
    [{ occurred_at: '2026-11-22T18:00:01Z' }, 'occurred_at: is more than 24 h in the future'],
    [{ occurred_at: '2025-10-16T17:59:59Z' }, 'occurred_at: is more than 400 days in the past'],
  ])('rejects %o', (change, expected) => {
    expect(verdict({ ...base, ...change })).toMatch(new RegExp(`^${expected.replace('.', '\\.')}`));
  });

  it('accepts the edges of the time window', () => {
    expect(verdict({ ...base, occurred_at: '2026-11-22T18:00:00Z' })).toBe('ok');
    expect(verdict({ ...base, occurred_at: '2025-10-17T18:00:00Z' })).toBe('ok');
  });

  it('judges time against the injected clock', () => {
    const later = eventSchema(() => new Date('2027-01-01T00:00:00Z'));
    expect(later.safeParse({ ...base, occurred_at: '2026-12-31T00:00:00Z' }).success).toBe(true);
    expect(schema.safeParse({ ...base, occurred_at: '2026-12-31T00:00:00Z' }).success).toBe(false);
  });

  it('requires the versions each type is about', () => {
    const { from_version: _f, to_version: _t, ...bare } = base;
    expect(verdict({ ...bare, type: 'install_succeeded' })).toBe(
      'to_version: is required for install_succeeded',
    );
    expect(verdict({ ...bare, type: 'download_started' })).toBe(
      'to_version: is required for download_started',
    );
    expect(verdict({ ...bare, type: 'check' })).toBe('from_version: is required for check');
    expect(verdict({ ...bare, type: 'rollback', from_version: '1.1.0' })).toBe(
      'to_version: is required for rollback',
    );
    expect(verdict({ ...bare, type: 'rollback', to_version: '1.0.0' })).toBe(
      'from_version: is required for rollback',
    );
    expect(verdict({ ...bare, type: 'check', from_version: '1.0.0' })).toBe('ok');
    expect(verdict({ ...bare, type: 'install_failed', to_version: '1.1.0' })).toBe('ok');
  });
});

describe('eventVersion and installedVersionAfter', () => {
  const event = (type: TelemetryEvent['type']): TelemetryEvent =>
    schema.parse({ ...base, type, from_version: '1.0.0', to_version: '2.0.0' });

  it.each([
    ['check', '1.0.0', '1.0.0'],
    ['download_started', '2.0.0', '1.0.0'],
    ['download_succeeded', '2.0.0', '1.0.0'],
    ['download_failed', '2.0.0', '1.0.0'],
    ['install_succeeded', '2.0.0', '2.0.0'],
    ['install_failed', '2.0.0', '1.0.0'],
    ['rollback', '1.0.0', '2.0.0'],
  ] as const)('%s is about %s and leaves the client on %s', (type, about, after) => {
    expect(eventVersion(event(type))).toBe(about);
    expect(installedVersionAfter(event(type))).toBe(after);
  });
});
