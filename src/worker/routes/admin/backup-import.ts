/**
 * Checks an import (docs/backup.md § What an import checks) and turns it into D1 rows. Nothing is
 * written here: every signature and reference is checked first, so a refused import changes nothing.
 *
 * Signed documents are the authority: a release row is built from its verified manifest and a yank
 * row from its verified statement; the export's other fields for them are only cross-checked.
 */
import semverLt from 'semver/functions/lt.js';
import type { AppExport, ImportBody, ImportCounts, KeysEntry, TokenEntry } from '../../../protocol/backup.ts';
import {
  type DocumentKind,
  type KeysPayload,
  keysPayloadSchema,
  type PayloadOf,
  type PublicJwk,
} from '../../../protocol/documents.ts';
import { sha256Hex } from '../../../protocol/encoding.ts';
import { DocumentError, decodeDocument, verifyDocument } from '../../../protocol/jws.ts';
import { verifyKeysChain } from '../../../protocol/keys.ts';
import { badRequest, conflict } from '../../http/errors.ts';
import { type ImportRows, type ImportTarget, type TokenRow, tokenRow } from '../../storage/backup.ts';
import type { ReleasesRow } from '../../storage/releases.ts';
import { snapshotWindow } from '../../storage/revisions.ts';
import { parsePlan } from '../../storage/rollout-plans.ts';
import type { RolloutRecord } from '../../storage/rollouts.ts';
import type { StandbyYankRecord } from '../../storage/standby-yanks.ts';
import { CONTROL_DB } from '../../storage/telemetry-dbs.ts';
import { versionKey } from '../../storage/version-key.ts';
import type { YankRecord } from '../../storage/yanks.ts';
import { webhookUrlProblem } from './settings.ts';

/** A signed document to archive in R2 after the import (release manifests and yank statements). */
export interface ArchivedDocument {
  kind: 'release' | 'yank';
  app: string;
  version: string;
  jws: string;
}

export interface PreparedImport {
  rows: ImportRows;
  counts: ImportCounts;
  apps: string[];
  /** Every keys document of the chain, oldest first (those already here included). */
  keys: KeysEntry[];
  documents: ArchivedDocument[];
}

const invalid = (where: string, message: string) => badRequest('invalid_import', `${where}: ${message}`);

/** Verifies one document, naming where it sits in the import when it is refused. */
async function verified<K extends DocumentKind>(
  kind: K,
  jws: string,
  trusted: readonly PublicJwk[],
  where: string,
): Promise<PayloadOf<K>> {
  try {
    return await verifyDocument(kind, jws, trusted, { checkExpiry: false });
  } catch (error) {
    if (error instanceof DocumentError) throw badRequest(error.code, `${where}: ${error.message}`);
    throw error;
  }
}

/**
 * The keys chain: consecutive versions, the first signed by one of its own root keys (trust on
 * first use, as `POST /v1/admin/keys` does), each later one by a root key of the one before. An
 * expired last document is restored as it was (the source served it too); `keys rotate` replaces it.
 */
async function checkKeys(
  entries: readonly KeysEntry[],
  target: ImportTarget,
  online: PublicJwk,
): Promise<{ all: KeysEntry[]; fresh: KeysEntry[]; releaseKeys: PublicJwk[] }> {
  const all = [...entries].sort((a, b) => a.version - b.version);
  for (const [i, entry] of all.entries()) {
    const previous = all[i - 1];
    if (previous && entry.version !== previous.version + 1) {
      throw invalid(
        'keys',
        `versions must be consecutive; ${previous.version} is followed by ${entry.version}`,
      );
    }
  }
  const payloads: KeysPayload[] = [];
  try {
    const first = keysPayloadSchema.safeParse(decodeDocument(all[0]?.jws ?? '').payload);
    if (!first.success) throw new DocumentError('malformed', 'the first document is not a keys document');
    await verifyKeysChain(
      first.data.root,
      all.map((k) => k.jws),
      { checkExpiry: false },
    );
    for (const entry of all) payloads.push(keysPayloadSchema.parse(decodeDocument(entry.jws).payload));
  } catch (error) {
    if (error instanceof DocumentError) throw badRequest(error.code, `keys chain: ${error.message}`);
    throw error;
  }
  for (const [i, payload] of payloads.entries()) {
    if (payload.version !== all[i]?.version) {
      throw invalid(`keys.${all[i]?.version}`, `the document is version ${payload.version}`);
    }
  }
  // Keys already registered here must be the start of the imported chain, byte for byte.
  for (const [i, existing] of target.keys.entries()) {
    if (all[i]?.version !== existing.version || all[i]?.jws !== existing.jws) {
      throw conflict(
        'keys_differ',
        `this deployment's keys document ${existing.version} is not the one in the import; import into a deployment without keys, or with the same chain`,
      );
    }
  }
  const last = payloads.at(-1);
  if (!last?.online.some((k) => k.x === online.x)) {
    throw badRequest(
      'online_key_not_listed',
      `the Worker's online key ${online.kid} is not in online[] of keys document ${last?.version}; a restore must run with the exported deployment's UPDRAFT_ONLINE_KEY`,
    );
  }
  // Every release key the chain ever vouched for: the source accepted its documents under them.
  const releaseKeys = new Map<string, PublicJwk>();
  for (const payload of payloads) for (const key of payload.release) releaseKeys.set(key.kid, key);
  return { all, fresh: all.slice(target.keys.length), releaseKeys: [...releaseKeys.values()] };
}

/**
 * Tokens new to this deployment, as rows. A token limited to apps must name only apps of the import
 * (the deployment has none before it): a restore never widens or dangles a token's scope.
 */
function checkTokens(
  tokens: readonly TokenEntry[],
  target: ImportTarget,
  apps: ReadonlySet<string>,
): TokenRow[] {
  const ids = new Set<string>();
  const hashes = new Set<string>();
  const fresh: TokenRow[] = [];
  for (const token of tokens) {
    if (ids.has(token.id) || hashes.has(token.token_sha256)) {
      throw invalid(`tokens.${token.id}`, 'a token id or hash appears twice');
    }
    const missing = token.apps?.find((app) => !apps.has(app));
    if (missing !== undefined) {
      throw invalid(
        `tokens.${token.id}`,
        `the token is limited to app ${missing}, which the import does not hold`,
      );
    }
    ids.add(token.id);
    hashes.add(token.token_sha256);
    const same = target.tokens.find((t) => t.id === token.id || t.token_sha256 === token.token_sha256);
    if (!same) fresh.push(tokenRow(token));
    else if (same.id !== token.id || same.token_sha256 !== token.token_sha256) {
      throw conflict('token_conflict', `token ${token.id} clashes with a token of this deployment`);
    }
  }
  return fresh;
}

interface AppResult {
  rows: Pick<ImportRows, 'apps' | 'channels' | 'releases' | 'rollouts' | 'yanks' | 'standby_yanks'>;
  documents: ArchivedDocument[];
}

async function checkReleases(
  data: AppExport,
  releaseKeys: readonly PublicJwk[],
): Promise<{ rows: ReleasesRow[]; documents: ArchivedDocument[] }> {
  const name = data.app.name;
  const rows: ReleasesRow[] = [];
  const documents: ArchivedDocument[] = [];
  for (const entry of data.releases) {
    const where = `apps.${name}.releases.${entry.version}`;
    const release = await verified('release', entry.manifest, releaseKeys, where);
    if (release.app !== name) {
      throw badRequest('app_mismatch', `${where}: the manifest is for app ${release.app}`);
    }
    if (release.version !== entry.version) throw invalid(where, `the manifest is for ${release.version}`);
    if (rows.some((r) => r.version === release.version)) throw invalid(where, 'listed twice');
    const release_sha256 = await sha256Hex(entry.manifest);
    if (release_sha256 !== entry.release_sha256) {
      throw badRequest('sha256_mismatch', `${where}: release_sha256 is not the SHA-256 of the manifest`);
    }
    rows.push({
      app: name,
      version: release.version,
      version_key: versionKey(release.version),
      manifest_jws: entry.manifest,
      release_sha256,
      published_at: release.published_at,
      mandatory: release.mandatory ? 1 : 0,
      critical: release.critical ? 1 : 0,
      requires: release.requires,
      notes: release.notes,
      artifacts_json: JSON.stringify(release.artifacts),
      created_at: entry.created_at,
    });
    documents.push({ kind: 'release', app: name, version: release.version, jws: entry.manifest });
  }
  return { rows, documents };
}

async function checkYanks(
  data: AppExport,
  releases: ReadonlySet<string>,
  releaseKeys: readonly PublicJwk[],
): Promise<{ rows: YankRecord[]; documents: ArchivedDocument[] }> {
  const name = data.app.name;
  const rows: YankRecord[] = [];
  const documents: ArchivedDocument[] = [];
  for (const entry of data.yanks) {
    const where = `apps.${name}.yanks.${entry.version}`;
    const yank = await verified('yank', entry.yank, releaseKeys, where);
    if (yank.app !== name) throw badRequest('app_mismatch', `${where}: the yank is for app ${yank.app}`);
    if (yank.version !== entry.version) throw invalid(where, `the statement yanks ${yank.version}`);
    if (!releases.has(yank.version)) throw invalid(where, `${name} has no release ${yank.version}`);
    if (rows.some((r) => r.version === yank.version)) throw invalid(where, 'listed twice');
    if (
      yank.rollback_to !== null &&
      !(releases.has(yank.rollback_to) && semverLt(yank.rollback_to, yank.version))
    ) {
      throw invalid(
        where,
        `rollback_to ${yank.rollback_to} must be a release of ${name} lower than ${yank.version}`,
      );
    }
    const yank_sha256 = await sha256Hex(entry.yank);
    if (yank_sha256 !== entry.yank_sha256) {
      throw badRequest('sha256_mismatch', `${where}: yank_sha256 is not the SHA-256 of the statement`);
    }
    rows.push({
      app: name,
      version: yank.version,
      yank_jws: entry.yank,
      yank_sha256,
      rollback_to: yank.rollback_to,
      reason: yank.reason,
      yanked_at: yank.yanked_at,
      created_at: entry.created_at,
      expo_directive_signature: entry.expo_directive_signature ?? null,
    });
    documents.push({ kind: 'yank', app: name, version: yank.version, jws: entry.yank });
  }
  return { rows, documents };
}

/**
 * Standby yanks (docs/protocol.md §6) are checked as a promote checks one: signed by a release key, for this
 * app and version, held by a rollout of the import whose plan rolls back, the version not yanked, and
 * `rollback_to` null or a lower release that is not yanked either. They stay sealed: no R2 document.
 */
async function checkStandbyYanks(
  data: AppExport,
  rollouts: readonly RolloutRecord[],
  yanks: readonly YankRecord[],
  releases: ReadonlySet<string>,
  releaseKeys: readonly PublicJwk[],
): Promise<StandbyYankRecord[]> {
  const name = data.app.name;
  const yanked = new Set(yanks.map((y) => y.version));
  const rows: StandbyYankRecord[] = [];
  for (const entry of data.standby_yanks ?? []) {
    const where = `apps.${name}.standby_yanks.${entry.channel}/${entry.version}`;
    const yank = await verified('yank', entry.yank, releaseKeys, where);
    if (yank.app !== name) throw badRequest('app_mismatch', `${where}: the yank is for app ${yank.app}`);
    if (yank.version !== entry.version) throw invalid(where, `the statement yanks ${yank.version}`);
    const rollout = rollouts.find((r) => r.channel === entry.channel && r.version === entry.version);
    if (parsePlan(rollout?.plan_json ?? null)?.on_breach !== 'rollback') {
      throw invalid(where, `no rollout of ${entry.version} on ${entry.channel} has a plan that rolls back`);
    }
    if (rows.some((r) => r.channel === entry.channel && r.version === entry.version)) {
      throw invalid(where, 'listed twice');
    }
    if (yanked.has(yank.version)) throw invalid(where, `${yank.version} is yanked already`);
    if (
      yank.rollback_to !== null &&
      !(
        releases.has(yank.rollback_to) &&
        semverLt(yank.rollback_to, yank.version) &&
        !yanked.has(yank.rollback_to)
      )
    ) {
      throw invalid(
        where,
        `rollback_to ${yank.rollback_to} must be a release of ${name} lower than ${yank.version}, not yanked`,
      );
    }
    const yank_sha256 = await sha256Hex(entry.yank);
    if (yank_sha256 !== entry.yank_sha256) {
      throw badRequest('sha256_mismatch', `${where}: yank_sha256 is not the SHA-256 of the statement`);
    }
    rows.push({
      app: name,
      channel: entry.channel,
      version: yank.version,
      yank_jws: entry.yank,
      yank_sha256,
      rollback_to: yank.rollback_to,
      created_at: entry.created_at,
      expo_directive_signature: entry.expo_directive_signature ?? null,
    });
  }
  return rows;
}

function checkRollouts(
  data: AppExport,
  channels: ReadonlySet<string>,
  releases: ReadonlySet<string>,
): RolloutRecord[] {
  const name = data.app.name;
  const rows: RolloutRecord[] = [];
  for (const entry of data.rollouts) {
    const where = `apps.${name}.rollouts.${entry.channel}/${entry.version}`;
    if (!channels.has(entry.channel)) throw invalid(where, `${name} has no channel ${entry.channel}`);
    if (!releases.has(entry.version)) throw invalid(where, `${name} has no release ${entry.version}`);
    if (rows.some((r) => r.channel === entry.channel && r.version === entry.version)) {
      throw invalid(where, 'listed twice');
    }
    const steps = entry.plan?.steps_bp.length ?? 0;
    if (entry.plan ? entry.step === null || entry.step >= steps : entry.step !== null) {
      throw invalid(where, 'step must index the plan’s steps_bp, and be null without a plan');
    }
    rows.push({
      app: name,
      channel: entry.channel,
      version: entry.version,
      percent_bp: entry.percent_bp,
      salt: entry.salt,
      state: entry.state,
      plan_json: entry.plan ? JSON.stringify(entry.plan) : null,
      step: entry.step,
      step_started_at: entry.step_started_at,
      judgement_json:
        entry.judgement === null || entry.judgement === undefined ? null : JSON.stringify(entry.judgement),
      created_at: entry.created_at,
      updated_at: entry.updated_at,
    });
  }
  return rows;
}

async function checkApp(
  data: AppExport,
  releaseKeys: readonly PublicJwk[],
  telemetryDbs: readonly string[],
  now: Date,
): Promise<AppResult> {
  const { app } = data;
  const where = `apps.${app.name}`;
  // Older backups name none: their apps kept telemetry in DB. An unbound one would make every
  // telemetry read and write of the app fail, so it is refused here, before anything is written.
  const telemetryDb = app.telemetry_db ?? CONTROL_DB;
  if (!telemetryDbs.includes(telemetryDb)) {
    throw badRequest(
      'unknown_telemetry_db',
      `${where}.telemetry_db: ${telemetryDb} is not bound here (${telemetryDbs.join(', ')})`,
    );
  }
  const channels = new Set(data.channels.map((ch) => ch.name));
  if (channels.size !== data.channels.length) throw invalid(where, 'a channel is listed twice');
  if (!channels.has(app.default_channel)) throw invalid(where, `no default channel ${app.default_channel}`);
  for (const [i, rule] of app.rules.entries()) {
    if (!channels.has(rule.channel)) throw invalid(`${where}.rules.${i}`, `no channel ${rule.channel}`);
  }
  const problem = app.webhook_url === null ? null : webhookUrlProblem(app.webhook_url);
  if (problem) throw badRequest('invalid_webhook_url', `${where}.webhook_url ${problem}`);

  const releases = await checkReleases(data, releaseKeys);
  const versions = new Set(releases.rows.map((r) => r.version));
  const yanks = await checkYanks(data, versions, releaseKeys);
  const rollouts = checkRollouts(data, channels, versions);
  const standby = await checkStandbyYanks(data, rollouts, yanks.rows, versions, releaseKeys);
  // A fresh snapshot one revision past the exported one: clients that saw the old deployment's
  // snapshots accept it (revisions only grow), and it is signed by this Worker's online key.
  const window = snapshotWindow(now);
  return {
    rows: {
      apps: [
        {
          name: app.name,
          default_channel: app.default_channel,
          rules_json: JSON.stringify(app.rules),
          revision: app.revision,
          webhook_url: app.webhook_url,
          webhook_secret: app.webhook_secret,
          default_plan_json: app.default_plan === null ? null : JSON.stringify(app.default_plan),
          telemetry_db: telemetryDb,
          created_at: app.created_at,
          updated_at: app.updated_at,
        },
      ],
      channels: data.channels.map((ch) => ({
        app: app.name,
        name: ch.name,
        public: ch.public ? 1 : 0,
        revision: ch.revision + 1,
        ...window,
        created_at: ch.created_at,
      })),
      releases: releases.rows,
      rollouts,
      yanks: yanks.rows,
      standby_yanks: standby,
    },
    documents: [...releases.documents, ...yanks.documents],
  };
}

/** Checks everything in `body` against `target` and this Worker's online key; returns the rows to write. */
export async function prepareImport(
  body: ImportBody,
  target: ImportTarget,
  online: PublicJwk,
  now: Date,
): Promise<PreparedImport> {
  const keys = await checkKeys(body.keys, target, online);
  const tokens = checkTokens(body.tokens, target, new Set(body.apps.map((a) => a.app.name)));
  const rows: ImportRows = {
    keysets: keys.fresh,
    tokens,
    apps: [],
    channels: [],
    releases: [],
    rollouts: [],
    yanks: [],
    standby_yanks: [],
  };
  const documents: ArchivedDocument[] = [];
  const names = new Set<string>();
  for (const data of body.apps) {
    if (names.has(data.app.name)) throw invalid(`apps.${data.app.name}`, 'listed twice');
    names.add(data.app.name);
    const app = await checkApp(data, keys.releaseKeys, target.telemetryDbs, now);
    rows.apps.push(...app.rows.apps);
    rows.channels.push(...app.rows.channels);
    rows.releases.push(...app.rows.releases);
    rows.rollouts.push(...app.rows.rollouts);
    rows.yanks.push(...app.rows.yanks);
    rows.standby_yanks.push(...app.rows.standby_yanks);
    documents.push(...app.documents);
  }
  return {
    rows,
    counts: {
      keys: rows.keysets.length,
      tokens: rows.tokens.length,
      apps: rows.apps.length,
      channels: rows.channels.length,
      releases: rows.releases.length,
      rollouts: rows.rollouts.length,
      yanks: rows.yanks.length,
      standby_yanks: rows.standby_yanks.length,
    },
    apps: [...names],
    keys: keys.all,
    documents,
  };
}
