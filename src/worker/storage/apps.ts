/** Apps and their channels in D1. */
import * as z from 'zod';
import { type ChannelInfo, type ChannelRule, channelRuleSchema } from '../../protocol/channels.ts';
import { isoSeconds, snapshotWindow } from './revisions.ts';

export interface ChannelRecord {
  app: string;
  name: string;
  public: boolean;
  revision: number;
  issued_at: string;
  expires: string;
  projected_revision: number;
  created_at: string;
}

export interface AppRecord {
  name: string;
  default_channel: string;
  rules: ChannelRule[];
  revision: number;
  webhook_url: string | null;
  /** The D1 binding that holds the app's telemetry (storage/telemetry-dbs.ts); never changes. */
  telemetry_db: string;
  created_at: string;
  updated_at: string;
  channels: ChannelRecord[];
}

/** An `apps` row as stored, settings included: what backups read and write. */
export interface AppsRow {
  name: string;
  default_channel: string;
  rules_json: string;
  revision: number;
  webhook_url: string | null;
  webhook_secret: string | null;
  default_plan_json: string | null;
  telemetry_db: string;
  created_at: string;
  updated_at: string;
}

/** The table's columns, in order. */
export const APPS_COLUMN_LIST = [
  'name',
  'default_channel',
  'rules_json',
  'revision',
  'webhook_url',
  'webhook_secret',
  'default_plan_json',
  'telemetry_db',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof AppsRow)[];

/** An app as AppRecord is made from: the settings stay with app-settings.ts. */
type AppRow = Omit<AppsRow, 'webhook_secret' | 'default_plan_json'>;

interface ChannelRow extends Omit<ChannelRecord, 'public'> {
  public: number;
}

/** A `channels` row as backups carry it: all but projected_revision, which the projector derives again. */
export type ChannelsRow = Omit<ChannelRow, 'projected_revision'>;

/** Its columns, in order. */
export const CHANNELS_BACKUP_COLUMN_LIST = [
  'app',
  'name',
  'public',
  'revision',
  'issued_at',
  'expires',
  'created_at',
] as const satisfies readonly (keyof ChannelsRow)[];

const rulesSchema = z.array(channelRuleSchema);
const CHANNEL_COLUMNS = 'app, name, public, revision, issued_at, expires, projected_revision, created_at';
// Named, not `*`: the webhook secret and settings stay out of every AppRecord (app-settings.ts has them).
const APP_COLUMNS = APPS_COLUMN_LIST.filter(
  (column) => column !== 'webhook_secret' && column !== 'default_plan_json',
).join(', ');

export const toChannel = (row: ChannelRow): ChannelRecord => ({ ...row, public: row.public === 1 });

function toApp(row: AppRow, channels: ChannelRecord[]): AppRecord {
  const { rules_json, ...rest } = row;
  return { ...rest, rules: rulesSchema.parse(JSON.parse(rules_json)), channels };
}

export async function getApp(db: D1Database, name: string): Promise<AppRecord | null> {
  const [apps, channels] = await db.batch<AppRow | ChannelRow>([
    db.prepare(`SELECT ${APP_COLUMNS} FROM apps WHERE name = ?1`).bind(name),
    db.prepare(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE app = ?1 ORDER BY name`).bind(name),
  ]);
  const row = apps?.results[0] as AppRow | undefined;
  if (!row) return null;
  return toApp(row, ((channels?.results ?? []) as ChannelRow[]).map(toChannel));
}

export async function listApps(db: D1Database): Promise<AppRecord[]> {
  const [apps, channels] = await db.batch<AppRow | ChannelRow>([
    db.prepare(`SELECT ${APP_COLUMNS} FROM apps ORDER BY name`),
    db.prepare(`SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY app, name`),
  ]);
  const byApp = new Map<string, ChannelRecord[]>();
  for (const row of (channels?.results ?? []) as ChannelRow[]) {
    byApp.set(row.app, [...(byApp.get(row.app) ?? []), toChannel(row)]);
  }
  return ((apps?.results ?? []) as AppRow[]).map((row) => toApp(row, byApp.get(row.name) ?? []));
}

/** Statements creating an app and its channels, each channel at revision 1 with a fresh window. */
export function insertApp(
  db: D1Database,
  app: { name: string; default_channel: string; channels: ChannelInfo[]; telemetry_db: string },
  now: Date,
): D1PreparedStatement[] {
  const at = isoSeconds(now);
  return [
    db
      .prepare(
        `INSERT INTO apps (name, default_channel, rules_json, revision, telemetry_db, created_at, updated_at)
         VALUES (?1, ?2, '[]', 1, ?3, ?4, ?4)`,
      )
      .bind(app.name, app.default_channel, app.telemetry_db, at),
    ...app.channels.map((ch) => insertChannel(db, app.name, ch, now)),
  ];
}

export function insertChannel(
  db: D1Database,
  app: string,
  channel: ChannelInfo,
  now: Date,
): D1PreparedStatement {
  const { issued_at, expires } = snapshotWindow(now);
  return db
    .prepare(
      `INSERT INTO channels (app, name, public, revision, issued_at, expires, projected_revision, created_at)
       VALUES (?1, ?2, ?3, 1, ?4, ?5, 0, ?6)`,
    )
    .bind(app, channel.name, channel.public ? 1 : 0, issued_at, expires, isoSeconds(now));
}

export function setChannelPublic(db: D1Database, app: string, channel: string, isPublic: boolean) {
  return db
    .prepare('UPDATE channels SET public = ?3 WHERE app = ?1 AND name = ?2')
    .bind(app, channel, isPublic ? 1 : 0);
}

export function setDefaultChannel(db: D1Database, app: string, channel: string): D1PreparedStatement {
  return db.prepare('UPDATE apps SET default_channel = ?2 WHERE name = ?1').bind(app, channel);
}

export function setRules(db: D1Database, app: string, rules: ChannelRule[]): D1PreparedStatement {
  return db.prepare('UPDATE apps SET rules_json = ?2 WHERE name = ?1').bind(app, JSON.stringify(rules));
}

/** Every channel of every app (for key changes, which re-sign them all). */
export async function listAllChannels(db: D1Database): Promise<ChannelRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY app, name`)
    .all<ChannelRow>();
  return results.map(toChannel);
}

/** Channels whose snapshot expires before `before`, or whose newest revision never reached KV. */
export async function listChannelsNeedingWork(db: D1Database, before: string, limit: number) {
  const { results } = await db
    .prepare(
      `SELECT ${CHANNEL_COLUMNS} FROM channels WHERE expires < ?1 OR projected_revision < revision
       ORDER BY expires LIMIT ?2`,
    )
    .bind(before, limit)
    .all<ChannelRow>();
  return results.map(toChannel);
}

/** Records that KV holds `revision` (never moves backwards). */
export function markProjected(db: D1Database, app: string, channel: string, revision: number) {
  return db
    .prepare(
      'UPDATE channels SET projected_revision = ?3 WHERE app = ?1 AND name = ?2 AND projected_revision < ?3',
    )
    .bind(app, channel, revision);
}

/** The current revision of each channel of `app`. */
export async function channelRevisions(db: D1Database, app: string): Promise<Map<string, number>> {
  const { results } = await db
    .prepare('SELECT name, revision FROM channels WHERE app = ?1')
    .bind(app)
    .all<{ name: string; revision: number }>();
  return new Map(results.map((r) => [r.name, r.revision]));
}
