/**
 * Backup and restore through the real `updraft` binary between two real Workers under `wrangler dev`
 * (docs/backup.md): the first is seeded with the demo app and made rich (a private channel, routing
 * rules, a yank, a staged plan, a halted rollout, settings with a webhook, tokens); `export --all
 * --with-artifacts` writes it to a folder; `import --with-artifacts` restores it into the second,
 * empty one, which runs with a different admin token but the same online key (a restore is the same
 * deployment). Then both answer a grid of checks identically, byte for byte where signed.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appSettings } from '../../scripts/commands/app-settings.ts';
import { keysInit } from '../../scripts/commands/keys-init.ts';
import { promote } from '../../scripts/commands/promote.ts';
import { publish } from '../../scripts/commands/publish.ts';
import { tokenCreate } from '../../scripts/commands/token-create.ts';
import { tokenRevoke } from '../../scripts/commands/token-revoke.ts';
import { yank } from '../../scripts/commands/yank.ts';
import { ApiClient } from '../../scripts/lib/api.ts';
import { rolloutAction } from '../../scripts/lib/rollout-action.ts';
import { demoBytes, seed } from '../../scripts/seed.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { decodeDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { parsePrivateJwk, publicJwk } from '../../src/protocol/keys.ts';
import { runBin } from '../scripts/helpers.ts';
import { type DevServer, startDevServer } from './dev-server.ts';

const APP = 'demo';
let source: DevServer | undefined;
let target: DevServer | undefined;
let work = '';
let keysDir = '';
let onlineKey = '';
let publisherToken = '';

const dev = (server: DevServer | undefined): DevServer => {
  if (!server) throw new Error('a dev server did not start');
  return server;
};
const envOf = (server: DevServer | undefined): NodeJS.ProcessEnv => ({
  UPDRAFT_SERVER: dev(server).url,
  UPDRAFT_TOKEN: dev(server).adminToken,
  UPDRAFT_KEYS: keysDir,
});
const clientOf = (server: DevServer | undefined) =>
  new ApiClient({ server: dev(server).url, token: dev(server).adminToken });

async function cli(args: readonly string[], server: DevServer | undefined): Promise<string> {
  const result = await runBin(args, envOf(server), work);
  if (result.code !== 0) throw new Error(`updraft ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function publishVersion(client: ApiClient, version: string, mandatory = false): Promise<void> {
  const artifacts = [];
  for (const [platform, arch] of [
    ['linux', 'x64'],
    ['darwin', 'arm64'],
    ['windows', 'x64'],
  ] as const) {
    const path = join(work, `${APP}-${version}-${platform}-${arch}.bin`);
    await writeFile(path, demoBytes(`${APP}/${version}/${platform}-${arch}/extra`, 3000));
    artifacts.push({ platform, arch, path });
  }
  await publish({ client, keysDir, app: APP, version, artifacts, notes: `release ${version}`, mandatory });
}

/** The seeded demo, made rich: every kind of row the export must carry. */
async function enrich(client: ApiClient): Promise<void> {
  await client.request('PUT', `/v1/admin/apps/${APP}/channels/canary`, { json: { public: false } });
  await client.request('PUT', `/v1/admin/apps/${APP}/rules`, {
    json: {
      rules: [
        { channel: 'canary', match: { client_ids: ['qa-1', 'qa-2'] } },
        { channel: 'beta', match: { percent_bp: 1500, platforms: ['linux'] } },
      ],
    },
  });
  const plan = {
    steps_bp: [100, 1000, 5000, 10_000],
    bake_seconds: 3600,
    gates: { max_failure_rate: 0.05, max_rollback_rate: 0.02, min_installs: 20 },
  };
  await appSettings({
    client,
    app: APP,
    change: { webhook_url: 'http://127.0.0.1:9/updraft-hook', default_plan: plan },
  });
  await publishVersion(client, '1.0.1');
  await promote({ client, app: APP, version: '1.0.1', channel: 'stable', percentBp: 10_000 });
  await yank({
    client,
    keysDir,
    app: APP,
    version: '1.0.1',
    reason: 'corrupts settings',
    rollbackTo: '1.0.0',
  });
  await publishVersion(client, '1.2.0', true);
  await promote({ client, app: APP, version: '1.2.0', channel: 'canary', plan });
  await promote({ client, app: APP, version: '1.2.0', channel: 'beta', percentBp: 3000 });
  await rolloutAction('halt', {
    client,
    app: APP,
    version: '1.2.0',
    channel: 'beta',
    reason: 'crash reports',
  });
  await promote({ client, app: APP, version: '1.1.0', channel: 'beta', percentBp: 5000 });
  await rolloutAction('pause', { client, app: APP, version: '1.1.0', channel: 'beta' });
  publisherToken = (await tokenCreate({ client, name: 'ci', role: 'publisher', expiresAt: null })).token;
  const gone = await tokenCreate({ client, name: 'old laptop', role: 'analyst', expiresAt: null });
  await tokenRevoke({ client, id: gone.id });
}

interface Normalized {
  status: string;
  channel: string;
  version?: string;
  mandatory?: boolean;
  yanked?: boolean;
  artifact?: { path: string; sha256: string; size: number };
  release?: string;
  yank?: string;
  snapshot: unknown;
  revision: number;
}

/** A check answer with what may differ between deployments set apart: origin, revision, validity window. */
function normalize(answer: CheckResponse): Normalized {
  const {
    revision,
    issued_at: _,
    expires: __,
    ...snapshot
  } = decodeDocument(answer.signed.snapshot).payload as {
    revision: number;
    issued_at: string;
    expires: string;
  };
  return {
    status: answer.status,
    channel: answer.channel,
    version: answer.version,
    mandatory: answer.mandatory,
    yanked: answer.yanked,
    artifact: answer.artifact && {
      path: new URL(answer.artifact.url).pathname,
      sha256: answer.artifact.sha256,
      size: answer.artifact.size,
    },
    release: answer.signed.release,
    yank: answer.signed.yank,
    snapshot,
    revision,
  };
}

const CLIENTS = [...Array.from({ length: 16 }, (_, i) => `grid-${i}`), 'qa-1'];
const VERSIONS = ['0.9.0', '1.0.0', '1.0.1', '1.1.0', '1.2.0-beta.1'];
const TARGETS = [
  ['linux', 'x64'],
  ['darwin', 'arm64'],
  ['windows', 'x64'],
  ['linux', 'arm64'],
] as const;
const CHANNELS = [undefined, 'stable', 'beta', 'canary'];
const GRID = CLIENTS.flatMap((client_id) =>
  VERSIONS.flatMap((version) =>
    TARGETS.flatMap(([platform, arch]) =>
      CHANNELS.map((channel) => ({ client_id, version, platform, arch, ...(channel ? { channel } : {}) })),
    ),
  ),
);

async function answers(server: DevServer | undefined): Promise<CheckResponse[]> {
  const out: CheckResponse[] = [];
  for (let i = 0; i < GRID.length; i += 32) {
    const batch = GRID.slice(i, i + 32).map(async (query) => {
      const response = await fetch(`${dev(server).url}/v1/apps/${APP}/check?${new URLSearchParams(query)}`);
      if (response.status !== 200) throw new Error(`check ${JSON.stringify(query)}: ${response.status}`);
      return (await response.json()) as CheckResponse;
    });
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** Every file of a folder, by relative path. */
async function files(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(relative(dir, path), await readFile(path, 'latin1'));
  }
  return found;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'updraft-backup-'));
  keysDir = join(work, 'keys');
  await keysInit({ keysDir, offline: true });
  onlineKey = JSON.stringify(JSON.parse(await readFile(join(keysDir, 'online.json'), 'utf8')));
  // One after the other: both run wrangler's build step in this checkout.
  source = await startDevServer({ onlineKey });
  target = await startDevServer({ onlineKey });
  expect(target.adminToken).not.toBe(source.adminToken);
  const client = clientOf(source);
  await seed({ client, keysDir, telemetry: false });
  await enrich(client);
}, 300_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('export, then import into an empty deployment', () => {
  const exported = () => join(work, 'export');

  it('exports the whole deployment with its artifacts as readable files', async () => {
    const summary = JSON.parse(
      await cli(['export', '--all', exported(), '--with-artifacts', '--json'], source),
    );
    expect(summary).toMatchObject({
      format_version: 1,
      scope: 'all',
      apps: [APP],
      keys: [1],
      counts: { tokens: 2, channels: 3, releases: 5, yanks: 1 },
      artifacts: { included: true, files: 6 * 3 + 3 * 2 },
    });
    const folder = await files(exported());
    expect([...folder.keys()].filter((p) => !p.startsWith('artifacts/')).sort()).toEqual(
      [
        'apps/demo/app.json',
        'apps/demo/channels.json',
        'apps/demo/rollouts.json',
        'apps/demo/standby-yanks.json',
        ...['1.0.0', '1.0.1', '1.1.0', '1.2.0', '1.2.0-beta.1'].flatMap((v) => [
          `apps/demo/releases/${v}.json`,
          `apps/demo/releases/${v}.jws`,
        ]),
        'apps/demo/yanks/1.0.1.json',
        'apps/demo/yanks/1.0.1.jws',
        'audit.ndjson',
        'keys/1.json',
        'keys/1.jws',
        'manifest.json',
        'tokens.json',
      ].sort(),
    );
    const app = JSON.parse(folder.get('apps/demo/app.json') ?? '{}');
    expect(app).toMatchObject({ name: APP, webhook_url: 'http://127.0.0.1:9/updraft-hook' });
    expect(app.webhook_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(folder.get('apps/demo/channels.json')).toMatch(/^\[\n {2}\{\n {4}"name": "beta",/);
    const tokens = JSON.parse(folder.get('tokens.json') ?? '[]') as Record<string, unknown>[];
    expect(tokens.every((t) => typeof t.token_sha256 === 'string' && !('token' in t))).toBe(true);
    expect(folder.get('tokens.json')).not.toContain(publisherToken);
  });

  it('imports into the second server, uploading the artifacts', async () => {
    const summary = JSON.parse(await cli(['import', exported(), '--with-artifacts', '--json'], target));
    expect(summary).toMatchObject({
      apps: [APP],
      counts: { keys: 1, tokens: 2, apps: 1, channels: 3, releases: 5, rollouts: 7, yanks: 1 },
      artifacts: { uploaded: 24, missing: 0 },
    });
    expect(summary.audit.inserted).toBe(summary.audit.rows);
  });

  it('answers every check of the grid as the source does; signed documents byte for byte', async () => {
    const [before, after] = await Promise.all([answers(source), answers(target)]);
    expect(after).toHaveLength(GRID.length);
    const online = publicJwk(parsePrivateJwk(onlineKey));
    const revisions = new Map<string, [number, number]>();
    for (const [i, query] of GRID.entries()) {
      const a = normalize(before[i] as CheckResponse);
      const b = normalize(after[i] as CheckResponse);
      const { revision: ra, ...restA } = a;
      const { revision: rb, ...restB } = b;
      expect(restB, JSON.stringify(query)).toEqual(restA);
      revisions.set(a.channel, [ra, rb]);
    }
    // Each channel is one revision past the exported one, signed by the (same) online key.
    for (const [channel, [ra, rb]] of revisions) expect([channel, rb]).toEqual([channel, ra + 1]);
    await verifyDocument('channel', (after[0] as CheckResponse).signed.snapshot, [online]);
    const statuses = new Set(after.map((a) => a.status));
    expect([...statuses].sort()).toEqual(['none', 'rollback', 'update']);
    expect(new Set(after.map((a) => a.channel))).toEqual(new Set(['stable', 'beta', 'canary']));
  });

  it('serves the artifacts and the keys document, and keeps the old tokens working', async () => {
    const query = new URLSearchParams({
      client_id: 'grid-0',
      version: '0.9.0',
      // Not linux: the beta cohort rule (random salt) takes linux clients only.
      platform: 'darwin',
      arch: 'arm64',
    });
    const answer = (await fetch(`${dev(target).url}/v1/apps/${APP}/check?${query}`).then((r) =>
      r.json(),
    )) as CheckResponse;
    expect(answer).toMatchObject({ status: 'update', channel: 'stable' });
    const bytes = await fetch(answer?.artifact?.url ?? '').then((r) => r.arrayBuffer());
    expect(bytes.byteLength).toBe(answer?.artifact?.size);
    const keys = await Promise.all(
      [source, target].map((s) => fetch(`${dev(s).url}/v1/keys`).then((r) => r.json())),
    );
    expect(keys[1]).toEqual(keys[0]);
    const whoami = await new ApiClient({ server: dev(target).url, token: publisherToken }).get(
      '/v1/admin/whoami',
    );
    expect(whoami).toMatchObject({ role: 'publisher' });
  });

  it('restores the admin view: status, settings, audit log', async () => {
    const [a, b] = await Promise.all(
      [source, target].map((s) =>
        clientOf(s).get<{ channels: Record<string, unknown>[] }>(`/v1/admin/apps/${APP}/status`),
      ),
    );
    const strip = (view: { channels: Record<string, unknown>[] } | undefined) =>
      view?.channels.map(({ revision: _, issued_at: __, expires: ___, ...rest }) => rest);
    expect(strip(b)).toEqual(strip(a));
    const settings = await Promise.all(
      [source, target].map((s) => clientOf(s).get(`/v1/admin/apps/${APP}/settings`)),
    );
    expect(settings[1]).toEqual(settings[0]);
  });

  it('re-exports the same folder, but for revisions, times and the audit rows of the restore', async () => {
    const again = join(work, 'again');
    await cli(['export', '--all', again, '--with-artifacts'], target);
    const [first, second] = await Promise.all([files(exported()), files(again)]);
    expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
    for (const [path, text] of first) {
      if (path === 'manifest.json' || path === 'audit.ndjson' || path.endsWith('channels.json')) continue;
      expect(second.get(path), path).toBe(text);
    }
    // The audit log is the source's, ids and all, then the import and the artifact uploads.
    const lines = (text: string | undefined) => (text ?? '').trimEnd().split('\n');
    const [old, restored] = [lines(first.get('audit.ndjson')), lines(second.get('audit.ndjson'))];
    expect(restored.slice(0, old.length)).toEqual(old);
    expect(JSON.parse(restored[old.length] ?? '{}')).toMatchObject({ action: 'import', actor: 'bootstrap' });
    const channels = (text: string | undefined) =>
      JSON.parse(text ?? '[]') as { name: string; revision: number }[];
    expect(channels(second.get('apps/demo/channels.json')).map((c) => [c.name, c.revision])).toEqual(
      channels(first.get('apps/demo/channels.json')).map((c) => [c.name, c.revision + 1]),
    );
  });

  it('refuses a second import in one line: the deployment is not empty', async () => {
    const result = await runBin(['import', exported()], envOf(target), work);
    expect(result.code).toBe(1);
    // Progress lines come first on stderr; the refusal is one line, without a stack.
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^updraft: .*already has apps.*409 not_empty.*--audit-only\)?$/);
    expect(lines.filter((l) => l.startsWith('updraft:') || l.includes(' at '))).toHaveLength(1);
  });
});
