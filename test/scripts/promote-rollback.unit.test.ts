/**
 * `updraft promote … --plan … --on-breach rollback [--rollback-to <v>]` (docs/protocol.md §6): the option's
 * parsing and refusals, and through the binary the standby yank it signs with the release key and
 * sends with the promote, its rollback_to the channel's baseline read from the API.
 */
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import type { Values } from '../../scripts/lib/command.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import { describeGates, parseOnBreach, planFromFlags } from '../../scripts/lib/plan-flags.ts';
import { rollBackToEmbeddedDirective } from '../../src/protocol/expo.ts';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { publicJwk } from '../../src/protocol/keys.ts';
import { planSchema } from '../../src/protocol/plan.ts';
import { fakeServer, type Recorded, runBin } from './helpers.ts';

const onBreach = (values: Values) => parseOnBreach(values, planFromFlags(values, 'plan', true));

describe('--on-breach', () => {
  it('reads halt and rollback, and is absent unless given', () => {
    expect(onBreach({ plan: '1,100', 'on-breach': 'rollback' })).toBe('rollback');
    expect(onBreach({ plan: '1,100', 'on-breach': 'halt' })).toBe('halt');
    expect(onBreach({ plan: '1,100' })).toBeUndefined();
  });

  it.each<[Values, RegExp]>([
    [{ 'on-breach': 'rollback' }, /^--on-breach needs --plan <steps>$/],
    [{ plan: 'default', 'on-breach': 'rollback' }, /^--on-breach cannot be combined with --plan default$/],
    [{ plan: '1,100', 'on-breach': 'undo' }, /^--on-breach must be halt or rollback, got "undo"$/],
  ])('refuses %j', (values, pattern) => {
    expect(() => onBreach(values)).toThrow(UserError);
    expect(() => onBreach(values)).toThrow(pattern);
  });

  it('keeps a plan with it valid, and says so where the plan is shown', () => {
    const plan = planFromFlags({ plan: '1,100' }, 'plan', true);
    if (typeof plan !== 'object') throw new Error('no plan');
    const rollback = { ...plan, on_breach: 'rollback' as const };
    expect(planSchema.parse(rollback)).toEqual(rollback);
    expect(describeGates(rollback)).toMatch(/; on a breach also rolls its clients back$/);
    expect(describeGates(plan)).not.toMatch(/rolls/);
  });
});

const VIEW = {
  name: 'stable',
  public: true,
  revision: 4,
  issued_at: '2026-11-21T19:00:00Z',
  expires: '2026-11-28T19:00:00Z',
  rollouts: [
    { version: '1.2.0', percent_bp: 10_000, state: 'complete' },
    { version: '1.1.0', percent_bp: 10_000, state: 'complete' },
    { version: '1.2.5', percent_bp: 100, state: 'halted' },
  ],
  yanked: [{ version: '1.2.0', rollback_to: '1.1.0', reason: 'bad' }],
};

async function promoteThroughBin(extra: string[], env: Record<string, string> = {}) {
  const keys = await mkdtemp(join(tmpdir(), 'updraft-promote-'));
  await keysInit({ keysDir: keys, offline: true });
  const server = await fakeServer((req: Recorded) =>
    req.method === 'GET'
      ? { status: 200, body: { app: 'demo', default_channel: 'stable', channels: [VIEW] } }
      : { status: 200, body: VIEW },
  );
  try {
    const args = ['promote', 'demo', '1.3.0', '--channel', 'stable', ...extra];
    const result = await runBin(args, {
      UPDRAFT_SERVER: server.url,
      UPDRAFT_TOKEN: 't',
      UPDRAFT_KEYS: keys,
      ...env,
    });
    return { result, requests: [...server.requests], keys };
  } finally {
    await server.close();
  }
}

describe('promote --on-breach rollback, through the binary', () => {
  it('signs the standby yank with the release key, rollback_to the baseline, and sends it', async () => {
    const { result, requests, keys } = await promoteThroughBin([
      '--plan',
      '1,100',
      '--on-breach',
      'rollback',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/admin/apps/demo/status',
      'POST /v1/admin/apps/demo/channels/stable/rollouts',
    ]);
    const body = JSON.parse(requests[1]?.body.toString() ?? '{}');
    expect(body.plan.on_breach).toBe('rollback');
    const release = publicJwk(await readPrivateKey(keys, 'release'));
    const yank = await verifyDocument('yank', body.standby_yank, [release]);
    // 1.2.0 is yanked and 1.2.5 not complete: the baseline is 1.1.0.
    expect(yank).toMatchObject({ app: 'demo', version: '1.3.0', rollback_to: '1.1.0' });
  });

  it('takes --rollback-to without asking the API, and none for no target', async () => {
    const given = await promoteThroughBin([
      '--plan',
      '1,100',
      '--on-breach',
      'rollback',
      '--rollback-to',
      '1.0.0',
    ]);
    expect(given.requests.map((r) => r.method)).toEqual(['POST']);
    const release = publicJwk(await readPrivateKey(given.keys, 'release'));
    const body = JSON.parse(given.requests[0]?.body.toString() ?? '{}');
    expect((await verifyDocument('yank', body.standby_yank, [release])).rollback_to).toBe('1.0.0');

    const none = await promoteThroughBin([
      '--plan',
      '1,100',
      '--on-breach',
      'rollback',
      '--rollback-to',
      'none',
    ]);
    const noneBody = JSON.parse(none.requests[0]?.body.toString() ?? '{}');
    const noneKey = publicJwk(await readPrivateKey(none.keys, 'release'));
    expect((await verifyDocument('yank', noneBody.standby_yank, [noneKey])).rollback_to).toBeNull();
  });

  it.each([
    [['--on-breach', 'rollback'], '--on-breach needs --plan <steps>'],
    [['--plan', '1,100', '--rollback-to', '1.0.0'], '--rollback-to needs --on-breach rollback'],
  ])('refuses %j in one line, exit 1, sending nothing', async (extra, message) => {
    const { result, requests } = await promoteThroughBin(extra);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`updraft: ${message}`);
    expect(requests).toEqual([]);
  });

  it('sends no standby yank for --on-breach halt', async () => {
    const { result, requests } = await promoteThroughBin(['--plan', '1,100', '--on-breach', 'halt']);
    expect(result.code).toBe(0);
    const body = JSON.parse(requests[0]?.body.toString() ?? '{}');
    expect(body.plan.on_breach).toBe('halt');
    expect(body.standby_yank).toBeUndefined();
  });
});

describe('promote --on-breach rollback --expo-private-key (an Expo app with code signing)', () => {
  /** An RSA key as `updraft expo keys` writes it, and its public half. */
  async function expoKey() {
    const dir = await mkdtemp(join(tmpdir(), 'updraft-promote-expo-'));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const path = join(dir, 'private-key.pem');
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return { path, publicKey };
  }

  it("signs the standby yank's rollBackToEmbedded directive with the app's key, over the yank's own time", async () => {
    const key = await expoKey();
    const { result, requests, keys } = await promoteThroughBin([
      '--plan',
      '1,100',
      '--on-breach',
      'rollback',
      '--expo-private-key',
      key.path,
    ]);
    expect(result.stderr).toBe('');
    const body = JSON.parse(requests[1]?.body.toString() ?? '{}');
    const yank = await verifyDocument('yank', body.standby_yank, [
      publicJwk(await readPrivateKey(keys, 'release')),
    ]);
    const signature = /^sig="([^"]+)", keyid="main", alg="rsa-v1_5-sha256"$/.exec(
      body.standby_expo_directive_signature,
    );
    expect(signature).not.toBeNull();
    const directive = rollBackToEmbeddedDirective(yank.yanked_at);
    const verifies = createVerify('RSA-SHA256')
      .update(directive)
      .verify(key.publicKey, signature?.[1] ?? '', 'base64');
    expect(verifies).toBe(true);
  });

  it('refuses --expo-private-key without --on-breach rollback, and leaves the environment default unused there', async () => {
    const key = await expoKey();
    const refused = await promoteThroughBin(['--percent', '10', '--expo-private-key', key.path]);
    expect(refused.result.code).toBe(1);
    expect(refused.result.stderr.trim()).toBe(
      'updraft: --expo-private-key signs the directive of a standby yank: it needs --on-breach rollback',
    );
    expect(refused.requests).toEqual([]);
    const plain = await promoteThroughBin(['--percent', '10'], { UPDRAFT_EXPO_PRIVATE_KEY: key.path });
    expect(plain.result.code).toBe(0);
    expect(JSON.parse(plain.requests[0]?.body.toString() ?? '{}')).toEqual({
      version: '1.3.0',
      percent_bp: 1000,
    });
  });
});
