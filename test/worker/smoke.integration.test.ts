import { env, exports } from 'cloudflare:workers';
import { expect, it } from 'vitest';

it('smoke', async () => {
  const res = await exports.default.fetch('http://x/healthz');
  expect(await res.text()).toBe('ok');
  await env.STATE.put('a', 'b');
  expect(await env.STATE.get('a')).toBe('b');
  const r = await env.DB.prepare('select 1 as one').first<{ one: number }>();
  expect(r?.one).toBe(1);
  const k = JSON.parse(env.UPDRAFT_ONLINE_KEY);
  expect(k.crv).toBe('Ed25519');
});
