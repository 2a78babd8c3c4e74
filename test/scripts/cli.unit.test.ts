import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitCommandWords } from '../../scripts/lib/cli.ts';
import { closedPort, fakeServer, ROOT, type RunResult, runBin } from './helpers.ts';

/** A user mistake: exit 1, exactly one stderr line `updraft: …`, no stack, nothing on stdout. */
function expectOneLine(result: RunResult, pattern: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^updraft: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('the updraft binary', () => {
  it('prints help and exits 0', async () => {
    const result = await runBin(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('promote');
    expect(result.stdout).toContain('token revoke');
    const promote = await runBin(['promote', '--help']);
    expect(promote.code).toBe(0);
    expect(promote.stdout).toContain('Usage: updraft promote <app> <version> --channel <name>');
  });

  it("prints the version of the nearest package.json: the repository's in a checkout", async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      expect(await runBin([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
    expectOneLine(await runBin(['status', '--version']), /unknown option --version/);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['keys'], /"keys" needs a subcommand: init, rotate, register/],
    [['token', 'eat'], /unknown command "token eat"/],
    [['promote', 'demo'], /missing <version>/],
    [['promote', 'demo', '1.0.0'], /missing --channel <name>/],
    [
      ['promote', 'demo', '1.0.0', '--channel', 'stable', '--percent', '101'],
      /--percent must be a number from 0 to 100/,
    ],
    [['promote', 'demo', '1.0.0', '--channel', 'stable', '--percent', '2.555'], /steps of 0\.01/],
    [['promote', 'demo', 'v1', '--channel', 'stable'], /version must be a semantic version/],
    [['promote', 'demo', '1.0.0', '--chanel', 'stable'], /unknown option --chanel/],
    [['promote', 'demo', '1.0.0', '--channel'], /option --channel needs a value/],
    [['status', 'demo', 'extra'], /unexpected argument "extra"/],
    [['status', 'Demo!'], /app name must be 1-63 of a-z/],
    [['keys', 'rotate', '--role', 'boss'], /--role must be root, release or online/],
    [
      ['token', 'create', '--name', 'ci', '--role', 'admin', '--expires', 'soon'],
      /--expires must be like 30d/,
    ],
    [
      ['publish', 'demo', '1.0.0', '--artifact', 'linux-x64'],
      /--artifact must look like <platform>-<arch>=<path>/,
    ],
    [['publish', 'demo', '1.0.0', '--artifact', 'plan9-x64=a.zip'], /unknown platform "plan9"/],
    [
      ['publish', 'demo', '1.0.0', '--artifact', 'linux-x64=/nonexistent/app.tar.gz'],
      /file not found: \/nonexistent\/app\.tar\.gz/,
    ],
    [['--server', 'ftp://x', 'status', 'demo'], /--server must be an http or https URL/],
  ])('refuses %j with one line', async (args, pattern) => {
    expectOneLine(await runBin(args), pattern);
  });

  it('says so in one line when the server is unreachable', async () => {
    const port = await closedPort();
    const result = await runBin(['status', 'demo', '--server', `http://127.0.0.1:${port}`, '--token', 't']);
    expectOneLine(result, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}: connection refused`));
  });

  it('turns the server error shape into one line and exits 1', async () => {
    const server = await fakeServer(() => ({
      status: 404,
      body: { error: { code: 'unknown_release', message: 'demo has no release 9.9.9' } },
    }));
    try {
      const result = await runBin(['promote', 'demo', '9.9.9', '--channel', 'stable'], {
        UPDRAFT_SERVER: server.url,
        UPDRAFT_TOKEN: 'secret',
      });
      expectOneLine(result, /^updraft: demo has no release 9\.9\.9 \(404 unknown_release\)$/);
      expect(server.requests[0]?.headers.authorization).toBe('Bearer secret');
      expect(JSON.parse(server.requests[0]?.body.toString() ?? '')).toEqual({
        version: '9.9.9',
        percent_bp: 10_000,
      });
    } finally {
      await server.close();
    }
  });

  it('asks for a token in one line when none is found', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'updraft-cli-'));
    const result = await runBin(['status', 'demo', '--server', 'https://updates.example.com'], {}, dir);
    expectOneLine(result, /no admin token: pass --token, set UPDRAFT_TOKEN/);
  });

  it('prints the exact API JSON with --json', async () => {
    const view = { app: 'demo', default_channel: 'stable', channels: [] };
    const server = await fakeServer(() => ({ status: 200, body: view }));
    try {
      const result = await runBin(['status', 'demo', '--json', '--server', server.url, '--token', 't']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual(view);
    } finally {
      await server.close();
    }
  });

  it('reads --notes-file and reports a missing one in one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'updraft-cli-'));
    const file = join(dir, 'app.zip');
    await writeFile(file, 'bytes');
    const result = await runBin([
      'publish',
      'demo',
      '1.0.0',
      '--artifact',
      `linux-x64=${file}`,
      '--notes-file',
      join(dir, 'nope.md'),
    ]);
    expectOneLine(result, /cannot read --notes-file .*nope\.md: file not found/);
  });
});

describe('splitCommandWords', () => {
  it('finds command words around global options', () => {
    expect(splitCommandWords(['--server', 'http://x', 'keys', 'init', '--offline'])).toEqual({
      words: ['keys', 'init'],
      rest: ['--server', 'http://x', '--offline'],
    });
    expect(splitCommandWords(['promote', 'demo', '1.0.0', '--json'])).toEqual({
      words: ['promote'],
      rest: ['demo', '1.0.0', '--json'],
    });
  });
});
