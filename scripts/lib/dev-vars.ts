/**
 * The local secrets file `.dev.vars` that `npm run dev` keeps in step with the dev keys: a random
 * bootstrap admin token and the online private key the Worker signs snapshots with.
 */
import { randomBytes } from 'node:crypto';
import type { PrivateJwk } from '../../src/protocol/jws.ts';
import { parseDevVars } from './config.ts';

export interface DevVarsUpdate {
  /** The new file text (equal to the input when nothing changed). */
  text: string;
  changed: boolean;
  adminToken: string;
}

const HEADER =
  '# Local secrets for `wrangler dev`, written by `npm run dev` (scripts/dev.ts). Never commit.\n';

export function randomAdminToken(): string {
  return `updr_dev_${randomBytes(32).toString('base64url')}`;
}

/**
 * Brings `.dev.vars` text (undefined: no file yet) up to date: keeps every other line, adds a
 * random admin token when there is none (or only the example's placeholder) and sets the online
 * key to `onlineKey` when it is missing or a different key.
 */
export function updateDevVars(
  text: string | undefined,
  onlineKey: PrivateJwk,
  newToken = randomAdminToken,
): DevVarsUpdate {
  let result = text ?? HEADER;
  const vars = parseDevVars(result);
  let adminToken = vars.UPDRAFT_ADMIN_TOKEN ?? '';
  if (adminToken === '' || adminToken === 'change-me') {
    adminToken = newToken();
    result = setVar(result, 'UPDRAFT_ADMIN_TOKEN', adminToken);
  }
  if (!sameKey(vars.UPDRAFT_ONLINE_KEY, onlineKey)) {
    result = setVar(result, 'UPDRAFT_ONLINE_KEY', JSON.stringify(onlineKey));
  }
  return { text: result, changed: result !== text, adminToken };
}

function sameKey(current: string | undefined, key: PrivateJwk): boolean {
  if (current === undefined) return false;
  try {
    const parsed: unknown = JSON.parse(current);
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      'd' in parsed &&
      parsed.d === key.d &&
      'x' in parsed &&
      parsed.x === key.x
    );
  } catch {
    return false;
  }
}

/** Replaces the `name=` line, or appends one. Values are written unquoted on one line, like .dev.vars.example. */
function setVar(text: string, name: string, value: string): string {
  const line = new RegExp(`^(export\\s+)?${name}\\s*=.*$`, 'm');
  if (line.test(text)) return text.replace(line, () => `${name}=${value}`);
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${name}=${value}\n`;
}
