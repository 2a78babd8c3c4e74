/**
 * The export folder (docs/backup.md): `exportDeployment` against a fake admin API writes it, the
 * import side reads back exactly what was served, and a damaged folder is refused in one line
 * before any request is made.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportDeployment } from '../../scripts/commands/export.ts';
import { importDeployment } from '../../scripts/commands/import.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { readImportBody, readManifest } from '../../scripts/lib/backup-read.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import type { AppExport, AuditRow, ExportIndex } from '../../src/protocol/backup.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, publicJwk } from '../../src/protocol/keys.ts';
import { fakeServer, type RunResult, runBin } from './helpers.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let index: ExportIndex;
let app: AppExport;
const audit: AuditRow[] = Array.from({ length: 7 }, (_, i) => ({
  id: i + 1,
  at: '2026-11-20T12:00:00Z',
  actor: 'bootstrap',
  action: i === 0 ? 'app.create' : 'rollout.promote',
  app: 'demo',
  target: 'stable/1.0.0',
  before: null,
  after: { percent_bp: i * 100, note: 'ü' },
}));
let server: Awaited<ReturnType<typeof fakeServer>> | undefined;
let work = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-backup-unit-'));
  const [root, release, online] = await Promise.all([
    generateKeyPair(),
    generateKeyPair(),
    generateKeyPair(),
  ]);
  const keys = await signDocument(
    'keys',
    {
      version: 1,
      expires: '2027-11-20T00:00:00Z',
      root: [root.publicJwk],
      release: [release.publicJwk],
      online: [publicJwk(online.privateJwk)],
    },
    root.privateJwk,
  );
  const manifest = await signDocument(
    'release',
    {
      app: 'demo',
      version: '1.0.0',
      published_at: '2026-11-20T12:00:00Z',
      notes: 'first',
      mandatory: false,
      critical: false,
      requires: '*',
      artifacts: [{ platform: 'linux', arch: 'x64', file: 'demo.tar.gz', sha256: 'a'.repeat(64), size: 3 }],
    },
    release.privateJwk,
  );
  const yank = await signDocument(
    'yank',
    { app: 'demo', version: '1.0.0', reason: 'broken', rollback_to: null, yanked_at: '2026-11-21T12:00:00Z' },
    release.privateJwk,
  );
  index = {
    format_version: 1,
    exported_at: '2026-11-21T18:00:00Z',
    source: 'https://updraft.example.com',
    scope: 'all',
    apps: ['demo'],
    keys: [{ version: 1, created_at: '2026-11-20T08:00:00Z', jws: keys }],
    tokens: [
      {
        id: '0123456789abcdef',
        name: 'ci',
        role: 'publisher',
        token_sha256: 'b'.repeat(64),
        created_at: '2026-11-20T09:00:00Z',
        created_by: 'bootstrap',
        expires_at: null,
        revoked_at: null,
        apps: ['demo'],
      },
    ],
    audit: { rows: 7, min_id: 1, max_id: 7 },
  };
  app = {
    app: {
      name: 'demo',
      default_channel: 'stable',
      revision: 3,
      rules: [],
      webhook_url: null,
      webhook_secret: null,
      default_plan: null,
      created_at: '2026-11-20T09:00:00Z',
      updated_at: '2026-11-20T09:00:00Z',
    },
    channels: [
      {
        name: 'stable',
        public: true,
        revision: 5,
        issued_at: '2026-11-21T09:00:00Z',
        expires: '2026-11-28T09:00:00Z',
        created_at: '2026-11-20T09:00:00Z',
      },
    ],
    releases: [
      { version: '1.0.0', release_sha256: sha256(manifest), created_at: '2026-11-20T12:01:00Z', manifest },
    ],
    rollouts: [
      {
        channel: 'stable',
        version: '1.0.0',
        percent_bp: 10_000,
        salt: '0'.repeat(32),
        state: 'complete',
        plan: null,
        step: null,
        step_started_at: null,
        judgement: null,
        created_at: '2026-11-20T13:00:00Z',
        updated_at: '2026-11-20T13:00:00Z',
      },
    ],
    yanks: [
      {
        version: '1.0.0',
        yank_sha256: sha256(yank),
        created_at: '2026-11-21T12:00:01Z',
        yank,
        // The signed rollBackToEmbedded of an Expo app (docs/protocol.md §10) travels with its yank.
        expo_directive_signature: `sig="${'A'.repeat(344)}", keyid="main", alg="rsa-v1_5-sha256"`,
      },
    ],
    // An armed automatic rollback (docs/protocol.md §6): sealed, kept whole.
    standby_yanks: [
      {
        channel: 'stable',
        version: '1.0.0',
        yank_sha256: sha256(yank),
        created_at: '2026-11-20T13:00:00Z',
        yank,
      },
    ],
  };
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A fake admin API serving `index`, `app` and `audit` in pages of 3. */
async function serve(): Promise<ApiClient> {
  server = await fakeServer((req) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/v1/admin/export') return { status: 200, body: index };
    if (url.pathname === '/v1/admin/export/apps/demo') return { status: 200, body: app };
    if (url.pathname === '/v1/admin/export/audit') {
      const after = Number(url.searchParams.get('after'));
      const rows = audit.filter((r) => r.id > after).slice(0, 3);
      return { status: 200, body: rows.length === 3 ? { rows, next_after: rows.at(-1)?.id } : { rows } };
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'no such route' } } };
  });
  return new ApiClient({ server: server.url, token: 'tok' });
}

async function exported(name: string): Promise<string> {
  const dir = join(work, name);
  await exportDeployment({ client: await serve(), dir });
  return dir;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return error instanceof Error ? error.message : '';
}

function expectOneLine(result: RunResult, pattern: RegExp): void {
  expect(result.code).toBe(1);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('the export folder', () => {
  it('holds pretty JSON and the documents, and reads back into exactly what was served', async () => {
    const dir = await exported('round-trip');
    const manifest = await readManifest(dir);
    expect(manifest).toMatchObject({ scope: 'all', apps: ['demo'], keys: [1], audit: index.audit });
    expect(await readFile(join(dir, 'apps/demo/releases/1.0.0.jws'), 'utf8')).toBe(
      `${app.releases[0]?.manifest}\n`,
    );
    const readable = JSON.parse(await readFile(join(dir, 'apps/demo/releases/1.0.0.json'), 'utf8'));
    expect(Object.keys(readable).slice(0, 4)).toEqual([
      'version',
      'release_sha256',
      'created_at',
      'published_at',
    ]);
    expect(readable.notes).toBe('first');
    const body = await readImportBody(dir, manifest);
    expect(body).toEqual({ ...index, apps: [app], format_version: 1 } as unknown as typeof body);
    expect(manifest.counts).toMatchObject({ yanks: 1, standby_yanks: 1 });
    expect(JSON.parse(await readFile(join(dir, 'apps/demo/standby-yanks.json'), 'utf8'))).toEqual(
      app.standby_yanks,
    );
    const lines = (await readFile(join(dir, 'audit.ndjson'), 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(audit);
  });

  it('refuses a folder that is not empty, and never overwrites', async () => {
    const dir = await exported('twice');
    expect(await refusal(exportDeployment({ client: await serve(), dir }))).toMatch(/is not empty/);
  });

  it('refuses a damaged folder before sending anything', async () => {
    const dir = await exported('damaged');
    const client = new ApiClient({ server: 'http://127.0.0.1:9', token: 'tok' });
    const json = join(dir, 'apps/demo/releases/1.0.0.json');
    const original = await readFile(json, 'utf8');
    await writeFile(
      json,
      original.replace(/"release_sha256": "[0-9a-f]+"/, `"release_sha256": "${'c'.repeat(64)}"`),
    );
    expect(await refusal(importDeployment({ client, dir }))).toMatch(
      /1\.0\.0\.json does not belong to 1\.0\.0\.jws/,
    );
    await writeFile(json, original);
    await appendFile(join(dir, 'audit.ndjson'), '{"id": 8, "at": \n');
    expect(await refusal(importDeployment({ client, dir }))).toMatch(/audit\.ndjson line 8 is not JSON/);
  });

  it('reads a folder written before automatic rollback (no standby-yanks.json) as holding none', async () => {
    const dir = await exported('older');
    await rm(join(dir, 'apps/demo/standby-yanks.json'));
    const body = await readImportBody(dir, await readManifest(dir));
    expect(body.apps[0]?.standby_yanks).toEqual([]);
    expect(body.apps[0]?.yanks).toEqual(app.yanks);
  });

  it('refuses an audit log that is not the range manifest.json names', async () => {
    const dir = await exported('short-audit');
    const path = join(dir, 'audit.ndjson');
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    await writeFile(path, `${lines.slice(0, -1).join('\n')}\n`);
    const client = new ApiClient({ server: 'http://127.0.0.1:9', token: 'tok' });
    expect(await refusal(importDeployment({ client, dir }))).toMatch(/holds 6 rows .* says 7/);
  });

  it('answers argument mistakes in one line', async () => {
    expectOneLine(
      await runBin(['export', 'demo', '--all', join(work, 'x')]),
      /give --all or an app, not both/,
    );
    expectOneLine(await runBin(['export', join(work, 'x')]), /give an app or --all, then the folder/);
    expectOneLine(await runBin(['import', work]), /is not a complete export: manifest\.json is missing/);
  });
});
