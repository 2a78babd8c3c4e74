/**
 * Server-side property S7 (docs/security.md, docs/protocol.md §4): a token limited to apps cannot act on
 * other apps or on the deployment, even together with the release key (which signs for every app).
 * The thief holds the CI tokens of app A; app B's clients, the tokens and the keys stay as they were.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { signDocument } from '../../src/protocol/jws.ts';
import {
  admin,
  bootstrapKeys,
  call,
  createApp,
  type ErrorBody,
  keysDocument,
  promote,
  publish,
  releasePayload,
  signYank,
  testArtifact,
  uniqueApp,
  uploadArtifact,
} from '../worker/support/fixtures.ts';
import { fingerprint } from '../worker/support/state-fingerprint.ts';

let appA = '';
let appB = '';
/** Tokens limited to app A, as stolen from its CI. */
let publisherA = '';
let adminA = '';

async function stolenTokenFor(app: string, role: 'admin' | 'publisher'): Promise<string> {
  const created = await admin<{ token: string }>('/tokens', {
    method: 'POST',
    body: { name: `ci ${app} ${role}`, role, apps: [app] },
  });
  expect(created.status).toBe(201);
  return created.body.token;
}

const checkOf = async (app: string) =>
  (
    await call(`/v1/apps/${app}/check?client_id=c-1&version=1.0.0&platform=linux&arch=x64`, { token: null })
  ).json();

beforeAll(async () => {
  await bootstrapKeys();
  appA = await createApp(uniqueApp('sec-scope-a'));
  appB = await createApp(uniqueApp('sec-scope-b'));
  for (const app of [appA, appB]) {
    await publish(app, '1.0.0');
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
  }
  publisherA = await stolenTokenFor(appA, 'publisher');
  adminA = await stolenTokenFor(appA, 'admin');
});

describe("a stolen token limited to app A, with the deployment's release key", () => {
  it('cannot yank, roll back, halt or re-register app B (403 app_forbidden); B clients get the same answer', async () => {
    const keys = await bootstrapKeys();
    const before = await fingerprint();
    const checkBefore = await checkOf(appB);
    const yank = await signYank(appB, '1.1.0', '1.0.0', 'stolen CI token');
    const artifact = testArtifact(appB, '1.2.0');
    const manifest = await signDocument(
      'release',
      await releasePayload(appB, '1.2.0', [artifact]),
      keys.release,
    );
    const attempts: [string, string, unknown][] = [
      ['POST', `/apps/${appB}/yanks`, { yank }],
      ['POST', `/apps/${appB}/channels/stable/rollouts/1.1.0/halt`, { reason: 'x' }],
      ['POST', `/apps/${appB}/channels/stable/rollouts`, { version: '1.0.0', percent_bp: 10_000 }],
      ['POST', `/apps/${appB}/releases`, { manifest }],
      ['PUT', `/apps/${appB}/rules`, { rules: [] }],
      ['PUT', `/apps/${appB}/settings`, { webhook_url: 'https://evil.example/hook' }],
      ['GET', `/apps/${appB}/status`, undefined],
      ['GET', `/audit?app=${appB}`, undefined],
    ];
    for (const token of [publisherA, adminA]) {
      for (const [method, path, body] of attempts) {
        const answer = await admin<ErrorBody>(path, { method, body, token });
        expect(answer.status, `${method} ${path}`).toBe(403);
        expect(answer.body.error.code).toMatch(/^(app_forbidden|forbidden)$/);
      }
    }
    // Nor can it put bytes under B's paths, or smuggle B's manifest in through A's route.
    expect((await uploadArtifact(appB, '1.2.0', artifact, { token: publisherA })).status).toBe(403);
    const smuggled = await admin<ErrorBody>(`/apps/${appA}/releases`, {
      method: 'POST',
      body: { manifest },
      token: publisherA,
    });
    expect(smuggled.status).toBe(400);
    expect(smuggled.body.error.code).toBe('app_mismatch');
    expect(await fingerprint()).toEqual(before);
    expect(await checkOf(appB)).toEqual(checkBefore);
  });

  it('cannot mint tokens, create apps, register keys, export or import (403 scope_forbidden)', async () => {
    const keys = await bootstrapKeys();
    const before = await fingerprint();
    const chained = await keysDocument(2, { root: keys.root, release: keys.release });
    const attempts: [string, string, unknown][] = [
      ['POST', '/tokens', { name: 'persist', role: 'admin' }],
      ['POST', '/tokens', { name: 'persist', role: 'admin', apps: [appA] }],
      ['GET', '/tokens', undefined],
      ['POST', '/apps', { name: uniqueApp('squat'), default_channel: 'stable', channels: [] }],
      ['POST', '/keys', { keys: chained }],
      ['GET', '/export', undefined],
      ['GET', `/export?app=${appA}`, undefined],
      ['GET', '/export/audit', undefined],
      ['POST', '/import', {}],
      ['GET', '/audit', undefined],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await admin<ErrorBody>(path, { method, body, token: adminA });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body.error.code).toBe('scope_forbidden');
    }
    expect(await fingerprint()).toEqual(before);
  });

  it('still does its job on app A (the positive side)', async () => {
    const halted = await admin(`/apps/${appA}/channels/stable/rollouts/1.1.0/halt`, {
      method: 'POST',
      body: { reason: 'bad build' },
      token: publisherA,
    });
    expect(halted.status).toBe(200);
    const listed = await admin<{ apps: { name: string }[] }>('/apps', { token: adminA });
    expect(listed.body.apps.map((a) => a.name)).toEqual([appA]);
  });
});
