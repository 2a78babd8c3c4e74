import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { decodeDocument } from '../../src/protocol/jws.ts';
import { KEYS_KEY } from '../../src/worker/storage/projection.ts';
import { errorOf, fetchWorker, seedKeys } from './support/seed-projection.ts';

// Keys documents are global, not per app, and other test files may register their own: these tests
// use version numbers nobody else reaches, and compare GET /v1/keys with whatever KV holds.
const version = 900_000 + Math.floor(Math.random() * 90_000);

describe('GET /v1/keys', () => {
  it('answers the current keys document', async () => {
    if ((await env.STATE.get(KEYS_KEY)) === null) await seedKeys(version, true);
    const response = await fetchWorker('/v1/keys');
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=60');
    const body: { keys: string } = await response.json();
    const current: { jws: string } | null = await env.STATE.get(KEYS_KEY, 'json');
    expect(body).toEqual({ keys: current?.jws });
    expect(decodeDocument(body.keys).header.typ).toBe('updraft-keys+jwt');
  });

  it('answers an older version from R2, immutably', async () => {
    const jws = await seedKeys(version + 1, false);
    const response = await fetchWorker(`/v1/keys/${version + 1}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(await response.json()).toEqual({ keys: jws });
  });

  it('answers 404 unknown_keys_version for a version never registered', async () => {
    const response = await fetchWorker('/v1/keys/999999999');
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe('unknown_keys_version');
  });

  it.each(['0', '-1', 'one', '1.0', '01', '1234567890'])(
    'answers 400 invalid_param for version %s',
    async (bad) => {
      const response = await fetchWorker(`/v1/keys/${bad}`);
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toEqual({
        code: 'invalid_param',
        message: 'version: must be a positive integer',
      });
    },
  );
});
