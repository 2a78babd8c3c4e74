/**
 * Session counting (docs/protocol.md §5, docs/client.md "Sessions"): the app says when a session starts and
 * ends and marks it errored or crashed; the SDK counts the sessions per running version and UTC hour
 * in storage, and `flush()` turns every finished hour into one `session` event whose id is derived
 * from client, version and hour, so a report sent twice is stored once by the server.
 *
 * A session is counted in the hour it ends (a crash ends it; one the app never ended is found open
 * at the next start and counted then, as `abnormal`). So counts only ever go into the current hour,
 * and an hour once finished, and reported, never changes.
 */
import * as z from 'zod';
import { versionSchema } from '../protocol/documents.ts';
import {
  eventSchema,
  MAX_SESSIONS_PER_HOUR,
  type SessionCounts,
  sessionEventId,
  sessionHour,
  type TelemetryEvent,
} from '../protocol/telemetry.ts';
import { readJson, storageKeys, writeJson } from './store.ts';
import { type Identity, loadQueue, saveQueue } from './telemetry.ts';
import type { StorageAdapter } from './types.ts';

/** The calls an app makes about its sessions; each persists before it resolves. */
export interface Sessions {
  /**
   * A session of the running version begins (call once at app start, and again when the app comes
   * back to the foreground if a "session" is a foreground period for it). A session still open from
   * an earlier run, which the app never ended, is counted `abnormal` now; one still open from this
   * run ends as it stands.
   */
  start(): Promise<void>;
  /** The current session had a handled error but goes on: it ends `errored` (unless it crashes). */
  markErrored(): Promise<void>;
  /** The current session crashed: it is counted `crashed` and ends now. Call from the crash handler, and await it. */
  markCrashed(): Promise<void>;
  /** The current session ends normally (`ok`, or `errored` if so marked). Without a session open, nothing happens. */
  end(): Promise<void>;
}

type Outcome = keyof SessionCounts;

const countSchema = z.number().int().min(0).max(MAX_SESSIONS_PER_HOUR);
const stateSchema = z.object({
  /** The session in progress; `run` tells this process's session from one an earlier run left open. */
  open: z.object({ run: z.string(), version: versionSchema, errored: z.boolean() }).nullable(),
  /** Counts by version and hour (`2026-11-21T18:00:00.000Z`), not yet turned into events. */
  hours: z.array(
    z.object({
      version: versionSchema,
      hour: z.string(),
      ok: countSchema,
      errored: countSchema,
      crashed: countSchema,
      abnormal: countSchema,
    }),
  ),
});
type State = z.infer<typeof stateSchema>;

const hourOf = (at: Date) => sessionHour(at.getTime());

export interface SessionContext {
  storage: StorageAdapter;
  app: string;
  now: () => Date;
  /** The running version, read when a session starts. */
  version: () => string;
  /** Shared with report() and flush(): every read-modify-write of storage runs alone. */
  lock: <T>(section: () => Promise<T>) => Promise<T>;
}

async function load(ctx: Pick<SessionContext, 'storage' | 'app'>): Promise<State> {
  return (
    (await readJson(ctx.storage, storageKeys(ctx.app).sessions, stateSchema)) ?? { open: null, hours: [] }
  );
}

function count(state: State, version: string, hour: string, outcome: Outcome): void {
  let entry = state.hours.find((h) => h.version === version && h.hour === hour);
  if (!entry) {
    entry = { version, hour, ok: 0, errored: 0, crashed: 0, abnormal: 0 };
    state.hours.push(entry);
  }
  entry[outcome] = Math.min(MAX_SESSIONS_PER_HOUR, entry[outcome] + 1);
}

/** The session calls of one updater. */
export function createSessions(ctx: SessionContext): Sessions {
  // Which open session is this process's: one left by an earlier run carries another token.
  let run: string | undefined;
  const update = (change: (state: State, hour: string) => void) =>
    ctx.lock(async () => {
      const state = await load(ctx);
      change(state, hourOf(ctx.now()));
      await writeJson(ctx.storage, storageKeys(ctx.app).sessions, state);
    });
  const close = (state: State, hour: string, crashed: boolean) => {
    const open = state.open;
    if (!open) return;
    const outcome: Outcome = crashed
      ? 'crashed'
      : open.run !== run
        ? 'abnormal'
        : open.errored
          ? 'errored'
          : 'ok';
    count(state, open.version, hour, outcome);
    state.open = null;
  };
  return {
    start: () =>
      update((state, hour) => {
        close(state, hour, false);
        run = crypto.randomUUID();
        state.open = { run, version: ctx.version(), errored: false };
      }),
    markErrored: () =>
      update((state) => {
        if (state.open && state.open.run === run) state.open.errored = true;
      }),
    markCrashed: () =>
      update((state, hour) => {
        if (state.open && state.open.run === run) close(state, hour, true);
      }),
    end: () =>
      update((state, hour) => {
        if (state.open && state.open.run === run) close(state, hour, false);
      }),
  };
}

/**
 * Moves the counts of every finished hour into the telemetry queue as `session` events (before a
 * flush sends it). The current hour stays: it may still grow. An hour the server would refuse (older
 * than it accepts) is dropped. Runs inside the lock.
 */
export async function queueFinishedHours(
  ctx: Pick<SessionContext, 'storage' | 'app' | 'now'>,
  who: Omit<Identity, 'currentVersion'>,
): Promise<void> {
  const state = await load(ctx);
  const current = hourOf(ctx.now());
  const finished = state.hours.filter((h) => h.hour < current);
  if (finished.length === 0) return;
  const schema = eventSchema(ctx.now);
  const events: TelemetryEvent[] = [];
  for (const { version, hour, ...sessions } of finished) {
    const parsed = schema.safeParse({
      id: await sessionEventId(ctx.app, who.clientId, version, hour),
      type: 'session',
      client_id: who.clientId,
      channel: who.channel,
      platform: who.platform,
      arch: who.arch,
      os_version: who.osVersion,
      from_version: version,
      sessions,
      occurred_at: hour,
    });
    if (parsed.success) events.push(parsed.data);
  }
  // Queue first, then forget the hours: if the second write is lost, the same ids are queued again
  // (replacing these) and the server stores each report once anyway.
  const ids = new Set(events.map((e) => e.id));
  const queue = await loadQueue(ctx.storage, ctx.app, ctx.now);
  await saveQueue(ctx.storage, ctx.app, [...queue.filter((e) => !ids.has(e.id)), ...events]);
  state.hours = state.hours.filter((h) => h.hour >= current);
  await writeJson(ctx.storage, storageKeys(ctx.app).sessions, state);
}
