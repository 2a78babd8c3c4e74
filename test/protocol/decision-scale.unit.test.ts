/** decide() at the size the Worker serves: up to 1,000 releases per snapshot, hashing only what it must. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DecisionInput, decide, indexChannel } from '../../src/protocol/decision.ts';
import { randomHex } from '../../src/protocol/encoding.ts';
import {
  channelPayload,
  INSIDE,
  OUTSIDE,
  PARTIAL_BP,
  type ReleaseSpec,
  releasePayload,
  SALT,
} from './fixtures.ts';

/** 1,000 releases 1.0.0 … 1.99.9 in a shuffled order; `top` overrides the newest one's rollout. */
function thousand(top: Partial<ReleaseSpec>, rest: Partial<ReleaseSpec> = {}): DecisionInput {
  const specs: ReleaseSpec[] = Array.from({ length: 1000 }, (_, i) => ({
    version: `1.${Math.floor(i / 10)}.${i % 10}`,
    salt: randomHex(16),
    requires: i % 2 === 0 ? '*' : '>=1.0.0',
    artifacts: ['linux-x64', 'darwin-any', 'windows-x64'],
    ...rest,
  }));
  specs[999] = { ...specs[999], version: '1.99.9', percent: 10_000, ...top };
  const shuffled = specs
    .map((s) => ({ s, k: Math.random() }))
    .sort((a, b) => a.k - b.k)
    .map(({ s }) => s);
  return {
    snapshot: channelPayload(shuffled),
    releases: new Map(specs.map((s) => [s.version, releasePayload(s)])),
    yanks: new Map(),
    client: { clientId: INSIDE, platform: 'linux', arch: 'x64', installed: '1.0.0' },
  };
}

describe('decide at scale', () => {
  afterEach(() => vi.restoreAllMocks());

  it('hashes nothing when the newest release is at 100 %', async () => {
    const digest = vi.spyOn(crypto.subtle, 'digest');
    const decision = await decide(thousand({}, { percent: PARTIAL_BP }));
    expect(decision).toMatchObject({ status: 'update', version: '1.99.9' });
    expect(digest).not.toHaveBeenCalled();
  });

  it('hashes once when the client is inside the newest partial rollout', async () => {
    const digest = vi.spyOn(crypto.subtle, 'digest');
    const decision = await decide(thousand({ percent: PARTIAL_BP, salt: SALT }, { percent: PARTIAL_BP }));
    expect(decision).toMatchObject({ status: 'update', version: '1.99.9' });
    expect(digest).toHaveBeenCalledTimes(1);
  });

  it('decides the same with an index kept per snapshot, for clients on any version', async () => {
    const input = thousand(
      { percent: PARTIAL_BP, salt: SALT },
      { percent: PARTIAL_BP, requires: '>=1.50.0', mandatory: false },
    );
    // A few mandatory releases and a halted one among the thousand.
    const releases = new Map(
      [...input.releases].map(([v, r]) => [v, { ...r, mandatory: ['1.20.0', '1.70.5'].includes(v) }]),
    );
    const snapshot = {
      ...input.snapshot,
      releases: input.snapshot.releases.map((e) =>
        e.version === '1.99.8' ? { ...e, rollout: { ...e.rollout, state: 'halted' as const } } : e,
      ),
    };
    const index = indexChannel(snapshot, releases);
    for (const installed of ['0.9.0', '1.0.0', '1.20.0', '1.50.0', '1.70.4', '1.99.7', '1.99.9', '2.0.0']) {
      for (const clientId of [INSIDE, OUTSIDE, 'someone-else']) {
        const client = { ...input.client, clientId, installed };
        const plain = await decide({ ...input, snapshot, releases, client });
        expect(
          await decide({ ...input, snapshot, releases, client, index }),
          `${installed} ${clientId}`,
        ).toEqual(plain);
      }
    }
  });

  it('hashes only down to the first rollout the client is inside', async () => {
    const input = thousand({ percent: PARTIAL_BP, salt: SALT });
    const digest = vi.spyOn(crypto.subtle, 'digest');
    const decision = await decide({ ...input, client: { ...input.client, clientId: OUTSIDE } });
    expect(decision).toMatchObject({ status: 'update', version: '1.99.8' });
    expect(digest).toHaveBeenCalledTimes(1);
  });
});
