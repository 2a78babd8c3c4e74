/**
 * What the Worker observes of the clients of docs/protocol.md §9 (their checks, with the version they run when
 * they say it, and their downloads) feeds the same telemetry pipeline as the SDK's own events,
 * marked with the client kind, so that adoption, stats, the dashboard and the gates see them.
 *
 * A check must not cost one stored row per poll. Each observed event therefore has an id derived
 * from what it says (app, client, version, and for checks a 12-hour period): the consumer stores an
 * id once, so a client polling every minute adds at most two check rows a day per version, and its
 * install of a version one row ever. The same key also spares the queue: an isolate sends each id
 * at most once while it remembers it.
 */
import type { Context } from 'hono';
import type { Arch, Platform } from '../../protocol/documents.ts';
import { nameBasedUuid, uuidName } from '../../protocol/encoding.ts';
import type { ClientKind, EventsMessage, TelemetryEvent } from '../../protocol/telemetry.ts';
import { loadChannel } from '../storage/state-cache.ts';
import { stateTtlMs } from '../storage/state-ttl.ts';
import type { AppEnv } from '../types.ts';

/** One check of an adapter's client, after its decision. */
export interface CheckObservation {
  kind: ClientKind;
  app: string;
  channel: string;
  clientId: string;
  /** The version the client runs, when it says it. */
  installed: string | undefined;
  /** The version offered, when the decision is an update or a rollback. */
  offered: string | undefined;
  platform: Platform;
  arch: Arch;
}

/** One download of an artifact URL that carries a client id (pipeline.ts `artifactUrl`). */
export interface DownloadObservation {
  kind: ClientKind;
  app: string;
  clientId: string;
  version: string;
  platform: Platform;
  arch: Arch;
}

/** Releases a client reports it could not launch (expo-updates' failed update ids, docs/protocol.md §10). */
export interface FailureObservation {
  kind: ClientKind;
  app: string;
  channel: string;
  clientId: string;
  /** The versions that failed there. */
  versions: readonly string[];
  /** The version it runs now, when known. */
  installed: string | undefined;
  errorCode: string;
  platform: Platform;
  arch: Arch;
}

/** A check is recorded once per client, version and period of this length. */
export const CHECK_PERIOD_MS = 12 * 3600 * 1000;
/** Events this isolate has sent recently, by the name of their id; forgotten all at once when full. */
const MAX_REMEMBERED = 20_000;
const sent = new Set<string>();

/**
 * Records a check without delaying the answer (the work runs after it, in `waitUntil`): a `check`
 * event from the version the client runs, and, when that version is a release of the channel, its
 * install (the first time this client is seen on it). Nothing when the client does not say its
 * version: only its downloads are counted then.
 */
export function observeCheck(c: Context<AppEnv>, observation: CheckObservation): void {
  const { installed } = observation;
  if (installed === undefined) return;
  const now = new Date();
  const names = checkNames(observation, installed, now);
  // A fleet polls again and again: once this client's check of this version in this period and its
  // install are sent, a poll has nothing to record, and nothing is left to run after the answer.
  if (sent.has(uuidName(names.check)) && sent.has(uuidName(names.install))) return;
  c.executionCtx.waitUntil(
    recordCheck(c, { ...observation, installed }, names, now).catch((error: unknown) => {
      console.error(`observe: dropping a check of ${observation.app}: ${String(error)}`);
    }),
  );
}

/** The names of a check's two events: its `check` (one per period) and its install (one ever). */
function checkNames(o: CheckObservation, installed: string, now: Date) {
  const period = Math.floor(now.getTime() / CHECK_PERIOD_MS);
  return {
    check: [o.app, o.clientId, installed, 'check', String(period)],
    install: [o.app, o.clientId, installed, 'install'],
  };
}

/** Records a download (`download_started`, once per client and version) after the response is sent. */
export function observeDownload(c: Context<AppEnv>, observation: DownloadObservation): void {
  const { app, clientId, version, kind } = observation;
  const now = new Date();
  const download: Observed = {
    name: [app, clientId, version, 'download'],
    event: {
      type: 'download_started',
      client_id: clientId,
      // The artifact URL names no channel; downloads group by release, not channel, in the metrics.
      channel: 'unknown',
      to_version: version,
      platform: observation.platform,
      arch: observation.arch,
      occurred_at: now.toISOString(),
    },
  };
  c.executionCtx.waitUntil(
    send(c, { app, kind }, [download], now).catch((error: unknown) => {
      console.error(`observe: dropping a download of ${observation.app}: ${String(error)}`);
    }),
  );
}

/**
 * Records each reported failure as an `install_failed` of that version, once per client and version
 * however often the client repeats it, after the response is sent.
 */
export function observeFailures(c: Context<AppEnv>, observation: FailureObservation): void {
  if (observation.versions.length === 0) return;
  const { app, clientId, kind } = observation;
  const now = new Date();
  const failures = observation.versions.map(
    (version): Observed => ({
      name: [app, clientId, version, 'install_failed'],
      event: {
        type: 'install_failed',
        client_id: clientId,
        channel: observation.channel,
        ...(observation.installed === undefined ? {} : { from_version: observation.installed }),
        to_version: version,
        error_code: observation.errorCode,
        platform: observation.platform,
        arch: observation.arch,
        occurred_at: now.toISOString(),
      },
    }),
  );
  c.executionCtx.waitUntil(
    send(c, { app, kind }, failures, now).catch((error: unknown) => {
      console.error(`observe: dropping failures of ${observation.app}: ${String(error)}`);
    }),
  );
}

async function recordCheck(
  c: Context<AppEnv>,
  o: CheckObservation & { installed: string },
  names: ReturnType<typeof checkNames>,
  now: Date,
): Promise<void> {
  const common = {
    client_id: o.clientId,
    channel: o.channel,
    platform: o.platform,
    arch: o.arch,
    occurred_at: now.toISOString(),
  };
  const observed: Observed[] = [
    { name: names.check, event: { ...common, type: 'check', from_version: o.installed } },
  ];
  // The isolate's cached state: no KV read on a warm isolate, the check just loaded it.
  const state = await loadChannel(c.env.STATE, o.app, o.channel, stateTtlMs(c.env));
  // Any version of the channel's history, listed in the pruned snapshot or not.
  if (state?.verified === true && state.channelVersions.has(o.installed)) {
    observed.push({
      name: names.install,
      event: { ...common, type: 'install_succeeded', to_version: o.installed },
    });
  }
  await send(c, { app: o.app, kind: o.kind }, observed, now);
}

/** An observed event before its id, and the name its id is derived from (`nameBasedUuid`). */
interface Observed {
  name: readonly string[];
  event: Omit<TelemetryEvent, 'id'>;
}

/**
 * Queues the events this isolate has not sent yet, as one intake message. What was sent is known by
 * the name an id is hashed from (`uuidName`, the text `nameBasedUuid` hashes), so a client polling again
 * costs no hash at all; only a new event is given its id.
 */
async function send(
  c: Context<AppEnv>,
  message: Pick<EventsMessage, 'app' | 'kind'>,
  observed: readonly Observed[],
  now: Date,
): Promise<void> {
  const fresh = observed.filter((o) => !sent.has(uuidName(o.name)));
  if (fresh.length === 0) return;
  const events = await Promise.all(
    fresh.map(
      async ({ name, event }): Promise<TelemetryEvent> => ({ ...event, id: await nameBasedUuid(name) }),
    ),
  );
  await c.env.EVENTS.send({ ...message, received_at: now.toISOString(), events } satisfies EventsMessage);
  if (sent.size + fresh.length > MAX_REMEMBERED) sent.clear();
  for (const o of fresh) sent.add(uuidName(o.name));
}
