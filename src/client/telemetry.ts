/**
 * Telemetry (docs/protocol.md §5): events are built and validated here with the Worker's own schema, queued
 * in storage so they survive restarts, and sent in batches. Each event's id is made once, so a batch
 * sent twice (a lost 202) is counted once by the server.
 */
import * as z from 'zod';
import type { Arch, Platform } from '../protocol/documents.ts';
import { eventSchema, MAX_ERROR_MESSAGE, type TelemetryEvent } from '../protocol/telemetry.ts';
import { readJson, storageKeys, writeJson } from './store.ts';
import type { ReportInput, StorageAdapter } from './types.ts';

/** Oldest events are dropped beyond this: an app offline for months must not fill its storage. */
export const MAX_QUEUED_EVENTS = 1000;

export interface Identity {
  clientId: string;
  channel: string;
  platform: Platform;
  arch: Arch;
  osVersion: string | undefined;
  currentVersion: string;
}

/** The full event for `input`, validated as the server will; throws TypeError on a bad event. */
export function buildEvent(input: ReportInput, who: Identity, now: () => Date): TelemetryEvent {
  // What the app is running is the natural `from` of a check or a download; installs and rollbacks
  // happen across a version change, so there the app says.
  const defaultFrom = input.type === 'check' || input.type.startsWith('download_');
  const event = {
    id: crypto.randomUUID(),
    type: input.type,
    client_id: who.clientId,
    channel: who.channel,
    platform: who.platform,
    arch: who.arch,
    os_version: who.osVersion,
    from_version: input.from_version ?? (defaultFrom ? who.currentVersion : undefined),
    to_version: input.to_version,
    error_code: input.error_code,
    // An exception's message is what apps pass here; a long one is cut rather than the event lost.
    error_message: input.error_message?.slice(0, MAX_ERROR_MESSAGE),
    duration_ms: input.duration_ms,
    occurred_at: now().toISOString(),
  };
  const result = eventSchema(now).safeParse(event);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new TypeError(`report: invalid ${input.type} event: ${issues.join('; ')}`);
  }
  return result.data;
}

/** The queued events, each re-validated (one that has aged past the server's window is dropped). */
export async function loadQueue(
  storage: StorageAdapter,
  app: string,
  now: () => Date,
): Promise<TelemetryEvent[]> {
  const stored = await readJson(storage, storageKeys(app).events, z.array(z.unknown()));
  const schema = eventSchema(now);
  const events: TelemetryEvent[] = [];
  for (const item of stored ?? []) {
    const result = schema.safeParse(item);
    if (result.success) events.push(result.data);
  }
  return events;
}

/** Appends one event without re-validating the queue (each was validated when it was reported). */
export async function appendToQueue(
  storage: StorageAdapter,
  app: string,
  event: TelemetryEvent,
): Promise<void> {
  const stored = (await readJson(storage, storageKeys(app).events, z.array(z.unknown()))) ?? [];
  stored.push(event);
  await writeJson(storage, storageKeys(app).events, stored.slice(-MAX_QUEUED_EVENTS));
}

export function saveQueue(
  storage: StorageAdapter,
  app: string,
  events: readonly TelemetryEvent[],
): Promise<void> {
  return writeJson(storage, storageKeys(app).events, events.slice(-MAX_QUEUED_EVENTS));
}
