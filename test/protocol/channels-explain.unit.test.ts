import { describe, expect, it } from 'vitest';
import { type AppConfig, type ChannelRule, explainChannel } from '../../src/protocol/channels.ts';
import { INSIDE, OUTSIDE, PARTIAL_BP, SALT } from './fixtures.ts';

const config = (rules: ChannelRule[], default_channel = 'stable'): AppConfig => ({
  app: 'demo',
  default_channel,
  channels: [
    { name: 'stable', public: true },
    { name: 'beta', public: true },
    { name: 'canary', public: false },
  ],
  rules,
});

describe('explainChannel (the reasons `updraft rules test` prints)', () => {
  it('names the rule that matched and, for each earlier rule, the condition the client failed', async () => {
    const rules: ChannelRule[] = [
      { channel: 'canary', match: { client_ids: ['someone-else'] } },
      { channel: 'gone', match: {} },
      { channel: 'beta', match: { platforms: ['darwin'] } },
      { channel: 'canary', match: { percent_bp: PARTIAL_BP, salt: SALT } },
      { channel: 'beta', match: { versions: '>=1.0.0' } },
      { channel: 'stable', match: {} },
    ];
    const inside = await explainChannel(config(rules), {
      clientId: INSIDE,
      platform: 'linux',
      installed: '1.0.0',
    });
    expect(inside).toEqual({
      channel: 'canary',
      reason: { kind: 'rule', index: 3 },
      rules: [
        { index: 0, channel: 'canary', outcome: 'failed', condition: 'client_ids' },
        { index: 1, channel: 'gone', outcome: 'unknown_channel' },
        { index: 2, channel: 'beta', outcome: 'failed', condition: 'platforms' },
        { index: 3, channel: 'canary', outcome: 'matched' },
      ],
    });
    const outside = await explainChannel(config(rules), {
      clientId: OUTSIDE,
      platform: 'linux',
      installed: '1.0.0',
    });
    expect(outside.channel).toBe('beta');
    expect(outside.rules.slice(3)).toEqual([
      { index: 3, channel: 'canary', outcome: 'failed', condition: 'percent_bp' },
      { index: 4, channel: 'beta', outcome: 'matched' },
    ]);
    const unknownVersion = await explainChannel(config(rules.slice(4, 5)), {
      clientId: OUTSIDE,
      platform: 'linux',
      installed: undefined,
    });
    expect(unknownVersion.rules).toEqual([
      { index: 0, channel: 'beta', outcome: 'failed', condition: 'versions' },
    ]);
  });

  it('without a matching rule: the requested public channel, else the default, saying why the request was ignored', async () => {
    const base = { clientId: INSIDE, platform: 'linux' as const, installed: '1.0.0' };
    expect((await explainChannel(config([]), { ...base, requested: 'beta' })).reason).toEqual({
      kind: 'requested',
    });
    expect(await explainChannel(config([]), { ...base, requested: 'canary' })).toEqual({
      channel: 'stable',
      reason: { kind: 'default', requested: 'private' },
      rules: [],
    });
    expect((await explainChannel(config([]), { ...base, requested: 'nope' })).reason).toEqual({
      kind: 'default',
      requested: 'unknown',
    });
    expect((await explainChannel(config([]), base)).reason).toEqual({ kind: 'default' });
    expect(await explainChannel(config([], 'removed'), base)).toMatchObject({
      channel: 'stable',
      reason: { kind: 'first_channel' },
    });
    const geo = config([{ channel: 'beta', match: { countries: ['DE'] } }]);
    expect((await explainChannel(geo, { ...base, country: 'DE' })).channel).toBe('beta');
    expect((await explainChannel(geo, base)).rules).toEqual([
      { index: 0, channel: 'beta', outcome: 'failed', condition: 'countries' },
    ]);
  });
});
