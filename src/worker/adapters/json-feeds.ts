/**
 * What the two JSON update feeds of docs/protocol.md §9 share, Tauri's dynamic server format and Squirrel.Mac's:
 * the installed version read from the URL, the date format both parse, and the answers that carry no
 * update. Each feed's own shape stays in its module (tauri.ts, squirrel.ts).
 */
import type { Context } from 'hono';
import * as z from 'zod';
import { versionSchema } from '../../protocol/documents.ts';
import type { AppEnv } from '../types.ts';

/**
 * The installed version as these clients put it in the URL. Build metadata (`1.2.0+45`, which Tauri
 * sends percent-encoded as `%2B`) is dropped: semver ignores it when comparing, and Updraft's versions
 * never carry it. Anything else must be a strict semantic version.
 */
export const installedVersionSchema = z
  .string()
  .max(128)
  .transform((raw) => raw.replace(/\+[0-9A-Za-z.-]*$/, ''))
  .pipe(versionSchema);

/**
 * `published_at` as `2026-11-20T12:00:00Z`: RFC 3339 for Tauri (which parses it with the `time`
 * crate's Rfc3339) and, without fractional seconds, also what Squirrel.Mac's date formatter
 * (`yyyy-MM-dd'T'HH:mm:ssZZZZZ`) reads; a fraction would make it drop the date.
 */
export function pubDate(publishedAt: string): string {
  return `${new Date(publishedAt).toISOString().slice(0, 19)}Z`;
}

/** Per-client answers: never stored by a shared cache, revalidated by the client on every poll. */
export const FEED_CACHE_CONTROL = 'private, no-cache';

/**
 * 204 No Content: "no update" to both clients. `withheld` names an offer the client cannot take
 * (its artifact lacks what this client verifies), so an operator sees why with one `curl -i`.
 */
export function noUpdate(c: Context<AppEnv>, withheld?: string): Response {
  c.header('Cache-Control', FEED_CACHE_CONTROL);
  if (withheld !== undefined) c.header('Updraft-Withheld', withheld);
  return c.body(null, 204);
}

/** 204 while the channel's projection does not verify: nothing is served from it, not even in part. */
export function unverifiedNoUpdate(c: Context<AppEnv>): Response {
  c.header('Cache-Control', 'no-store');
  return c.body(null, 204);
}
