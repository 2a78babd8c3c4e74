/**
 * Webhook outbox (docs/rollouts.md § Webhooks): a delivery row is written in the same D1 batch as the
 * action it reports, then posted with an HMAC signature and retried with backoff by later runs.
 *
 * Two runs may look at the same due row (a cron minute overlapping a slow one, or the scheduler and a
 * request both delivering). A run only posts a delivery after claiming it: an UPDATE conditional on
 * the `next_attempt_at` it read, which moves it a lease ahead and counts the attempt. Only one claim
 * changes the row, so a delivery is posted once per attempt, and an attempt whose run died mid-post
 * still counts towards the limit.
 */
import { signWebhook } from '../../protocol/webhook.ts';
import { isoSeconds } from './revisions.ts';

/** What a scheduler (or manual) rollout action reports. `text` is Slack-compatible. */
export interface WebhookEvent {
  event: 'rollout.advance' | 'rollout.complete' | 'rollout.halt';
  app: string;
  channel: string;
  version: string;
  from_bp: number;
  to_bp: number;
  reason: string;
  figures: unknown;
  at: string;
  text: string;
  /**
   * On a halt that published the rollout's standby yank (docs/protocol.md §6): the yank, where its clients go
   * back to (null: no baseline, they stay) and its hash. Absent on every other event.
   */
  rollback?: { rollback_to: string | null; yank_sha256: string };
}

/** Attempts in all: the first, then one after each delay of RETRY_DELAYS_MINUTES (about 2 h). */
export const MAX_ATTEMPTS = 8;
/** The wait after the n-th failed attempt (n = 1…7); the 8th failure is final. */
export const RETRY_DELAYS_MINUTES = [1, 2, 4, 8, 16, 32, 60] as const;
/** How long a claim keeps other runs off a delivery: longer than any run (BATCH posts of TIMEOUT_MS). */
const LEASE_MS = 5 * 60_000;
/** Deliveries per run, oldest first; the rest wait for the next minute. */
const BATCH = 20;
/** Posts in flight at once: one slow receiver does not hold up the others. */
const PARALLEL = 4;
const TIMEOUT_MS = 5_000;
/** How much of a failed response's body `last_error` keeps. */
const SNIPPET_CHARS = 200;

/**
 * A statement that queues `event` for the app's webhook (inserting nothing when the app has no
 * `webhook_url`), to run in the same batch as the action.
 */
export function enqueueWebhook(db: D1Database, event: WebhookEvent, now: Date): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO webhook_deliveries (app, url, event, body, attempts, next_attempt_at, created_at)
       SELECT name, webhook_url, ?2, ?3, 0, ?4, ?4 FROM apps WHERE name = ?1 AND webhook_url IS NOT NULL`,
    )
    .bind(event.app, event.event, JSON.stringify(event), isoSeconds(now));
}

interface DueRow {
  id: number;
  app: string;
  url: string;
  event: string;
  body: string;
  attempts: number;
  next_attempt_at: string;
  secret: string | null;
}

export interface DeliveryRun {
  /** Deliveries this run claimed and attempted. */
  attempted: number;
  delivered: number;
  failed: number;
  /** Due deliveries another run claimed first. */
  skipped: number;
}

export interface DeliveryOptions {
  /** Per-POST limit, headers and body included (default 5 s). */
  timeoutMs?: number;
}

/**
 * Posts every due delivery once (bounded per run); records outcomes; never throws for a failed POST.
 * A delivery is due while undelivered, under MAX_ATTEMPTS and still addressed to the app's current
 * `webhook_url` (settings re-target pending deliveries when the URL changes, and hold them while the
 * app has none).
 */
export async function deliverDueWebhooks(
  env: Env,
  now: Date,
  options: DeliveryOptions = {},
): Promise<DeliveryRun> {
  const run: DeliveryRun = { attempted: 0, delivered: 0, failed: 0, skipped: 0 };
  let due: DueRow[];
  try {
    ({ results: due } = await env.DB.prepare(
      `SELECT d.id, d.app, d.url, d.event, d.body, d.attempts, d.next_attempt_at, a.webhook_secret AS secret
       FROM webhook_deliveries d JOIN apps a ON a.name = d.app AND a.webhook_url = d.url
       WHERE d.delivered_at IS NULL AND d.attempts < ?2 AND d.next_attempt_at <= ?1
       ORDER BY d.id LIMIT ?3`,
    )
      .bind(isoSeconds(now), MAX_ATTEMPTS, BATCH)
      .all<DueRow>());
  } catch (error) {
    console.error('webhooks: listing due deliveries failed', error);
    return run;
  }
  const queue = [...due];
  const lane = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      try {
        const outcome = await deliverOne(env.DB, row, now, options.timeoutMs ?? TIMEOUT_MS);
        run[outcome] += 1;
        if (outcome !== 'skipped') run.attempted += 1;
      } catch (error) {
        // D1 failed around the POST: the lease expires and a later run tries again.
        console.error(`webhooks: delivery ${row.id} (${row.app}) failed to record`, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, lane));
  return run;
}

async function deliverOne(
  db: D1Database,
  row: DueRow,
  now: Date,
  timeoutMs: number,
): Promise<'delivered' | 'failed' | 'skipped'> {
  const claim = await db
    .prepare(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?3
       WHERE id = ?1 AND next_attempt_at = ?2 AND delivered_at IS NULL AND attempts < ?4`,
    )
    .bind(row.id, row.next_attempt_at, isoSeconds(new Date(now.getTime() + LEASE_MS)), MAX_ATTEMPTS)
    .run();
  if (claim.meta.changes !== 1) return 'skipped'; // another run has it
  const attempt = row.attempts + 1;
  const result = row.secret
    ? await post(row, row.secret, timeoutMs)
    : { status: null, error: 'the app has no webhook secret: rotate it in the settings' };
  if (result.error === null) {
    await db
      .prepare(
        'UPDATE webhook_deliveries SET delivered_at = ?2, last_status = ?3, last_error = NULL WHERE id = ?1',
      )
      .bind(row.id, isoSeconds(now), result.status)
      .run();
    return 'delivered';
  }
  const delay = RETRY_DELAYS_MINUTES[attempt - 1];
  // After the last attempt next_attempt_at keeps the time it was made: nothing is due any more.
  const next = new Date(now.getTime() + (delay ?? 0) * 60_000);
  await db
    .prepare(
      'UPDATE webhook_deliveries SET last_status = ?2, last_error = ?3, next_attempt_at = ?4 WHERE id = ?1',
    )
    .bind(row.id, result.status, result.error, isoSeconds(next))
    .run();
  const origin = URL.parse(row.url)?.origin ?? 'an invalid URL'; // the path may hold a secret (Slack)
  const retry = delay === undefined ? 'giving up' : `retrying at ${isoSeconds(next)}`;
  console.warn(
    `webhooks: delivery ${row.id} (${row.app}, ${row.event}) to ${origin} failed on attempt ` +
      `${attempt} of ${MAX_ATTEMPTS}: ${result.error}; ${retry}`,
  );
  return 'failed';
}

interface PostResult {
  status: number | null;
  /** null on a 2xx answer. */
  error: string | null;
}

async function post(row: DueRow, secret: string, timeoutMs: number): Promise<PostResult> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const response = await fetch(row.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'Updraft-Webhook/1',
        'X-Updraft-Event': row.event,
        'X-Updraft-Delivery': String(row.id),
        'X-Updraft-Timestamp': String(timestamp),
        'X-Updraft-Signature': await signWebhook(secret, timestamp, row.body),
      },
      body: row.body,
      // A redirect would re-send a signed body somewhere the admin never configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.ok) {
      await response.body?.cancel();
      return { status: response.status, error: null };
    }
    const snippet = await bodySnippet(response);
    return { status: response.status, error: `HTTP ${response.status}${snippet ? `: ${snippet}` : ''}` };
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') {
      return { status: null, error: `timed out after ${timeoutMs / 1000} s` };
    }
    return { status: null, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The start of a failed response's body (receivers often say why there), without reading all of it. */
async function bodySnippet(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < SNIPPET_CHARS) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body that fails or stalls mid-way still leaves the status to report.
  } finally {
    reader.cancel().catch(() => {});
  }
  return text.trim().replace(/\s+/g, ' ').slice(0, SNIPPET_CHARS);
}

export interface DeliveryRecord {
  id: number;
  event: string;
  url: string;
  attempts: number;
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

/** An app's deliveries, newest first. */
export async function listDeliveries(db: D1Database, app: string, limit: number): Promise<DeliveryRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT id, event, url, attempts, next_attempt_at, last_status, last_error, delivered_at, created_at
       FROM webhook_deliveries WHERE app = ?1 ORDER BY id DESC LIMIT ?2`,
    )
    .bind(app, limit)
    .all<DeliveryRecord>();
  return results;
}

/** Points the app's pending deliveries at its new webhook URL (run with the settings change). */
export function retargetPendingDeliveries(db: D1Database, app: string, url: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE webhook_deliveries SET url = ?2
       WHERE app = ?1 AND delivered_at IS NULL AND attempts < ?3 AND url <> ?2`,
    )
    .bind(app, url, MAX_ATTEMPTS);
}
