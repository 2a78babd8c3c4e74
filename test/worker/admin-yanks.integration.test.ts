import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { yankDocKey } from '../../src/worker/storage/projection.ts';
import {
  admin,
  auditCount,
  type ChannelViewBody,
  createApp,
  type ErrorBody,
  onlinePublic,
  projected,
  promote,
  publish,
  signYank,
} from './support/fixtures.ts';

const yankCount = async (app: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM yanks WHERE app = ?1').bind(app).first<{ n: number }>())
    ?.n;

describe('yanks', () => {
  it('registers a yank and re-signs every channel of the app', async () => {
    const app = await createApp(undefined, [
      { name: 'stable', public: true },
      { name: 'beta', public: true },
      { name: 'internal', public: false },
    ]);
    const good = await publish(app, '1.0.0');
    await publish(app, '1.1.0');
    await promote(app, 'stable', '1.1.0', 5000);
    await promote(app, 'beta', '1.1.0');
    const before = await Promise.all(['stable', 'beta', 'internal'].map((ch) => projected(app, ch)));
    expect(before.map((p) => p?.payload.revision)).toEqual([2, 2, 1]);

    const yank = await signYank(app, '1.1.0', '1.0.0', 'corrupts settings');
    const res = await admin<{ version: string; rollback_to: string; yank_sha256: string }>(
      `/apps/${app}/yanks`,
      {
        method: 'POST',
        body: { yank },
      },
    );
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ version: '1.1.0', rollback_to: '1.0.0', yank_sha256: await sha256Hex(yank) });
    expect(await env.BUCKET.get(yankDocKey(app, '1.1.0')).then((o) => o?.text())).toBe(yank);

    for (const [i, channel] of ['stable', 'beta', 'internal'].entries()) {
      const kv = await projected(app, channel);
      const payload = await verifyDocument('channel', kv?.snapshot ?? '', [onlinePublic()]);
      expect(payload.revision).toBe((before[i]?.payload.revision ?? 0) + 1);
      expect(payload.yanked).toEqual([
        { version: '1.1.0', yank_sha256: res.body.yank_sha256, rollback_to: '1.0.0' },
      ]);
      expect(kv?.yanks).toEqual({ '1.1.0': yank });
      // The rollback target travels with the snapshot even where it is not listed.
      expect(kv?.releases['1.0.0']).toBe(good);
    }
    const status = await admin<{ channels: ChannelViewBody[] }>(`/apps/${app}/status`);
    expect(status.body.channels.map((c) => c.yanked)).toEqual(
      Array(3).fill([{ version: '1.1.0', rollback_to: '1.0.0', reason: 'corrupts settings' }]),
    );
    const release = await admin<{ yanked: boolean }>(`/apps/${app}/releases/1.1.0`);
    expect(release.body.yanked).toBe(true);
  });

  it('refuses bad yanks with 4xx and changes nothing', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await publish(app, '1.1.0');
    await publish(app, '1.2.0');
    expect(
      (
        await admin(`/apps/${app}/yanks`, {
          method: 'POST',
          body: { yank: await signYank(app, '1.0.0', null) },
        })
      ).status,
    ).toBe(201);
    const audits = await auditCount(app);
    const revision = (await projected(app, 'stable'))?.payload.revision;

    const cases: [string, number, string][] = [
      [await signYank(app, '1.0.0', null), 409, 'already_yanked'],
      [await signYank(app, '9.0.0', null), 404, 'unknown_release'],
      [await signYank(app, '1.2.0', '1.0.0'), 400, 'invalid_rollback_target'],
      [await signYank(app, '1.1.0', '1.2.0'), 400, 'invalid_rollback_target'],
      [await signYank(app, '1.2.0', '0.9.0'), 400, 'invalid_rollback_target'],
      [await signYank('other-app', '1.2.0', null), 400, 'app_mismatch'],
      ['not.a.jws', 400, 'malformed'],
    ];
    for (const [yank, status, code] of cases) {
      const res = await admin<ErrorBody>(`/apps/${app}/yanks`, { method: 'POST', body: { yank } });
      expect([res.status, res.body.error.code]).toEqual([status, code]);
    }
    expect(await yankCount(app)).toBe(1);
    expect(await auditCount(app)).toBe(audits);
    expect((await projected(app, 'stable'))?.payload.revision).toBe(revision);
  });
});
