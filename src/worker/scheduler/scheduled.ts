/**
 * The cron handler (every minute). First judges the staged rollouts (scheduler/rollouts.ts): their
 * actions re-sign the channels they touch. Then re-signs every channel snapshot issued more than a
 * day ago, so a snapshot is re-issued daily and never lapses (docs/protocol.md §2), and finishes any projection
 * a failed request left behind (a D1 revision KV has not seen yet), exports expired raw telemetry to
 * R2 from every telemetry database (storage/telemetry-export.ts), expires artifact uploads no release registered
 * (storage/upload-sweep.ts), and finally posts due webhooks. Each part fails on its own.
 */

import { type ChannelRecord, listChannelsNeedingWork } from '../storage/apps.ts';
import { auditStatement } from '../storage/audit.ts';
import { projectChannels } from '../storage/projection-writer.ts';
import { bumpChannel, commit, isoSeconds, RevisionConflict, snapshotWindow } from '../storage/revisions.ts';
import { CONTROL_DB, telemetryDatabases } from '../storage/telemetry-dbs.ts';
import { exportExpiredEvents, retentionDays } from '../storage/telemetry-export.ts';
import { expireUnregisteredUploads } from '../storage/upload-sweep.ts';
import { uploadTtlHours } from '../storage/uploads.ts';
import { deliverDueWebhooks } from '../storage/webhooks.ts';
import { judgeRollouts } from './rollouts.ts';

/**
 * Re-sign a snapshot once it is a day old (docs/protocol.md §2: the scheduler re-signs daily): snapshots live
 * 7 days, so one expiring within 6 days was issued more than a day ago. Clients then never hold a
 * snapshot older than a day from a healthy deployment, and a freeze shows within 7.
 */
export const RESIGN_WINDOW_MS = 6 * 24 * 3600 * 1000;
/** Channels handled per run; the rest wait for the next minute. */
const BATCH = 200;

async function resign(env: Env, channel: ChannelRecord, now: Date): Promise<boolean> {
  const next = snapshotWindow(now);
  try {
    await commit(
      env.DB,
      [
        ...bumpChannel(env.DB, channel.app, channel.name, channel.revision, now),
        auditStatement(
          env.DB,
          {
            actor: 'scheduler',
            action: 'channel.resign',
            app: channel.app,
            target: channel.name,
            before: { revision: channel.revision, expires: channel.expires },
            after: {
              revision: channel.revision + 1,
              expires: next.expires,
              reason: 'snapshot is a day old',
            },
          },
          isoSeconds(now),
        ),
      ],
      false,
    );
    return true;
  } catch (error) {
    // Someone else changed the channel meanwhile, which re-signed it: nothing left to do.
    if (error instanceof RevisionConflict) return false;
    throw error;
  }
}

export async function runScheduled(env: Env, now: Date): Promise<void> {
  try {
    await judgeRollouts(env, now);
  } catch (error) {
    console.error('scheduled: judging staged rollouts failed', error);
  }
  const horizon = isoSeconds(new Date(now.getTime() + RESIGN_WINDOW_MS));
  const due = await listChannelsNeedingWork(env.DB, horizon, BATCH);
  const apps = new Map<string, Set<string>>();
  for (const channel of due) {
    try {
      if (channel.expires < horizon) await resign(env, channel, now);
    } catch (error) {
      console.error(`scheduled: re-signing ${channel.app}/${channel.name} failed`, error);
    }
    apps.set(channel.app, (apps.get(channel.app) ?? new Set()).add(channel.name));
  }
  for (const [app, names] of apps) {
    try {
      await projectChannels(env, app, [...names]);
    } catch (error) {
      console.error(`scheduled: projecting ${app} failed`, error);
    }
  }
  // Each telemetry database exports its own apps' events (docs/protocol.md §11), with its own budget; R2 keys
  // are per app, and an app's events are in one database, so two databases never write one partition.
  for (const { name, db } of telemetryDatabases(env)) {
    try {
      await exportExpiredEvents(db, env.BUCKET, {
        now,
        retentionDays: retentionDays(env.TELEMETRY_RETENTION_DAYS),
      });
    } catch (error) {
      const of = name === CONTROL_DB ? '' : ` of ${name}`;
      console.error(`scheduled: exporting expired telemetry${of} failed`, error);
    }
  }
  try {
    await expireUnregisteredUploads(env.DB, env.BUCKET, {
      now,
      ttlHours: uploadTtlHours(env.UNREGISTERED_UPLOAD_TTL_HOURS),
    });
  } catch (error) {
    console.error('scheduled: expiring unregistered uploads failed', error);
  }
  // Last, so a slow webhook endpoint never delays re-signing; a failed delivery never fails the run.
  try {
    await deliverDueWebhooks(env, now);
  } catch (error) {
    console.error('scheduled: delivering webhooks failed', error);
  }
}
