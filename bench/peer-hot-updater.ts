/**
 * The peer of `npm run bench -- --peer hot-updater`: the published `@hot-updater/cloudflare` Worker,
 * fetched from the npm registry into the run's scratch folder (never into the repository), served
 * from its own workerd through Miniflare like Updraft, with its D1 migrations applied and bundles
 * seeded through its own schema. BENCHMARKS.md says what its check does and why it is served so.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from 'miniflare';
import { unstable_splitSqlQuery } from 'wrangler';
import { medianRound, rpsOf } from './measure.ts';
import type { Served } from './servers.ts';
import type { LoadResult, ScenarioFigures, Workload } from './types.ts';

export const PEER_PACKAGE = '@hot-updater/cloudflare';
/** Where the published Worker mounts its update check (worker/src/index.ts, HOT_UPDATER_BASE_PATH). */
const BASE_PATH = '/api/check-update';
/** The bucket name a deploy writes into the migrations' `%%BUCKET_NAME%%` and the bundles' storage URIs. */
const BUCKET_NAME = 'bench-bundles';
/** The app's native version, which every seeded bundle targets (as `hot-updater deploy` records it). */
export const PEER_APP_VERSION = '1.0.0';
const CHANNEL = 'production';
/** The React Native SDK sends its version; from 0.31.0 on an up-to-date client gets `UP_TO_DATE`. */
const SDK_VERSION = '0.36.3';

export interface PeerPackage {
  version: string;
  /** worker/dist/index.js: the bundle `wrangler deploy` uploads (the package's `build:worker`). */
  bundlePath: string;
  /** A module beside it that serves the bundle's default export (installPeer says why). */
  entryPath: string;
  migrationsDir: string;
  /** worker/wrangler.json, as the package ships it. */
  config: { compatibility_date: string; compatibility_flags?: string[] };
}

const run = promisify(execFile);

/**
 * `npm pack <package>@<version>` into `dir` and unpacks it there: the package as published, without
 * its dependency tree, which the prebuilt Worker bundle does not need.
 */
export async function installPeer(dir: string, version = 'latest'): Promise<PeerPackage> {
  await mkdir(dir, { recursive: true });
  // Run by this Node when npm started us (npm_execpath), so that no other npm on PATH is picked.
  const npm = process.env.npm_execpath;
  const [command, prefix] = npm?.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
  const { stdout } = await run(
    command,
    [...prefix, 'pack', `${PEER_PACKAGE}@${version}`, '--pack-destination', dir, '--json'],
    { cwd: dir, env: { ...process.env, npm_config_update_notifier: 'false' } },
  );
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  if (!packed) throw new Error(`npm pack ${PEER_PACKAGE}@${version} printed no file`);
  await run('tar', ['-xzf', join(dir, packed.filename), '-C', dir]);
  const root = join(dir, 'package');
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  // The bundle also exports the constant HOT_UPDATER_BASE_PATH. Cloudflare's deploy tolerates that,
  // but local workerd takes every named export of the main module for an entrypoint and refuses to
  // start; an entry module that re-exports only the default handler serves the same code unchanged.
  const entryPath = join(root, 'worker', 'dist', 'bench-entry.js');
  await writeFile(entryPath, "export { default } from './index.js';\n");
  return {
    version: manifest.version,
    bundlePath: join(root, 'worker', 'dist', 'index.js'),
    entryPath,
    migrationsDir: join(root, 'worker', 'migrations'),
    config: JSON.parse(await readFile(join(root, 'worker', 'wrangler.json'), 'utf8')),
  };
}

/** A UUIDv7 (RFC 9562) of `ms`: hot-updater's bundle ids, whose order is their time order. */
export function uuidv7(ms: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The seeded history: the app was built a day before its first bundle; one bundle a minute after. */
const HISTORY_START_MS = Date.UTC(2026, 0, 1);
/** The client's built-in bundle: `MIN_BUNDLE_ID`, a UUIDv7 of its build time, and its bundle id too. */
export const BUILT_IN_BUNDLE_ID = uuidv7(HISTORY_START_MS - 24 * 3600 * 1000);

export interface PeerServed extends Served {
  /** The id of the newest bundle, which every check should offer. */
  newest: string;
}

/**
 * Serves the published Worker with `bundles` iOS bundles for app version 1.0.0 in its `production`
 * channel, one workerd and one D1 database per deployment, as `hot-updater init` deploys it.
 */
export async function startPeer(peer: PeerPackage, persistDir: string, bundles: number): Promise<PeerServed> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: [
        { type: 'ESModule', path: peer.entryPath },
        { type: 'ESModule', path: peer.bundlePath },
      ],
      modulesRoot: dirname(peer.bundlePath),
      compatibilityDate: peer.config.compatibility_date,
      compatibilityFlags: peer.config.compatibility_flags ?? [],
      d1Databases: { DB: 'hot-updater' },
      r2Buckets: { BUCKET: BUCKET_NAME },
      // A deploy sets JWT_SECRET to 32 random bytes in hex; the check signs each download URL with it.
      bindings: { JWT_SECRET: randomBytes(32).toString('hex') },
      resourcePersistencePath: persistDir,
      cf: false,
      host: '127.0.0.1',
      port: 0,
      log: new Log(LogLevel.WARN),
    }),
  );
  const url = await mf.ready;
  const db = await mf.getD1Database('DB');
  // As its deploy does: every migration with the bucket name filled in, then `d1 migrations apply`.
  const files = (await readdir(peer.migrationsDir)).filter((name) => name.endsWith('.sql')).sort();
  for (const file of files) {
    const sql = (await readFile(join(peer.migrationsDir, file), 'utf8')).replaceAll(
      '%%BUCKET_NAME%%',
      BUCKET_NAME,
    );
    await db.batch(unstable_splitSqlQuery(sql).map((statement) => db.prepare(statement)));
  }
  // The row `hot-updater deploy` commits for a zip bundle (the statement of its D1 plugin's
  // commitBundle), one a minute.
  const insert = db.prepare(
    `INSERT OR REPLACE INTO bundles (id, channel, enabled, should_force_update, file_hash, git_commit_hash,
       message, platform, target_app_version, storage_uri, fingerprint_hash, metadata, manifest_storage_uri,
       manifest_file_hash, asset_base_storage_uri, rollout_cohort_count, target_cohorts)
     VALUES (?1, ?2, 1, 0, ?3, ?4, ?5, 'ios', ?6, ?7, NULL, '{}', NULL, NULL, NULL, 1000, NULL)`,
  );
  const ids = Array.from({ length: bundles }, (_, i) => uuidv7(HISTORY_START_MS + i * 60_000));
  for (let from = 0; from < ids.length; from += 100) {
    await db.batch(
      ids
        .slice(from, from + 100)
        .map((id, k) =>
          insert.bind(
            id,
            CHANNEL,
            randomBytes(32).toString('hex'),
            randomBytes(20).toString('hex'),
            `bench bundle ${from + k + 1}`,
            PEER_APP_VERSION,
            `r2://${BUCKET_NAME}/${id}/bundle.zip`,
          ),
        ),
    );
  }
  const newest = ids[ids.length - 1];
  if (newest === undefined) throw new Error('the peer needs at least one bundle');
  return { mf, url, newest };
}

/**
 * The React Native SDK's check (DefaultResolver): iOS, app version 1.0.0, channel `production`, the
 * built-in bundle as both the minimum and the current bundle, and the device's cohort (1 to 1,000,
 * from a hash of its vendor id) as the last segment; every bundle is a candidate.
 */
export const peerCheckWorkload = (): Workload => ({
  kind: 'get',
  path: `${BASE_PATH}/app-version/ios/${PEER_APP_VERSION}/${CHANNEL}/${BUILT_IN_BUNDLE_ID}/${BUILT_IN_BUNDLE_ID}/{n}`,
  clients: 1_000,
  headers: { 'Hot-Updater-SDK-Version': SDK_VERSION },
});

/** Before measuring: the check must offer the newest bundle with a signed download URL. */
export async function expectPeerUpdate(served: PeerServed): Promise<void> {
  const workload = peerCheckWorkload();
  if (workload.kind !== 'get') return;
  for (const cohort of [1, 500, 1000]) {
    const response = await fetch(`${served.url.origin}${workload.path.replace('{n}', String(cohort))}`, {
      headers: workload.headers,
    });
    const body = await response.text();
    const answer = JSON.parse(body) as { id?: string; status?: string; fileUrl?: string } | null;
    if (
      response.status !== 200 ||
      answer?.id !== served.newest ||
      answer.status !== 'UPDATE' ||
      !answer.fileUrl
    ) {
      throw new Error(`hot-updater's check answered ${response.status}, expected ${served.newest}: ${body}`);
    }
  }
}

/** One level of the comparison: both checks in the round whose ratio is this level's median. */
export interface PeerLevel {
  updraft: ScenarioFigures;
  peer: ScenarioFigures;
  /** Updraft's checks per second divided by the peer's, in the same round. */
  ratio: number;
}

export interface PeerResults {
  name: 'hot-updater';
  package: string;
  version: string;
  /** The 1-minute load average when this phase started, some minutes into the run. */
  load_1m_at_start: number;
  /** By bundles (releases) in the channel. */
  levels: Record<string, PeerLevel>;
}

export interface PeerComparison {
  /** `latest` or a version of PEER_PACKAGE. */
  version: string;
  /** The run's scratch folder: the package and the peer's state go under it. */
  work: string;
  levels: readonly number[];
  rounds: number;
  /** Updraft's check of a channel with `level` releases, served by `updraft`. */
  updraft: Served;
  updraftCheck: (level: number) => Workload;
  load: (name: string, origin: URL, workload: Workload) => Promise<LoadResult>;
  log: (line: string) => void;
}

const figures = ({ rps, p50_ms, p99_ms }: LoadResult): ScenarioFigures => ({ rps, p50_ms, p99_ms });

/**
 * Serves one peer deployment per level, then measures Updraft's check and the peer's at each level
 * back to back, `rounds` times; each level counts the round whose ratio is its median.
 */
export async function comparePeer(options: PeerComparison): Promise<PeerResults> {
  const load = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const peer = await installPeer(join(options.work, 'peer'), options.version);
  options.log(`${PEER_PACKAGE}@${peer.version} unpacked`);
  const served: PeerServed[] = [];
  try {
    for (const level of options.levels) {
      const deployment = await startPeer(peer, join(options.work, 'peer-state', String(level)), level);
      served.push(deployment);
      await expectPeerUpdate(deployment);
    }
    const rounds: LoadResult[][][] = [];
    for (let round = 0; round < options.rounds; round++) {
      const runs: LoadResult[][] = [];
      for (const [i, level] of options.levels.entries()) {
        const deployment = served[i];
        if (!deployment) throw new Error(`no peer deployment for ${level} bundles`);
        runs.push([
          await options.load(
            `updraft check, ${level} releases`,
            options.updraft.url,
            options.updraftCheck(level),
          ),
          await options.load(`hot-updater check, ${level} bundles`, deployment.url, peerCheckWorkload()),
        ]);
      }
      rounds.push(runs);
    }
    const levels: Record<string, PeerLevel> = {};
    for (const [i, level] of options.levels.entries()) {
      const pairs = rounds.map((runs) => runs[i] ?? []);
      const [updraft, other] = medianRound(pairs, ([a, b]) => rpsOf(a) / rpsOf(b));
      if (!updraft || !other) throw new Error(`no runs at ${level} bundles`);
      levels[String(level)] = {
        updraft: figures(updraft),
        peer: figures(other),
        ratio: Math.round((updraft.rps / other.rps) * 100) / 100,
      };
    }
    return {
      name: 'hot-updater',
      package: PEER_PACKAGE,
      version: peer.version,
      load_1m_at_start: load,
      levels,
    };
  } finally {
    for (const deployment of served) await deployment.mf.dispose();
  }
}
