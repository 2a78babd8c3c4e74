import { describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { admin, call, createApp, promote, publish, signYank } from './support/fixtures.ts';

async function check(app: string, version: string): Promise<CheckResponse> {
  clearStateCache();
  const res = await call(
    `/v1/apps/${app}/check?client_id=client-1&version=${version}&platform=linux&arch=x64`,
    {
      token: null,
    },
  );
  expect(res.status).toBe(200);
  return res.json();
}

describe('admin API → data plane', () => {
  it('what the control plane publishes, promotes and yanks is what clients are told', async () => {
    const app = await createApp();
    await publish(app, '1.0.0');
    await publish(app, '1.1.0', { mandatory: true });
    expect((await check(app, '0.9.0')).status).toBe('none');

    await promote(app, 'stable', '1.0.0');
    expect(await check(app, '0.9.0')).toMatchObject({ status: 'update', version: '1.0.0' });

    await promote(app, 'stable', '1.1.0');
    const update = await check(app, '1.0.0');
    expect(update).toMatchObject({ status: 'update', version: '1.1.0', mandatory: true });
    const bytes = await call(new URL(update.artifact?.url ?? '').pathname, { token: null });
    expect(bytes.status).toBe(200);
    expect((await bytes.arrayBuffer()).byteLength).toBe(update.artifact?.size);

    await admin(`/apps/${app}/channels/stable/rollouts/1.1.0/halt`, { method: 'POST', body: {} });
    expect((await check(app, '1.0.0')).status).toBe('none');

    const yank = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank: await signYank(app, '1.1.0', '1.0.0') },
    });
    expect(yank.status).toBe(201);
    expect(await check(app, '1.1.0')).toMatchObject({
      status: 'rollback',
      version: '1.0.0',
      mandatory: true,
    });
  });
});
