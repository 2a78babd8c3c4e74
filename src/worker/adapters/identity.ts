/**
 * Who a client of docs/protocol.md §9 is: the install id it sends, or, when it sends none, a pseudonymous id
 * that is stable while its IP address and User-Agent are. The id is a keyed hash (HMAC-SHA-256) of
 * the two, so no IP address is stored or logged and nobody without the key can link an id to one.
 */
import { base64url } from 'jose';
import { CLIENT_ID_PATTERN } from '../../protocol/documents.ts';
import { parsePrivateJwk } from '../../protocol/keys.ts';
import { badRequest } from '../http/errors.ts';

/** Prefix of every pseudonymous id, so that stats and the dashboard can tell them apart. */
export const PSEUDONYMOUS_PREFIX = 'anon:';

const utf8 = new TextEncoder();
let cachedKey: { secret: string; key: Promise<CryptoKey> } | undefined;

/**
 * The client id to decide for: `given` when the client sent one (400 `invalid_client_id` when it is
 * not 1–128 of `[A-Za-z0-9._:-]`), else the pseudonymous id of `request`.
 */
export async function clientIdOf(
  request: Request,
  given: string | null | undefined,
  env: { UPDRAFT_ONLINE_KEY: string },
  from: string,
): Promise<string> {
  if (given !== null && given !== undefined) {
    if (!CLIENT_ID_PATTERN.test(given)) {
      throw badRequest('invalid_client_id', `${from} must be 1-128 of A-Z a-z 0-9 . _ : -`);
    }
    return given;
  }
  const ip = request.headers.get('CF-Connecting-IP') ?? '';
  const agent = (request.headers.get('User-Agent') ?? '').slice(0, 512);
  const mac = await crypto.subtle.sign(
    'HMAC',
    await hmacKey(env.UPDRAFT_ONLINE_KEY),
    utf8.encode(`${ip}\n${agent}`),
  );
  return `${PSEUDONYMOUS_PREFIX}${base64url.encode(new Uint8Array(mac).subarray(0, 16))}`;
}

/**
 * The HMAC key, derived (HKDF-SHA-256) from the online key's private half, which the Worker holds
 * already: no second secret to deploy. Rotating the online key gives pseudonymous clients new ids
 * (and so new rollout buckets), as a new IP address or browser version would.
 */
function hmacKey(onlineKey: string): Promise<CryptoKey> {
  if (cachedKey?.secret === onlineKey) return cachedKey.key;
  const key = (async () => {
    const seed = await crypto.subtle.importKey(
      'raw',
      base64url.decode(parsePrivateJwk(onlineKey).d),
      'HKDF',
      false,
      ['deriveKey'],
    );
    return crypto.subtle.deriveKey(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: utf8.encode('updraft'),
        info: utf8.encode('pseudonymous client id'),
      },
      seed,
      { name: 'HMAC', hash: 'SHA-256', length: 256 },
      false,
      ['sign'],
    );
  })();
  cachedKey = { secret: onlineKey, key };
  return key;
}
