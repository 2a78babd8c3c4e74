/** `updraft token create --app` and `token list` (docs/cli.md § Tokens), the real binary against a fake admin API. */
import { describe, expect, it } from 'vitest';
import { fakeServer, runBin } from './helpers.ts';

const CREATED = {
  id: '3f9a0c1d2e4b5a69',
  name: 'ci demo',
  role: 'publisher',
  apps: ['demo', 'other'],
  created_at: '2026-12-01T09:30:00Z',
  expires_at: null,
  token: `updr_${'x'.repeat(43)}`,
};

const LISTED = {
  tokens: [
    {
      id: '0000000000000001',
      name: 'laptop',
      role: 'admin',
      apps: null,
      created_at: '2026-11-20T09:30:00Z',
      created_by: 'bootstrap',
      expires_at: null,
      revoked_at: null,
    },
    { ...CREATED, id: '3f9a0c1d2e4b5a69', created_by: 'bootstrap', revoked_at: null, token: undefined },
  ],
};

const create = ['token', 'create', '--name', 'ci demo', '--role', 'publisher', '--expires', 'never'];

describe('updraft token create --app', () => {
  it('sends the apps, and prints what the token is limited to', async () => {
    const server = await fakeServer(() => ({ status: 201, body: CREATED }));
    try {
      const args = [...create, '--app', 'demo', '--app', 'other', '--server', server.url, '--token', 't'];
      const human = await runBin(args);
      expect(human.stderr).toBe('');
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('Created publisher token 3f9a0c1d2e4b5a69 (ci demo) for demo, other,');
      expect(human.stdout).toContain(CREATED.token);
      const json = await runBin([...args, '--json']);
      expect(JSON.parse(json.stdout)).toEqual(CREATED);
      for (const request of server.requests) {
        expect(request.method).toBe('POST');
        expect(request.url).toBe('/v1/admin/tokens');
        expect(JSON.parse(request.body.toString())).toEqual({
          name: 'ci demo',
          role: 'publisher',
          apps: ['demo', 'other'],
        });
      }
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('without --app makes a token for every app (no apps sent)', async () => {
    const server = await fakeServer(() => ({ status: 201, body: { ...CREATED, apps: null } }));
    try {
      const result = await runBin([...create, '--server', server.url, '--token', 't']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('(ci demo) for every app,');
      expect(JSON.parse(server.requests[0]?.body.toString() ?? '')).not.toHaveProperty('apps');
    } finally {
      await server.close();
    }
  });

  it('refuses a bad app name in one line without calling the server', async () => {
    const server = await fakeServer(() => ({ status: 201, body: CREATED }));
    try {
      const result = await runBin([...create, '--app', 'Demo!', '--server', server.url, '--token', 't']);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: 'updraft: --app must be 1-63 of a-z, 0-9 and -, got "Demo!"\n',
      });
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it("prints the server's refusal of an unknown app in one line", async () => {
    const server = await fakeServer(() => ({
      status: 404,
      body: { error: { code: 'unknown_app', message: 'apps: no app named dmeo' } },
    }));
    try {
      const result = await runBin([...create, '--app', 'dmeo', '--server', server.url, '--token', 't']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe('updraft: apps: no app named dmeo (404 unknown_app)\n');
    } finally {
      await server.close();
    }
  });
});

describe('updraft token list', () => {
  it('shows the apps each token is limited to, and --json the API answer', async () => {
    const server = await fakeServer(() => ({ status: 200, body: LISTED }));
    try {
      const table = await runBin(['token', 'list', '--server', server.url, '--token', 't']);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID\s+NAME\s+ROLE\s+APPS\s+STATE\s+CREATED/);
      expect(lines.find((l) => l.startsWith('0000000000000001'))).toMatch(
        /laptop\s+admin\s+every app\s+active/,
      );
      expect(lines.find((l) => l.startsWith('3f9a0c1d2e4b5a69'))).toMatch(
        /ci demo\s+publisher\s+demo, other\s+active/,
      );
      const json = await runBin(['token', 'list', '--json', '--server', server.url, '--token', 't']);
      expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(LISTED)));
    } finally {
      await server.close();
    }
  });
});
