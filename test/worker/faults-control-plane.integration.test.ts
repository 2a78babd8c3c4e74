/**
 * Fault: D1 fails in the middle of a control-plane change (docs/protocol.md §8: "a failure in the middle of a
 * control-plane change leaves the previous consistent state"). A real D1 trigger aborts one chosen
 * statement of the change's batch; the request answers 500 `internal_error`, and everything clients
 * and operators can see is exactly as before: D1 rows, the audit log, the KV projection and the
 * check answers. With the trigger gone, the same request succeeds.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { signDocument } from '../../src/protocol/jws.ts';
import { channelKey } from '../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  auditCount,
  bootstrapKeys,
  call,
  createApp,
  type ErrorBody,
  promote,
  publish,
  releasePayload,
  signYank,
  testArtifact,
  uniqueApp,
  uploadArtifact,
} from './support/fixtures.ts';

const TRIGGER = 'fault_injected';

/** Makes D1 abort `when` (a trigger of the form `BEFORE <event> ON <table> WHEN <condition>`). */
async function injectFault(when: string): Promise<void> {
  await env.DB.exec(
    `CREATE TRIGGER ${TRIGGER} ${when} BEGIN SELECT RAISE(ABORT, 'injected fault: D1 is failing'); END`,
  );
}

async function removeFault(): Promise<void> {
  await env.DB.exec(`DROP TRIGGER IF EXISTS ${TRIGGER}`);
}

async function rows(sql: string, app: string): Promise<unknown[]> {
  return (await env.DB.prepare(sql).bind(app).all()).results;
}

/** The answer a client on `version` gets from `channel`, as text (ETag and all), from a cold isolate. */
async function checkText(app: string, channel: string, version = '1.0.0'): Promise<string> {
  clearStateCache();
  const response = await call(
    `/v1/apps/${app}/check?client_id=c-1&version=${version}&platform=linux&arch=x64&channel=${channel}`,
    { token: null },
  );
  expect(response.status).toBe(200);
  return `${response.headers.get('ETag')} ${await response.text()}`;
}

/** Everything a failed change must leave untouched. */
async function observable(app: string, channels: readonly string[]) {
  return {
    channels: await rows(
      'SELECT name, revision, issued_at, expires, projected_revision FROM channels WHERE app = ?1 ORDER BY name',
      app,
    ),
    rollouts: await rows('SELECT * FROM rollouts WHERE app = ?1 ORDER BY channel, version', app),
    yanks: await rows('SELECT * FROM yanks WHERE app = ?1 ORDER BY version', app),
    releases: await rows(
      'SELECT app, version, release_sha256 FROM releases WHERE app = ?1 ORDER BY version',
      app,
    ),
    audit: await auditCount(app),
    kv: await Promise.all(channels.map((ch) => env.STATE.get(channelKey(app, ch)))),
    checks: await Promise.all(channels.flatMap((ch) => [checkText(app, ch), checkText(app, ch, '1.1.0')])),
  };
}

let logged: MockInstance<typeof console.error>;

beforeEach(() => {
  logged = vi.spyOn(console, 'error').mockImplementation(() => {});
});

afterEach(async () => {
  await removeFault();
  vi.restoreAllMocks();
});

/** Runs `change` with D1 failing as `when` says: 500, nothing changed; then without the fault: `expected`. */
async function failsThenSucceeds(
  app: string,
  channels: readonly string[],
  when: string,
  change: () => Promise<{ status: number; body: unknown }>,
  expected: number,
) {
  const before = await observable(app, channels);
  await injectFault(when);
  const failed = await change();
  expect({ status: failed.status, body: failed.body }).toEqual({
    status: 500,
    body: { error: { code: 'internal_error', message: 'internal error' } },
  });
  // The cause is in the logs, not in the answer.
  expect(logged).toHaveBeenCalledWith(expect.stringContaining('injected fault: D1 is failing'));
  expect(await observable(app, channels)).toEqual(before);

  await removeFault();
  const retried = await change();
  expect(retried.status).toBe(expected);
  const after = await observable(app, channels);
  expect(after.audit).toBe(before.audit + 1);
  return { before, after };
}

describe('D1 failing in the middle of a control-plane batch', () => {
  it('promote: the 3rd statement (the new rollout row) aborts after the revision bump', async () => {
    const app = await createApp(uniqueApp('fault'));
    await publish(app, '1.0.0');
    await publish(app, '1.1.0');
    expect((await promote(app, 'stable', '1.0.0')).status).toBe(200);
    // [bump channel, revision guard, INSERT rollout, audit]: the insert fails after the bump ran.
    const { before, after } = await failsThenSucceeds(
      app,
      ['stable'],
      `BEFORE INSERT ON rollouts WHEN NEW.app = '${app}'`,
      () => promote(app, 'stable', '1.1.0'),
      200,
    );
    expect(before.checks[0]).toContain('"status":"none"');
    expect(after.checks[0]).toContain('"status":"update","channel":"stable","version":"1.1.0"');
    expect(after.kv).not.toEqual(before.kv);
  });

  it('promote to a higher percentage: the 3rd statement (the rollout update) aborts', async () => {
    const app = await createApp(uniqueApp('fault'));
    await publish(app, '1.0.0');
    expect((await promote(app, 'stable', '1.0.0', 100)).status).toBe(200);
    const { before, after } = await failsThenSucceeds(
      app,
      ['stable'],
      `BEFORE UPDATE ON rollouts WHEN NEW.app = '${app}'`,
      () => promote(app, 'stable', '1.0.0', 5000),
      200,
    );
    expect(before.rollouts).toMatchObject([{ percent_bp: 100 }]);
    expect(after.rollouts).toMatchObject([{ percent_bp: 5000 }]);
  });

  it('yank across two channels: the 3rd statement (the second channel’s bump) aborts after the first channel moved', async () => {
    const app = await createApp(uniqueApp('fault'), [
      { name: 'stable', public: true },
      { name: 'beta', public: true },
    ]);
    for (const version of ['1.0.0', '1.1.0']) {
      await publish(app, version);
      for (const channel of ['stable', 'beta'])
        expect((await promote(app, channel, version)).status).toBe(200);
    }
    // [bump beta, guard, bump stable, guard, INSERT yank, audit] (channels by name): stable's bump
    // fails after beta's ran in the same transaction.
    const yank = await signYank(app, '1.1.0', '1.0.0');
    const { before, after } = await failsThenSucceeds(
      app,
      ['beta', 'stable'],
      `BEFORE UPDATE OF revision ON channels WHEN NEW.app = '${app}' AND OLD.name = 'stable'`,
      () => admin(`/apps/${app}/yanks`, { method: 'POST', body: { yank } }),
      201,
    );
    expect(before.yanks).toEqual([]);
    // Once it went through, a client on the yanked 1.1.0 is rolled back on both channels.
    for (const channel of ['beta', 'stable']) {
      expect(await checkText(app, channel, '1.1.0')).toContain('"status":"rollback"');
    }
    expect(after.yanks).toHaveLength(1);
  });

  it('pause: the last statement (the audit row) aborts, so the change without its audit row never exists', async () => {
    const app = await createApp(uniqueApp('fault'));
    await publish(app, '1.0.0');
    expect((await promote(app, 'stable', '1.0.0', 2500)).status).toBe(200);
    await failsThenSucceeds(
      app,
      ['stable'],
      `BEFORE INSERT ON audit WHEN NEW.app = '${app}'`,
      () =>
        admin<ErrorBody>(`/apps/${app}/channels/stable/rollouts/1.0.0/pause`, { method: 'POST', body: {} }),
      200,
    );
  });

  it('release registration: the audit row aborts; the release is not registered, and registering it again works', async () => {
    const app = await createApp(uniqueApp('fault'));
    await publish(app, '1.0.0');
    expect((await promote(app, 'stable', '1.0.0')).status).toBe(200);
    const keys = await bootstrapKeys();
    const artifact = testArtifact(app, '1.1.0');
    expect((await uploadArtifact(app, '1.1.0', artifact)).status).toBe(201);
    const manifest = await signDocument(
      'release',
      await releasePayload(app, '1.1.0', [artifact]),
      keys.release,
    );
    const { before, after } = await failsThenSucceeds(
      app,
      ['stable'],
      `BEFORE INSERT ON audit WHEN NEW.app = '${app}'`,
      () => admin(`/apps/${app}/releases`, { method: 'POST', body: { manifest } }),
      201,
    );
    expect(before.releases).toHaveLength(1);
    expect(after.releases).toHaveLength(2);
  });
});
