/**
 * One telemetry event (docs/protocol.md §5, docs/api.md "Telemetry"): the shape a client reports and the
 * Worker validates, one event at a time. Shared by the Worker and the client SDK; pure.
 */
import * as z from 'zod';
import { archSchema, clientIdSchema, nameSchema, platformSchema, versionSchema } from './documents.ts';
import { nameBasedUuid } from './encoding.ts';

export const EVENT_TYPES = [
  'check',
  'download_started',
  'download_succeeded',
  'download_failed',
  'install_succeeded',
  'install_failed',
  'rollback',
  'session',
] as const;
export const eventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof eventTypeSchema>;

/** The updaters Updraft answers, as events and client rows record them: its own SDK and the ones of docs/protocol.md §9 and §10. */
export const CLIENT_KINDS = ['sdk', 'electron', 'tauri', 'sparkle', 'squirrel', 'expo'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** How far ahead of the receiver's clock `occurred_at` may be (clock skew, not time travel). */
export const MAX_FUTURE_MS = 24 * 3600 * 1000;
/** How far back: older events would land past the retention export and skew nothing useful. */
export const MAX_PAST_MS = 400 * 24 * 3600 * 1000;
export const MAX_DURATION_MS = 86_400_000;
export const MAX_ERROR_MESSAGE = 256;
/** Sessions of one kind in one client's hour: far above any real app, low enough to bound a forged report. */
export const MAX_SESSIONS_PER_HOUR = 100_000;
/** A session report covers one UTC hour. */
export const HOUR_MS = 3600 * 1000;

/** The start of the UTC hour `ms` falls in, as a session report's `occurred_at`. */
export const sessionHour = (ms: number): string => new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString();

/** Which versions each type must carry: what the event is about must always be known. */
const REQUIRES_TO: ReadonlySet<EventType> = new Set([
  'download_started',
  'download_succeeded',
  'download_failed',
  'install_succeeded',
  'install_failed',
  'rollback',
]);
const REQUIRES_FROM: ReadonlySet<EventType> = new Set(['check', 'rollback', 'session']);

/** Same loose rule as check's `os_version`: starts with a digit, at most 32 characters. */
export const osVersionSchema = z
  .string()
  .regex(/^[0-9][0-9A-Za-z.+_-]{0,31}$/, 'must be an OS version such as 14.2, at most 32 characters');
export const errorCodeSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ : -');

const sessionCount = z.number().int().min(0).max(MAX_SESSIONS_PER_HOUR);

/**
 * A `session` event's counts (docs/protocol.md §5): the sessions of one client on one running version that
 * ended in one UTC hour, by how they ended: `ok`, `errored` (a handled error, the app went on),
 * `crashed`, `abnormal` (never ended: the app died without saying, found at the next start).
 */
export const sessionCountsSchema = z.object({
  ok: sessionCount,
  errored: sessionCount,
  crashed: sessionCount,
  abnormal: sessionCount,
});
export type SessionCounts = z.infer<typeof sessionCountsSchema>;

/** RFC 3339 with `Z` or an offset, any fractional precision. */
const rfc3339Schema = z.iso.datetime({ offset: true });

/** What `eventSchema` accepts from a client (before normalisation). */
const eventObject = z.object({
  id: z.uuid(),
  type: eventTypeSchema,
  client_id: clientIdSchema,
  channel: nameSchema,
  from_version: versionSchema.optional(),
  to_version: versionSchema.optional(),
  platform: platformSchema,
  arch: archSchema,
  os_version: osVersionSchema.optional(),
  error_code: errorCodeSchema.optional(),
  error_message: z.string().max(MAX_ERROR_MESSAGE).optional(),
  duration_ms: z.number().int().min(0).max(MAX_DURATION_MS).optional(),
  /** Only on `session` events, and required there. */
  sessions: sessionCountsSchema.optional(),
  occurred_at: rfc3339Schema,
});

/** A validated event: `id` lowercase, `occurred_at` normalised to UTC with milliseconds. */
export type TelemetryEvent = z.output<typeof eventObject>;
/** What a client sends. */
export type TelemetryEventInput = z.input<typeof eventObject>;

/**
 * The schema of one event, judged against the clock `now` (injectable for tests). The output has
 * `id` lowercased and `occurred_at` as `2026-11-21T18:00:00.000Z`, so text order is time order
 * and one UUID spelled in two cases is one event.
 */
export function eventSchema(now: () => Date = () => new Date()) {
  return eventObject
    .superRefine((event, ctx) => {
      if (REQUIRES_TO.has(event.type) && event.to_version === undefined) {
        ctx.addIssue({ code: 'custom', path: ['to_version'], message: `is required for ${event.type}` });
      }
      if (REQUIRES_FROM.has(event.type) && event.from_version === undefined) {
        ctx.addIssue({ code: 'custom', path: ['from_version'], message: `is required for ${event.type}` });
      }
      if (event.type === 'session') {
        const s = event.sessions;
        if (s === undefined) {
          ctx.addIssue({ code: 'custom', path: ['sessions'], message: 'is required for session' });
        } else if (s.ok + s.errored + s.crashed + s.abnormal < 1) {
          ctx.addIssue({ code: 'custom', path: ['sessions'], message: 'must count at least one session' });
        }
      } else if (event.sessions !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['sessions'],
          message: `is only for session events, not ${event.type}`,
        });
      }
      const at = Date.parse(event.occurred_at);
      const clock = now().getTime();
      if (event.type === 'session' && !Number.isNaN(at) && at % HOUR_MS !== 0) {
        // The id is derived from the hour, so one hour must have exactly one spelling.
        ctx.addIssue({
          code: 'custom',
          path: ['occurred_at'],
          message: 'must be the start of a UTC hour for session',
        });
      }
      if (Number.isNaN(at)) {
        ctx.addIssue({ code: 'custom', path: ['occurred_at'], message: 'is not a valid time' });
      } else if (at > clock + MAX_FUTURE_MS) {
        ctx.addIssue({ code: 'custom', path: ['occurred_at'], message: 'is more than 24 h in the future' });
      } else if (at < clock - MAX_PAST_MS) {
        ctx.addIssue({ code: 'custom', path: ['occurred_at'], message: 'is more than 400 days in the past' });
      }
    })
    .transform(
      (event): TelemetryEvent => ({
        ...event,
        id: event.id.toLowerCase(),
        occurred_at: new Date(event.occurred_at).toISOString(),
      }),
    );
}

/**
 * The release an event is about, by which rollups and metrics group it: `to_version` for
 * `download_*` and `install_*`, `from_version` for `check`, `rollback` (the version rolled back from)
 * and `session` (the version the sessions ran).
 */
export function eventVersion(event: TelemetryEvent): string {
  const version = REQUIRES_FROM.has(event.type) ? event.from_version : event.to_version;
  // eventSchema guarantees it; a hand-built event without it is a bug, not bad input.
  if (version === undefined) throw new Error(`a ${event.type} event needs its version`);
  return version;
}

/**
 * The version a client runs after the event, when the event says: the target of an
 * `install_succeeded` or `rollback`, else the `from_version` it reported (undefined when absent).
 */
export function installedVersionAfter(event: TelemetryEvent): string | undefined {
  return event.type === 'install_succeeded' || event.type === 'rollback'
    ? event.to_version
    : event.from_version;
}

/**
 * The id of a client's `session` report for one version and hour: name-based, so a report sent
 * again (a lost 202, a restored backup of the SDK's storage, a replay) is the same event and the
 * consumer stores it once. The app is part of the name because ids are unique across apps.
 *
 * @param hour the start of the UTC hour, `2026-11-21T18:00:00.000Z`
 */
export function sessionEventId(
  app: string,
  clientId: string,
  version: string,
  hour: string,
): Promise<string> {
  return nameBasedUuid(['updraft-session', app, clientId, version, hour]);
}

/** Events one intake request may carry (`POST /v1/apps/{app}/events`), and so one queue message. */
export const MAX_EVENTS = 100;

/** An event intake did not take: its index in the request, why, and a message. */
export interface Rejection {
  index: number;
  code: 'invalid_event' | 'rate_limited';
  message: string;
}

/** Intake's answer (202): how many events were taken, how many it had seen before, and the rest. */
export interface IntakeAnswer {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
}

/**
 * What intake puts on the queue: every event one request had accepted, in one message, with the app
 * and the time it was accepted. (Messages of one event each, with `app` and `received_at` beside the
 * event's own fields, were written before; the consumer still reads them.)
 */
export interface EventsMessage {
  app: string;
  received_at: string;
  /** The updater the events come from; absent for the SDK's own (intake). */
  kind?: ClientKind;
  events: TelemetryEvent[];
}
