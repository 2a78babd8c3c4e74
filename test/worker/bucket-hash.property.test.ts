/**
 * The Worker's synchronous bucket (plain-JS SHA-256, src/worker/decision/bucket-hash.ts) against the protocol's
 * WebCrypto one, which stays the definition (docs/protocol.md §3): equal on the design's test vectors and on
 * random salts and client ids, valid or not; and the Worker's synchronous decision and channel routing
 * equal to `decide` and `explainChannel`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucket, bucketOfDigest, isInside, isInsideSync } from '../../src/protocol/bucket.ts';
import { type AppConfig, chooseChannelSync, explainChannel } from '../../src/protocol/channels.ts';
import { decide, decideSync } from '../../src/protocol/decision.ts';
import { bucketSync } from '../../src/worker/decision/bucket-hash.ts';
import { sha256FirstWord } from '../../src/worker/decision/sha256-first-word.ts';
import { decisionInput, hex, percentArb, saltArb, versionArb, worldArb } from '../protocol/arbitraries.ts';

/** Client ids as the schema allows them: 1–128 of `[A-Za-z0-9._:-]`. */
const clientIdArb = fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/);
/** Any UTF-16, lone surrogates and controls included, and the empty string. */
const anyText = fc.string({ unit: 'binary', maxLength: 80 });
/** Whole code points beyond ASCII (accents, CJK, emoji: 2 to 4 UTF-8 bytes each). */
const unicodeText = fc.string({ unit: 'grapheme', maxLength: 40 });

describe('bucketSync', () => {
  it('gives the docs/protocol.md §3 test vectors', () => {
    expect(bucketSync('s', 'c')).toBe(8468);
    expect(bucketSync('00112233445566778899aabbccddeeff', 'client-1')).toBe(1118);
    expect(bucketSync('00112233445566778899aabbccddeeff', 'client-2')).toBe(4977);
  });

  it('equals bucket on the empty strings and on non-ASCII edge cases', async () => {
    const cases: [string, string][] = [
      ['', ''],
      ['', 'c'],
      ['s', ''],
      [':', ':'],
      ['sälz', 'clïent'],
      ['塩', '客户端-1'],
      ['🧂', '👩‍💻'],
      ['\u0000', '\uffff'],
      // Lone surrogates: both encoders write U+FFFD for them.
      ['\ud800', '\udfff'],
      ['a\ud83d', '\ude00b'],
    ];
    for (const [salt, clientId] of cases) {
      expect(bucketSync(salt, clientId), JSON.stringify([salt, clientId])).toBe(await bucket(salt, clientId));
    }
  });

  it('equals bucket for valid salts and client ids', async () => {
    await fc.assert(
      fc.asyncProperty(hex(32), clientIdArb, async (salt, clientId) => {
        expect(bucketSync(salt, clientId)).toBe(await bucket(salt, clientId));
      }),
      { seed: 1601, numRuns: 3000 },
    );
  });

  it('equals bucket for any text, non-ASCII and empty included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyText, unicodeText), fc.oneof(anyText, unicodeText), async (salt, id) => {
        expect(bucketSync(salt, id)).toBe(await bucket(salt, id));
      }),
      { seed: 1602, numRuns: 3000 },
    );
  });

  it('hashes every length around the 64-byte blocks, in 1-, 2-, 3- and 4-byte characters', async () => {
    for (const unit of ['a', 'é', '€', '😀']) {
      for (let length = 0; length <= 200; length++) {
        const text = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
        expect(sha256FirstWord(text), `${unit} × ${length}`).toBe(
          new DataView(digest.buffer).getUint32(0, false),
        );
      }
    }
    // Longer than any input before it: the reused buffer grows.
    expect(bucketSync('x'.repeat(5000), 'y')).toBe(await bucket('x'.repeat(5000), 'y'));
  });

  it('reads the first 4 bytes of the digest, big-endian, whatever view it is given', () => {
    const bytes = new Uint8Array([9, 0xff, 0xff, 0xff, 0xff, 1, 2]);
    expect(bucketOfDigest(bytes.subarray(1))).toBe(0xffff_ffff % 10_000);
    expect(bucketOfDigest(new Uint8Array([0, 0, 0x27, 0x10]))).toBe(0);
    expect(() => bucketOfDigest(new Uint8Array(3))).toThrow(RangeError);
  });

  it('places clients in rollouts as isInside does', async () => {
    await fc.assert(
      fc.asyncProperty(hex(32), clientIdArb, fc.integer({ min: -1, max: 10_001 }), async (salt, id, bp) => {
        expect(isInsideSync(bp, salt, id, bucketSync)).toBe(await isInside(bp, salt, id));
      }),
      { seed: 1603, numRuns: 2000 },
    );
  });
});

describe('decideSync with bucketSync', () => {
  it('decides as decide does, on random channels and clients', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        for (const order of ['as generated', 'reversed'] as const) {
          const input = decisionInput(world, order);
          expect(decideSync(input, bucketSync)).toEqual(await decide(input));
          const unknown = { ...input, client: { ...input.client, installed: undefined } };
          expect(decideSync(unknown, bucketSync)).toEqual(await decide(unknown));
        }
      }),
      { seed: 1604, numRuns: 1000 },
    );
  });
});

/** Apps with cohort rules (some with other conditions, some without a salt) over a few channels. */
const CHANNELS = ['stable', 'beta', 'canary'] as const;
const ruleArb = fc.record({
  channel: fc.constantFrom(...CHANNELS, 'gone'),
  match: fc.record(
    {
      percent_bp: percentArb,
      salt: saltArb,
      platforms: fc.subarray(['linux', 'darwin', 'windows'] as const, { minLength: 1 }),
      versions: fc.constantFrom('>=1.0.0', '<2.0.0', '^1.2.0'),
    },
    { requiredKeys: ['percent_bp'] },
  ),
});
const configArb: fc.Arbitrary<AppConfig> = fc.record({
  app: fc.constant('app'),
  default_channel: fc.constantFrom(...CHANNELS),
  channels: fc.subarray(
    CHANNELS.map((name) => ({ name, public: name !== 'canary' })),
    { minLength: 1 },
  ),
  rules: fc.array(ruleArb, { maxLength: 4 }),
});

describe('chooseChannelSync with bucketSync', () => {
  it('routes as explainChannel does, cohort rules included', async () => {
    let cohorts = 0;
    await fc.assert(
      fc.asyncProperty(
        configArb,
        clientIdArb,
        fc.constantFrom('linux', 'darwin', 'windows') as fc.Arbitrary<'linux' | 'darwin' | 'windows'>,
        fc.option(versionArb, { nil: undefined }),
        fc.option(fc.constantFrom(...CHANNELS, 'nope'), { nil: undefined }),
        async (config, clientId, platform, installed, requested) => {
          const request = { clientId, platform, installed, requested };
          const explained = await explainChannel(config, request);
          if (explained.rules.some((r) => r.outcome === 'failed' && r.condition === 'percent_bp')) cohorts++;
          expect(chooseChannelSync(config, request, bucketSync)).toBe(explained.channel);
        },
      ),
      { seed: 1605, numRuns: 2000 },
    );
    // The property must have met clients outside a cohort, or it proved nothing about the hash.
    expect(cohorts).toBeGreaterThan(100);
  });
});
