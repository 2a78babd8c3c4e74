import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLoopback, parseDevVars, resolveConfig } from '../../scripts/lib/config.ts';
import { updateDevVars } from '../../scripts/lib/dev-vars.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import type { PrivateJwk } from '../../src/protocol/jws.ts';

let project: string;
let nested: string;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'updraft-config-'));
  nested = join(project, 'packages', 'app');
  await mkdir(nested, { recursive: true });
  await writeFile(join(project, 'wrangler.toml'), 'name = "updraft"\n');
  await writeFile(
    join(project, '.dev.vars'),
    '# comment\nUPDRAFT_ADMIN_TOKEN=dev-token\nUPDRAFT_ONLINE_KEY={"kty":"OKP"}\n',
  );
});

describe('resolveConfig', () => {
  it('defaults to the local dev server, its .dev.vars token and ./.updraft/keys', () => {
    const config = resolveConfig({ env: {}, cwd: nested });
    expect(config).toEqual({
      server: 'http://127.0.0.1:8787',
      token: 'dev-token',
      tokenSource: 'dev-vars',
      keysDir: join(nested, '.updraft', 'keys'),
      json: false,
    });
  });

  it('prefers the flag, then the environment', () => {
    const env = {
      UPDRAFT_SERVER: 'https://updates.example.com/',
      UPDRAFT_TOKEN: 'env-token',
      UPDRAFT_KEYS: '/keys',
    };
    expect(resolveConfig({ env, cwd: project })).toMatchObject({
      server: 'https://updates.example.com',
      token: 'env-token',
      tokenSource: 'env',
      keysDir: '/keys',
    });
    expect(
      resolveConfig({ env, cwd: project, token: 'flag-token', server: 'http://localhost:9000', keys: 'k' }),
    ).toMatchObject({
      server: 'http://localhost:9000',
      token: 'flag-token',
      tokenSource: 'flag',
      keysDir: join(project, 'k'),
    });
  });

  it('never sends the dev token to a server that is not loopback', () => {
    const config = resolveConfig({ env: { UPDRAFT_SERVER: 'https://updates.example.com' }, cwd: project });
    expect(config.token).toBeUndefined();
    expect(config.tokenSource).toBe('none');
  });

  it('finds no token outside a project', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'updraft-elsewhere-'));
    expect(resolveConfig({ env: {}, cwd: elsewhere }).token).toBeUndefined();
  });

  it('refuses a server that is not an http URL', () => {
    expect(() => resolveConfig({ env: {}, server: 'not a url' })).toThrow(UserError);
    expect(() => resolveConfig({ env: {}, server: 'file:///etc' })).toThrow(/http or https/);
  });
});

describe('isLoopback', () => {
  it.each([
    ['http://127.0.0.1:8787', true],
    ['http://127.1.2.3', true],
    ['http://localhost:8787', true],
    ['http://[::1]:8787', true],
    ['http://10.0.0.1', false],
    ['https://localhost.example.com', false],
  ])('%s → %s', (server, expected) => {
    expect(isLoopback(server)).toBe(expected);
  });
});

describe('.dev.vars', () => {
  const key: PrivateJwk = { kty: 'OKP', crv: 'Ed25519', x: 'x'.repeat(43), d: 'd'.repeat(43), kid: 'k' };

  it('parses comments, quotes and JSON values', () => {
    expect(parseDevVars('# c\nA=1\nB="two words"\nexport C=\'3\'\nD={"a":"b"}\n')).toEqual({
      A: '1',
      B: 'two words',
      C: '3',
      D: '{"a":"b"}',
    });
  });

  it('creates a file with a random token and the online key', () => {
    const update = updateDevVars(undefined, key, () => 'tok');
    expect(update.changed).toBe(true);
    expect(update.adminToken).toBe('tok');
    expect(parseDevVars(update.text)).toEqual({
      UPDRAFT_ADMIN_TOKEN: 'tok',
      UPDRAFT_ONLINE_KEY: JSON.stringify(key),
    });
  });

  it('keeps a good file as it is and fixes a stale online key', () => {
    const good = `OTHER=1\nUPDRAFT_ADMIN_TOKEN=mine\nUPDRAFT_ONLINE_KEY=${JSON.stringify(key)}\n`;
    expect(updateDevVars(good, key)).toEqual({ text: good, changed: false, adminToken: 'mine' });
    const stale = updateDevVars(
      'OTHER=1\nUPDRAFT_ADMIN_TOKEN=mine\nUPDRAFT_ONLINE_KEY={"kty":"OKP","d":"old"}\n',
      key,
    );
    expect(stale.changed).toBe(true);
    expect(stale.text).toBe(good);
  });

  it('replaces the example placeholder token', () => {
    const update = updateDevVars('UPDRAFT_ADMIN_TOKEN=change-me\n', key, () => 'fresh');
    expect(parseDevVars(update.text).UPDRAFT_ADMIN_TOKEN).toBe('fresh');
  });
});
