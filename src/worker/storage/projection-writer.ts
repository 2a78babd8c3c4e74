/**
 * Writes the projection the data plane reads (projection.ts) from D1, the source of truth.
 *
 * A channel's snapshot is a pure function of its D1 rows at one revision: the revision and the
 * validity window are set in the same statement that bumps them (revisions.ts) and Ed25519 signing
 * is deterministic, so two writers projecting the same revision produce the same bytes. A writer
 * never replaces a KV value of a newer revision, and after writing it re-reads D1: if a change
 * landed meanwhile it projects again, so the last writer always leaves KV at the newest revision.
 * Should a writer die half-way, `projected_revision` stays behind and the scheduler finishes the job.
 */
import type { AppConfig } from '../../protocol/channels.ts';
import { type ChannelPayload, type ReleasePayload, releasePayloadSchema } from '../../protocol/documents.ts';
import { decodeDocument, type PrivateJwk, signDocument, verifyDocument } from '../../protocol/jws.ts';
import { parsePrivateJwk, publicJwk } from '../../protocol/keys.ts';
import { pruneSnapshot } from '../../protocol/prune.ts';
import { type AppRecord, channelRevisions, getApp, markProjected } from './apps.ts';
import { type ChannelState, readChannelStates } from './channel-state.ts';
import { keysProjectionSchema } from './data-plane.ts';
import { keysetsFrom } from './keysets.ts';
import { putDocument } from './objects.ts';
import {
  appKey,
  type ChannelProjection,
  channelKey,
  KEYS_KEY,
  type KeysProjection,
  keysDocKey,
  snapshotDocKey,
} from './projection.ts';
import { forgetProjection } from './state-cache.ts';

/** Rounds of "project, then re-read D1" before leaving the rest to the scheduler. */
const MAX_ROUNDS = 3;

let cachedKey: { text: string; key: PrivateJwk } | undefined;

/** The online signing key from `UPDRAFT_ONLINE_KEY`, parsed once per isolate. Throws when it is unusable. */
export function onlineKey(env: Env): PrivateJwk {
  if (cachedKey?.text !== env.UPDRAFT_ONLINE_KEY) {
    cachedKey = { text: env.UPDRAFT_ONLINE_KEY, key: parsePrivateJwk(env.UPDRAFT_ONLINE_KEY) };
  }
  return cachedKey.key;
}

/**
 * Fails (500) before a change is committed when snapshots could not be signed after it, so a broken
 * `UPDRAFT_ONLINE_KEY` never leaves D1 ahead of KV.
 */
export function assertCanSign(env: Env): void {
  onlineKey(env);
}

/**
 * The `updraft-channel+jwt` payload of one channel state (docs/protocol.md §2): its live releases, pruned from
 * the full list by the protocol's rule (src/protocol/prune.ts), and every yank of the app.
 */
export function snapshotPayload(state: ChannelState): ChannelPayload {
  const full = fullSnapshotPayload(state);
  const manifests = new Map<string, ReleasePayload>();
  for (const r of state.rollouts) {
    const parsed = releasePayloadSchema.safeParse(decodeDocument(r.manifest_jws).payload);
    // Registered manifests were verified; one that no longer parses is kept listed, unpruned, as before.
    if (!parsed.success) return full;
    manifests.set(r.version, parsed.data);
  }
  return pruneSnapshot(full, manifests);
}

/** Every rollout of the channel and every yank of the app, before pruning. */
export function fullSnapshotPayload(state: ChannelState): ChannelPayload {
  const { channel } = state;
  return {
    app: channel.app,
    channel: channel.name,
    revision: channel.revision,
    issued_at: channel.issued_at,
    expires: channel.expires,
    releases: state.rollouts.map((r) => ({
      version: r.version,
      release_sha256: r.release_sha256,
      rollout: { percent_bp: r.percent_bp, salt: r.salt, state: r.state },
    })),
    yanked: state.yanks.map((y) => ({
      version: y.version,
      yank_sha256: y.yank_sha256,
      rollback_to: y.rollback_to,
    })),
  };
}

/** Signs a channel state and gathers every document its snapshot references. */
export async function buildChannelProjection(
  state: ChannelState,
  key: PrivateJwk,
): Promise<ChannelProjection> {
  const payload = snapshotPayload(state);
  const snapshot = await signDocument('channel', payload, key);
  const releases: Record<string, string> = {};
  const yanks: Record<string, string> = {};
  const expoDirectives: Record<string, string> = {};
  const listed = new Set(payload.releases.map((r) => r.version));
  for (const r of state.rollouts) if (listed.has(r.version)) releases[r.version] = r.manifest_jws;
  for (const y of state.yanks) {
    yanks[y.version] = y.yank_jws;
    if (y.rollback_to && y.rollback_jws) releases[y.rollback_to] = y.rollback_jws;
    if (y.expo_directive_signature) expoDirectives[y.version] = y.expo_directive_signature;
  }
  // Every version of the channel, listed or pruned: the adapters that learn a client's version from
  // something else than the version itself (Expo's update ids) and telemetry's installs read it.
  const history = state.rollouts.map((r) => r.version);
  if (Object.keys(expoDirectives).length === 0) return { snapshot, releases, yanks, history };
  return { snapshot, releases, yanks, history, expo_directives: expoDirectives };
}

/**
 * The revision of the snapshot a KV value holds, counted only when it is this channel's and this
 * Worker's online key signed it: a value it did not sign (tampered, not even JSON, another channel's,
 * or written under a rotated key) must not hold the projection back by claiming a high revision.
 * Writers re-read D1 after writing, so a value overwritten this way by an older revision is
 * projected again.
 */
async function projectedRevision(
  value: string,
  at: { app: string; name: string },
  key: PrivateJwk,
): Promise<number> {
  try {
    const { snapshot } = JSON.parse(value) as Partial<ChannelProjection>;
    if (typeof snapshot !== 'string') return 0;
    const payload = await verifyDocument('channel', snapshot, [publicJwk(key)], { checkExpiry: false });
    return payload.app === at.app && payload.channel === at.name ? payload.revision : 0;
  } catch {
    return 0;
  }
}

async function writeChannel(env: Env, state: ChannelState, key: PrivateJwk): Promise<void> {
  const { app, name, revision } = state.channel;
  const projection = await buildChannelProjection(state, key);
  const archived = await putDocument(env.BUCKET, snapshotDocKey(app, name, revision), projection.snapshot);
  if (!archived) {
    // Same revision, same rows, but other bytes: only a rotated online key does that. R2 keeps the first.
    console.warn(`snapshot ${app}/${name}@${revision} is already archived with other bytes`);
  }
  const kvKey = channelKey(app, name);
  const existing = await env.STATE.get(kvKey, 'text');
  if (existing !== null && (await projectedRevision(existing, { app, name }, key)) > revision) return;
  await env.STATE.put(kvKey, JSON.stringify(projection));
  forgetProjection(kvKey);
}

/**
 * Projects the channels `names` of `app` (all of them when omitted) at their current D1 revision.
 * Call after every committed change that touches them.
 */
export async function projectChannels(env: Env, app: string, names?: readonly string[]): Promise<void> {
  const key = onlineKey(env);
  let pending = names;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const states = await readChannelStates(env.DB, app, pending);
    if (states.length === 0) return;
    for (const state of states) await writeChannel(env, state, key);
    await env.DB.batch(states.map((s) => markProjected(env.DB, app, s.channel.name, s.channel.revision)));
    const now = await channelRevisions(env.DB, app);
    const moved = states.filter((s) => (now.get(s.channel.name) ?? 0) > s.channel.revision);
    if (moved.length === 0) return;
    pending = moved.map((s) => s.channel.name);
  }
}

export function appConfig(record: AppRecord): AppConfig {
  return {
    app: record.name,
    default_channel: record.default_channel,
    channels: record.channels.map((ch) => ({ name: ch.name, public: ch.public })),
    rules: record.rules,
  };
}

/** Writes `app:<app>` from D1, re-reading until no app-level change raced the write. */
export async function projectApp(env: Env, app: string): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const record = await getApp(env.DB, app);
    if (!record) return;
    await env.STATE.put(appKey(app), JSON.stringify(appConfig(record)));
    forgetProjection(appKey(app));
    const after = await getApp(env.DB, app);
    if (!after || after.revision === record.revision) return;
  }
}

/**
 * Brings the keys projection up to D1: archives in R2 every keys document from the one `keys:current`
 * names on, oldest first, then points `keys:current` at the newest. `keys:current` moves only once
 * every version below it is archived, so a client walking the chain (`GET /v1/keys/{version}`) finds
 * each link, even when an earlier registration died between its D1 commit and its projection: the
 * next registration, or the same document sent again, archives what it left out.
 */
export async function projectKeys(env: Env): Promise<void> {
  const shown = await currentKeysProjection(env.STATE);
  const pending = await keysetsFrom(env.DB, shown?.version ?? 1);
  const newest = pending.at(-1);
  // Up to date: every version below keys:current was archived before it moved there.
  if (!newest || (shown?.version === newest.version && shown.jws === newest.jws)) return;
  for (const row of pending) await putDocument(env.BUCKET, keysDocKey(row.version), row.jws);
  // Never replace a newer document that a concurrent registration projected meanwhile.
  const latest = await currentKeysProjection(env.STATE);
  if (latest && latest.version > newest.version) return;
  const value: KeysProjection = { version: newest.version, jws: newest.jws };
  await env.STATE.put(KEYS_KEY, JSON.stringify(value));
  forgetProjection(KEYS_KEY);
}

/** `keys:current`, or null when it is missing or not a keys projection (then it is rewritten). */
async function currentKeysProjection(kv: KVNamespace): Promise<KeysProjection | null> {
  let raw: unknown;
  try {
    raw = await kv.get(KEYS_KEY, 'json');
  } catch {
    return null;
  }
  const parsed = keysProjectionSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}
