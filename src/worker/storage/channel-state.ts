/**
 * Everything one channel's snapshot and ChannelView are made of, read in one D1 batch (one
 * transaction), so the revision and the rows always belong together.
 */
import semverRcompare from 'semver/functions/rcompare.js';
import { type ChannelRecord, toChannel } from './apps.ts';
import { ROLLOUT_COLUMNS, type RolloutRecord } from './rollouts.ts';
import { YANK_COLUMNS, type YankRecord } from './yanks.ts';

export interface ListedRollout extends RolloutRecord {
  release_sha256: string;
  manifest_jws: string;
  /** The rollout's standby yank (docs/protocol.md §6), when one is armed: its hash, target and signing time. */
  standby_sha256: string | null;
  standby_rollback_to: string | null;
  standby_created_at: string | null;
}

export interface ListedYank extends YankRecord {
  /** The manifest of `rollback_to`, when there is one. */
  rollback_jws: string | null;
}

export interface ChannelState {
  channel: ChannelRecord;
  /** Highest version first. */
  rollouts: ListedRollout[];
  /** Every yank of the app, highest version first. */
  yanks: ListedYank[];
}

type ChannelRow = Omit<ChannelRecord, 'public'> & { public: number };

const prefixed = (alias: string, columns: string) =>
  columns
    .split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');

/** The state of every channel of `app` (or only of `only`), consistent with one another. */
export async function readChannelStates(
  db: D1Database,
  app: string,
  only?: readonly string[],
): Promise<ChannelState[]> {
  const [channels, rollouts, yanks] = await db.batch<ChannelRow | ListedRollout | ListedYank>([
    db
      .prepare(
        `SELECT app, name, public, revision, issued_at, expires, projected_revision, created_at
         FROM channels WHERE app = ?1 ORDER BY name`,
      )
      .bind(app),
    db
      .prepare(
        `SELECT ${prefixed('ro', ROLLOUT_COLUMNS)}, re.release_sha256, re.manifest_jws,
           sy.yank_sha256 AS standby_sha256, sy.rollback_to AS standby_rollback_to,
           sy.created_at AS standby_created_at
         FROM rollouts ro JOIN releases re ON re.app = ro.app AND re.version = ro.version
         LEFT JOIN standby_yanks sy ON sy.app = ro.app AND sy.channel = ro.channel AND sy.version = ro.version
         WHERE ro.app = ?1`,
      )
      .bind(app),
    db
      .prepare(
        `SELECT ${prefixed('y', YANK_COLUMNS)}, re.manifest_jws AS rollback_jws
         FROM yanks y LEFT JOIN releases re ON re.app = y.app AND re.version = y.rollback_to WHERE y.app = ?1`,
      )
      .bind(app),
  ]);
  const allRollouts = ((rollouts?.results ?? []) as ListedRollout[]).sort((a, b) =>
    semverRcompare(a.version, b.version),
  );
  const allYanks = ((yanks?.results ?? []) as ListedYank[]).sort((a, b) =>
    semverRcompare(a.version, b.version),
  );
  return ((channels?.results ?? []) as ChannelRow[])
    .map(toChannel)
    .filter((ch) => !only || only.includes(ch.name))
    .map((channel) => ({
      channel,
      rollouts: allRollouts.filter((r) => r.channel === channel.name),
      yanks: allYanks,
    }));
}

export async function readChannelState(
  db: D1Database,
  app: string,
  channel: string,
): Promise<ChannelState | null> {
  const [state] = await readChannelStates(db, app, [channel]);
  return state ?? null;
}
