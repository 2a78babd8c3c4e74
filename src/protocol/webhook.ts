/**
 * Webhook signatures (docs/rollouts.md § Webhooks). Each delivery carries `X-Updraft-Timestamp` (Unix
 * seconds) and `X-Updraft-Signature: sha256=<hex>`, an HMAC-SHA256 keyed with the app's webhook secret
 * over `<timestamp>.<body>`. Signing the timestamp with the body lets a receiver refuse old deliveries
 * without an attacker being able to refresh the timestamp of a captured one.
 */
import { toHex } from './encoding.ts';

const utf8 = new TextEncoder();

/** The prefix of `X-Updraft-Signature`, naming the MAC, as GitHub's `X-Hub-Signature-256` does. */
export const WEBHOOK_SIGNATURE_PREFIX = 'sha256=';

/**
 * The `X-Updraft-Signature` value of a delivery: `sha256=` and the lowercase hex HMAC-SHA256 of the
 * UTF-8 text `<timestamp>.<body>`, keyed with the UTF-8 bytes of `secret` (the base64url string shown
 * once by `PUT /v1/admin/apps/{app}/settings`, used as is, not decoded).
 *
 * @param secret the app's webhook secret
 * @param timestamp the `X-Updraft-Timestamp` header, Unix seconds
 * @param body the request body exactly as sent (and received: verify before parsing it)
 */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    utf8.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await crypto.subtle.sign('HMAC', key, utf8.encode(`${timestamp}.${body}`));
  return `${WEBHOOK_SIGNATURE_PREFIX}${toHex(new Uint8Array(mac))}`;
}
