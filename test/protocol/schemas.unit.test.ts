/** The committed JSON Schemas in manifests/ must be exactly what the zod schemas generate now. */
import { describe, expect, it } from 'vitest';
import channelSchema from '../../manifests/channel.schema.json';
import keysSchema from '../../manifests/keys.schema.json';
import releaseSchema from '../../manifests/release.schema.json';
import yankSchema from '../../manifests/yank.schema.json';
import { type DocumentKind, PAYLOAD_SCHEMAS, versionSchema } from '../../src/protocol/documents.ts';
import { payloadJsonSchema, VERSION_PATTERN } from '../../src/protocol/json-schemas.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { channelPayload, keysPayload, releasePayload, yankPayload } from './fixtures.ts';

const committed: Record<DocumentKind, unknown> = {
  keys: keysSchema,
  release: releaseSchema,
  yank: yankSchema,
  channel: channelSchema,
};

describe('manifests/*.schema.json', () => {
  for (const kind of Object.keys(committed) as DocumentKind[]) {
    it(`${kind}.schema.json matches the zod schema (else run: npm exec -- node scripts/gen-schemas.ts)`, () => {
      expect(committed[kind]).toEqual(payloadJsonSchema(kind));
    });
  }

  it('states the version pattern exactly as versionSchema decides', () => {
    const pattern = new RegExp(VERSION_PATTERN);
    const samples = ['1.2.3', '0.0.0', '1.2.0-beta.1', '1.2.0-0.3.7', '1.0.0-x-y.z', '10.20.30'];
    const refused = [
      '1.2',
      'v1.2.3',
      '01.2.3',
      '1.2.3+build.5',
      '1.2.3-',
      '1.2.3-01',
      ' 1.2.3',
      'latest',
      '',
    ];
    for (const version of [...samples, ...refused]) {
      expect(pattern.test(version), version).toBe(versionSchema.safeParse(version).success);
    }
    expect(samples.every((v) => pattern.test(v))).toBe(true);
  });
});

describe('sample documents', () => {
  it('one of each kind passes its zod schema', async () => {
    const { publicJwk } = await generateKeyPair();
    const samples: Record<DocumentKind, unknown> = {
      keys: keysPayload(1, [publicJwk]),
      release: releasePayload({
        version: '1.2.0',
        requires: '>=1.0.0',
        artifacts: ['linux-x64', { target: 'darwin-arm64', os: '>=13' }, 'web-any'],
      }),
      yank: yankPayload('1.2.0', '1.1.0'),
      channel: channelPayload(
        [{ version: '1.2.0', percent: 2500 }],
        [{ version: '1.1.1', rollback_to: '1.1.0' }],
      ),
    };
    for (const kind of Object.keys(samples) as DocumentKind[]) {
      const result = PAYLOAD_SCHEMAS[kind].safeParse(samples[kind]);
      expect(result.error, kind).toBeUndefined();
      expect(result.data).toEqual(samples[kind]);
    }
  });
});
