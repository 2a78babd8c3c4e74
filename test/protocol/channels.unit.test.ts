import { describe, expect, it } from 'vitest';
import {
  type AppConfig,
  type ChannelRule,
  chooseChannel,
  type RoutingRequest,
} from '../../src/protocol/channels.ts';
import { INSIDE, OUTSIDE, PARTIAL_BP, SALT } from './fixtures.ts';

const config = (rules: ChannelRule[] = []): AppConfig => ({
  app: 'demo',
  default_channel: 'stable',
  channels: [
    { name: 'stable', public: true },
    { name: 'beta', public: true },
    { name: 'canary', public: false },
  ],
  rules,
});

const request = (overrides: Partial<RoutingRequest> = {}): RoutingRequest => ({
  clientId: INSIDE,
  platform: 'linux',
  installed: '1.0.0',
  ...overrides,
});

const to = (channel: string, match: ChannelRule['match']): ChannelRule => ({ channel, match });

describe('chooseChannel', () => {
  const cases: {
    name: string;
    rules?: ChannelRule[];
    request?: Partial<RoutingRequest>;
    expected: string;
  }[] = [
    { name: 'no rules, nothing requested: the default', expected: 'stable' },
    { name: 'a requested public channel', request: { requested: 'beta' }, expected: 'beta' },
    {
      name: 'a requested private channel: the default',
      request: { requested: 'canary' },
      expected: 'stable',
    },
    {
      name: 'a requested unknown channel: the default',
      request: { requested: 'nightly' },
      expected: 'stable',
    },
    {
      name: 'a rule on client IDs',
      rules: [to('canary', { client_ids: ['tester-1', INSIDE] })],
      expected: 'canary',
    },
    {
      name: 'a rule on client IDs, client not listed: the requested channel',
      rules: [to('canary', { client_ids: ['tester-1'] })],
      request: { requested: 'beta' },
      expected: 'beta',
    },
    {
      name: 'a rule beats the requested channel',
      rules: [to('canary', { client_ids: [INSIDE] })],
      request: { requested: 'beta' },
      expected: 'canary',
    },
    {
      name: 'a cohort, client inside',
      rules: [to('beta', { percent_bp: PARTIAL_BP, salt: SALT })],
      expected: 'beta',
    },
    {
      name: 'a cohort, client outside',
      rules: [to('beta', { percent_bp: PARTIAL_BP, salt: SALT })],
      request: { clientId: OUTSIDE },
      expected: 'stable',
    },
    { name: 'a cohort of everyone', rules: [to('beta', { percent_bp: 10_000 })], expected: 'beta' },
    { name: 'a cohort of no one', rules: [to('beta', { percent_bp: 0, salt: SALT })], expected: 'stable' },
    {
      name: 'a platform rule, matching',
      rules: [to('beta', { platforms: ['darwin', 'linux'] })],
      expected: 'beta',
    },
    {
      name: 'a platform rule, not matching',
      rules: [to('beta', { platforms: ['windows'] })],
      expected: 'stable',
    },
    {
      name: 'a country rule, matching',
      rules: [to('beta', { countries: ['NZ', 'AU'] })],
      request: { country: 'NZ' },
      expected: 'beta',
    },
    {
      name: 'a country rule, other country',
      rules: [to('beta', { countries: ['NZ'] })],
      request: { country: 'US' },
      expected: 'stable',
    },
    {
      name: 'a country rule, country unknown',
      rules: [to('beta', { countries: ['NZ'] })],
      expected: 'stable',
    },
    {
      name: 'a version-range rule, matching',
      rules: [to('beta', { versions: '>=1.0.0 <2' })],
      expected: 'beta',
    },
    {
      name: 'a version-range rule, not matching',
      rules: [to('beta', { versions: '>=2' })],
      expected: 'stable',
    },
    {
      name: 'a version-range rule admits prereleases',
      rules: [to('beta', { versions: '>=1.0.0' })],
      request: { installed: '1.1.0-rc.1' },
      expected: 'beta',
    },
    {
      name: 'every condition must hold',
      rules: [to('beta', { platforms: ['linux'], countries: ['NZ'] })],
      request: { country: 'US' },
      expected: 'stable',
    },
    {
      name: 'all conditions holding',
      rules: [to('beta', { platforms: ['linux'], countries: ['NZ'], percent_bp: PARTIAL_BP, salt: SALT })],
      request: { country: 'NZ' },
      expected: 'beta',
    },
    { name: 'a rule with no conditions matches everyone', rules: [to('canary', {})], expected: 'canary' },
    {
      name: 'rules in order: the first match wins',
      rules: [to('canary', { platforms: ['windows'] }), to('beta', {}), to('canary', {})],
      expected: 'beta',
    },
    {
      name: 'a rule to an unknown channel is skipped',
      rules: [to('nightly', {}), to('beta', { client_ids: [INSIDE] })],
      expected: 'beta',
    },
    { name: 'only unknown-channel rules: the default', rules: [to('nightly', {})], expected: 'stable' },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      expect(await chooseChannel(config(c.rules), request(c.request))).toBe(c.expected);
    });
  }

  it('falls back to the first channel when the default channel is missing', async () => {
    const broken: AppConfig = { ...config(), default_channel: 'gone' };
    expect(await chooseChannel(broken, request())).toBe('stable');
  });
});
