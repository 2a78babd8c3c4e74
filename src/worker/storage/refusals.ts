/**
 * The channels this isolate refuses to serve because their projection did not verify
 * (projection-verify.ts): state-cache.ts records a refusal on each cache fill that fails and clears it
 * once the channel verifies again (or is gone), and `/healthz` reports what is still broken, which
 * makes a tampered projection visible. Module state, one list per isolate.
 */

/** A channel the data plane refused to serve, as `/healthz` reports it (the reason is logged only). */
export interface RefusedChannel {
  app: string;
  channel: string;
}

interface Refusal extends RefusedChannel {
  reason: string;
}

/** Enough to name every broken channel of a deployment; bounded so hostile names cannot grow it. */
const MAX_REFUSALS = 50;
const refusals = new Map<string, Refusal>();

/** Records that `app/channel` was refused; logs only a new or changed reason, not every cache fill. */
export function recordRefusal(app: string, channel: string, reason: string): void {
  const key = `${app}/${channel}`;
  const previous = refusals.get(key);
  if (previous?.reason !== reason) {
    console.error(`state: refusing to serve channel ${key}: ${reason}`);
  }
  refusals.delete(key);
  refusals.set(key, { app, channel, reason });
  for (const oldest of refusals.keys()) {
    if (refusals.size <= MAX_REFUSALS) break;
    refusals.delete(oldest);
  }
}

/** Forgets a refusal once the channel verifies again (or is gone). */
export function clearRefusal(app: string, channel: string): void {
  const key = `${app}/${channel}`;
  if (refusals.delete(key)) console.warn(`state: channel ${key} verifies again; serving it`);
}

/** The channels this isolate currently refuses, oldest first. */
export function refusedChannels(): RefusedChannel[] {
  return [...refusals.values()].map(({ app, channel }) => ({ app, channel }));
}

/** Forgets every refusal (tests). */
export function clearRefusals(): void {
  refusals.clear();
}
