/**
 * `updraft publish` for the updaters apps already ship (docs/protocol.md §9): SHA-512 of every file, sidecars
 * (given, or `<artifact>.blockmap` found next to it), Tauri's `.sig` (given, or found), Sparkle's EdDSA
 * signature (given, or made from the key file `generate_keys -x` exports), `--os`, and `--for`, whose
 * missing pieces stop the publish in one line before anything is uploaded.
 */
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { type PublishOptions, publish } from '../../scripts/commands/publish.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { readPrivateKey } from '../../scripts/lib/keys-folder.ts';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { publicJwk } from '../../src/protocol/keys.ts';
import { closedPort, fakeServer, type Recorded, runBin } from './helpers.ts';

let keysDir: string;
let work: string;
let server: Awaited<ReturnType<typeof fakeServer>> | undefined;
let counter = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-publish-updaters-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A fake admin API that accepts every upload and registration. */
async function accepting(): Promise<ApiClient> {
  server = await fakeServer((req) => {
    if (req.method === 'GET')
      return { status: 404, body: { error: { code: 'unknown_release', message: 'no' } } };
    if (req.method === 'PUT')
      return { status: 201, body: { key: req.url, size: req.body.length, sha256: '' } };
    return { status: 201, body: { app: 'demo', version: '1.0.0', release_sha256: 'f'.repeat(64) } };
  });
  return new ApiClient({ server: server.url, token: 'tok' });
}

/** A fresh folder with `files` (name → content) in it. */
async function folder(files: Record<string, string | Buffer>): Promise<string> {
  counter += 1;
  const dir = join(work, `case-${counter}`);
  await mkdir(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const sha512 = (data: string | Buffer) => createHash('sha512').update(data).digest('base64');
/** What `tauri build` writes into `<bundle>.sig`: base64 of a minisign signature file. */
const tauriSig = (tag: string) =>
  Buffer.from(
    `untrusted comment: signature from tauri secret key\nRUT${tag}\ntrusted comment: timestamp:1700000000\tfile:app\nabc\n`,
  ).toString('base64');

async function run(options: Omit<PublishOptions, 'client' | 'keysDir' | 'app' | 'version'>) {
  const client = await accepting();
  await publish({ client, keysDir, app: 'demo', version: '1.0.0', ...options });
  const requests = server?.requests ?? [];
  const post = requests.find((r) => r.method === 'POST');
  const { manifest } = JSON.parse(post?.body.toString() ?? '{}') as { manifest: string };
  const payload = await verifyDocument('release', manifest, [
    publicJwk(await readPrivateKey(keysDir, 'release')),
  ]);
  return { requests, payload };
}

const puts = (requests: Recorded[]) => requests.filter((r) => r.method === 'PUT');

/** The publish fails with `pattern` and sends nothing at all. */
async function refused(
  options: Omit<PublishOptions, 'client' | 'keysDir' | 'app' | 'version'>,
  pattern: RegExp,
) {
  const client = await accepting();
  await expect(publish({ client, keysDir, app: 'demo', version: '1.0.0', ...options })).rejects.toThrow(
    pattern,
  );
  expect(server?.requests).toEqual([]);
}

describe('publish: SHA-512 and sidecars', () => {
  it('signs and declares the SHA-512 of every file, and uploads <artifact>.blockmap beside it on its own', async () => {
    const dir = await folder({ 'App-Setup.exe': 'windows installer', 'App-Setup.exe.blockmap': 'blockmap' });
    const { requests, payload } = await run({
      artifacts: [{ platform: 'windows', arch: 'x64', path: join(dir, 'App-Setup.exe') }],
    });
    expect(puts(requests).map((r) => r.url)).toEqual([
      '/v1/admin/apps/demo/uploads/1.0.0/windows-x64/App-Setup.exe',
      '/v1/admin/apps/demo/uploads/1.0.0/windows-x64/App-Setup.exe.blockmap',
    ]);
    for (const put of puts(requests)) {
      expect(put.headers['x-updraft-sha256']).toBe(sha256(put.body));
      expect(put.headers['x-updraft-sha512']).toBe(sha512(put.body));
    }
    expect(payload.artifacts).toEqual([
      {
        platform: 'windows',
        arch: 'x64',
        file: 'App-Setup.exe',
        sha256: sha256('windows installer'),
        sha512: sha512('windows installer'),
        size: 17,
        content_type: 'application/vnd.microsoft.portable-executable',
        sidecars: [
          { file: 'App-Setup.exe.blockmap', size: 8, sha256: sha256('blockmap'), sha512: sha512('blockmap') },
        ],
      },
    ]);
  });

  it('uploads each --sidecar beside the artifact of its target, and --os and --runtime set its OS range and runtime', async () => {
    const dir = await folder({ 'app.zip': 'mac zip', 'extra.json': '{}', 'notes.txt': 'n' });
    const { payload } = await run({
      artifacts: [{ platform: 'darwin', arch: 'arm64', path: join(dir, 'app.zip') }],
      updaters: {
        sidecars: [
          { platform: 'darwin', arch: 'arm64', value: join(dir, 'extra.json') },
          { platform: 'darwin', arch: 'arm64', value: join(dir, 'notes.txt') },
        ],
        os: [{ platform: 'darwin', arch: 'arm64', value: '>=13.0.0' }],
        runtime: [{ platform: 'darwin', arch: 'arm64', value: 'native-7' }],
      },
    });
    const [artifact] = payload.artifacts;
    expect(artifact?.os).toBe('>=13.0.0');
    expect(artifact?.runtime).toBe('native-7');
    expect(artifact?.sidecars?.map((s) => s.file)).toEqual(['extra.json', 'notes.txt']);
    expect(artifact?.sidecars?.[0]).toEqual({
      file: 'extra.json',
      size: 2,
      sha256: sha256('{}'),
      sha512: sha512('{}'),
    });
  });

  it('refuses sidecars that are missing, misnamed, twice named or for no artifact, before any request', async () => {
    const dir = await folder({ 'app.tar.gz': 'a', '.hidden': 'h', 'b.map': 'b' });
    const artifacts = [{ platform: 'linux' as const, arch: 'x64' as const, path: join(dir, 'app.tar.gz') }];
    const at = (value: string) => ({ platform: 'linux' as const, arch: 'x64' as const, value });
    await refused(
      { artifacts, updaters: { sidecars: [at(join(dir, 'nope.map'))] } },
      /--sidecar linux-x64: file not found/,
    );
    await refused(
      { artifacts, updaters: { sidecars: [at(join(dir, '.hidden'))] } },
      /file name "\.hidden" must be/,
    );
    await refused(
      { artifacts, updaters: { sidecars: [at(join(dir, 'b.map')), at(join(dir, 'b.map'))] } },
      /two sidecars named b\.map/,
    );
    await refused(
      { artifacts, updaters: { sidecars: [at(join(dir, 'app.tar.gz'))] } },
      /has the name of the artifact/,
    );
    await refused(
      {
        artifacts,
        updaters: { sidecars: [{ platform: 'darwin', arch: 'arm64', value: join(dir, 'b.map') }] },
      },
      /--sidecar darwin-arm64=…: no --artifact for darwin-arm64/,
    );
    await refused(
      { artifacts, updaters: { os: [{ platform: 'linux', arch: 'x64', value: 'not a range' }] } },
      /--os linux-x64=not a range: must be a semver range/,
    );
    await refused(
      { artifacts, updaters: { runtime: [{ platform: 'linux', arch: 'x64', value: 'has space' }] } },
      /--runtime linux-x64=has space: must be 1-255 printable ASCII/,
    );
  });
});

describe('publish: Tauri signatures', () => {
  it('takes <artifact>.sig when it is a Tauri signature, and --minisign <target>=<file.sig> over it', async () => {
    const dir = await folder({
      'app.tar.gz': 'linux',
      'app.tar.gz.sig': `${tauriSig('auto')}\n`,
      'App.app.tar.gz': 'mac',
      'given.sig': tauriSig('given'),
    });
    const { payload } = await run({
      artifacts: [
        { platform: 'linux', arch: 'x64', path: join(dir, 'app.tar.gz') },
        { platform: 'darwin', arch: 'arm64', path: join(dir, 'App.app.tar.gz') },
      ],
      updaters: {
        for: ['tauri'],
        minisign: [{ platform: 'darwin', arch: 'arm64', value: join(dir, 'given.sig') }],
      },
    });
    expect(payload.artifacts.map((a) => a.minisign)).toEqual([tauriSig('auto'), tauriSig('given')]);
    // The .sig is the signature, not a file to serve: it is not uploaded as a sidecar.
    expect(payload.artifacts.every((a) => a.sidecars === undefined)).toBe(true);
  });

  it('leaves another tool’s .sig alone, and --for tauri refuses an artifact without a Tauri signature', async () => {
    const dir = await folder({
      'app.tar.gz': 'linux',
      'app.tar.gz.sig': Buffer.from([0x89, 0x01, 0x33, 0x04]),
    });
    const artifacts = [{ platform: 'linux' as const, arch: 'x64' as const, path: join(dir, 'app.tar.gz') }];
    const { payload } = await run({ artifacts });
    expect(payload.artifacts[0]?.minisign).toBeUndefined();
    await refused(
      { artifacts, updaters: { for: ['tauri'] } },
      /--for tauri: linux-x64 has no Tauri signature/,
    );
    await refused(
      {
        artifacts,
        updaters: { minisign: [{ platform: 'linux', arch: 'x64', value: join(dir, 'app.tar.gz.sig') }] },
      },
      /--minisign linux-x64: .* is not a Tauri signature file/,
    );
  });
});

describe('publish: Sparkle signatures', () => {
  /** A Sparkle key file as `generate_keys -x` writes it (base64 of the 32-byte seed), and its public key. */
  function sparkleKey(): { file: string; verifyWith: ReturnType<typeof generateKeyPairSync>['publicKey'] } {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    return { file: der.subarray(der.length - 32).toString('base64'), verifyWith: publicKey };
  }

  it('signs every darwin artifact with --sparkle-key, verifiable with the public key the app pins', async () => {
    const key = sparkleKey();
    const dir = await folder({ 'App.zip': 'mac app', 'app.tar.gz': 'linux', sparkle_key: `${key.file}\n` });
    const { payload } = await run({
      artifacts: [
        { platform: 'darwin', arch: 'universal', path: join(dir, 'App.zip') },
        { platform: 'linux', arch: 'x64', path: join(dir, 'app.tar.gz') },
      ],
      updaters: { for: ['sparkle', 'electron'], sparkleKey: join(dir, 'sparkle_key') },
    });
    const [mac, linux] = payload.artifacts;
    const signature = Buffer.from(mac?.ed_signature ?? '', 'base64');
    expect(verify(null, Buffer.from('mac app'), key.verifyWith, signature)).toBe(true);
    expect(linux?.ed_signature).toBeUndefined();
  });

  it('takes a signature sign_update made with --ed-signature, and refuses what cannot be a Sparkle key or signature', async () => {
    const dir = await folder({
      'App.zip': 'mac',
      old_key: Buffer.alloc(96, 1).toString('base64'),
      junk: 'hello',
    });
    const artifacts = [{ platform: 'darwin' as const, arch: 'arm64' as const, path: join(dir, 'App.zip') }];
    const signature = Buffer.alloc(64, 7).toString('base64');
    const { payload } = await run({
      artifacts,
      updaters: { for: ['sparkle'], edSignatures: [{ platform: 'darwin', arch: 'arm64', value: signature }] },
    });
    expect(payload.artifacts[0]?.ed_signature).toBe(signature);

    await refused(
      { artifacts, updaters: { for: ['sparkle'] } },
      /--for sparkle: darwin-arm64 has no EdDSA signature/,
    );
    await refused({ artifacts, updaters: { sparkleKey: join(dir, 'old_key') } }, /old-format Sparkle key/);
    await refused(
      { artifacts, updaters: { sparkleKey: join(dir, 'junk') } },
      /is not a Sparkle private key file/,
    );
    await refused(
      { artifacts, updaters: { sparkleKey: join(dir, 'missing') } },
      /--sparkle-key: file not found/,
    );
    await refused(
      { artifacts, updaters: { edSignatures: [{ platform: 'darwin', arch: 'arm64', value: 'short' }] } },
      /--ed-signature darwin-arm64=…: must be an Ed25519 signature/,
    );
  });

  it('--for electron refuses a macOS artifact that is not the zip electron-updater installs from', async () => {
    const dir = await folder({ 'App.dmg': 'dmg' });
    await refused(
      {
        artifacts: [{ platform: 'darwin', arch: 'arm64', path: join(dir, 'App.dmg') }],
        updaters: { for: ['electron'] },
      },
      /--for electron: the darwin artifact App\.dmg is not a \.zip/,
    );
  });
});

describe('updraft publish (the binary)', () => {
  it('parses the flags, and a missing piece is one line, exit 1, with nothing sent', async () => {
    const dir = await folder({ 'app.tar.gz': 'linux' });
    const port = await closedPort();
    const base = ['publish', 'demo', '1.0.0', '--server', `http://127.0.0.1:${port}`, '--token', 't'];
    const artifact = ['--artifact', `linux-x64=${join(dir, 'app.tar.gz')}`];
    const cases: [string[], RegExp][] = [
      [[...artifact, '--for', 'tauri'], /^updraft: --for tauri: linux-x64 has no Tauri signature/],
      [[...artifact, '--for', 'squirrel'], /^updraft: --for must be one of electron, tauri, sparkle/],
      [
        [...artifact, '--minisign', 'linux-x64'],
        /^updraft: --minisign must look like <platform>-<arch>=<value>/,
      ],
      [[...artifact, '--os', 'linux-x99=>=1'], /^updraft: unknown arch "x99" in --os/],
      [
        [...artifact, '--sparkle-key', join(dir, 'app.tar.gz')],
        /^updraft: --sparkle-key: no darwin artifact/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const result = await runBin([...base, ...args], { UPDRAFT_KEYS: keysDir });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
  });

  it('lists the new flags in its help', async () => {
    const help = await runBin(['publish', '--help']);
    for (const option of ['--for', '--sidecar', '--minisign', '--ed-signature', '--sparkle-key', '--os'])
      expect(help.stdout).toContain(option);
  });
});
