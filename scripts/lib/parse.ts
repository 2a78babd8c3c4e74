/** Parsers for option values the API wants in another form; each throws a one-line UserError. */
import semverValid from 'semver/functions/valid.js';
import { ARCHES, type Arch, fileNameSchema, PLATFORMS, type Platform } from '../../src/protocol/documents.ts';
import { UserError } from './errors.ts';

/** "25" / "25%" / "0.01" → basis points (2500 / 2500 / 1). Steps of 0.01 from 0 to 100. */
export function parsePercent(text: string): number {
  const match = /^(\d{1,3})(?:\.(\d{1,2}))?%?$/.exec(text.trim());
  const bp = match ? Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0')) : Number.NaN;
  if (!(bp >= 0 && bp <= 10_000)) {
    throw new UserError(`--percent must be a number from 0 to 100 in steps of 0.01, got "${text}"`);
  }
  return bp;
}

/** A strict semantic version, or a UserError naming `what`. */
export function parseVersion(text: string, what = 'version'): string {
  if (semverValid(text) !== text || text.length > 64) {
    throw new UserError(`${what} must be a semantic version such as 1.2.3 or 1.2.0-beta.1, got "${text}"`);
  }
  return text;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** An app or channel name: 1-63 of a-z, 0-9 and -. */
export function parseName(text: string, what: string): string {
  if (!NAME.test(text)) throw new UserError(`${what} must be 1-63 of a-z, 0-9 and -, got "${text}"`);
  return text;
}

export interface ArtifactSpec {
  platform: Platform;
  arch: Arch;
  path: string;
}

/** `--artifact linux-x64=dist/app.tar.gz` → platform, arch and path. */
export function parseArtifactSpec(text: string): ArtifactSpec {
  const eq = text.indexOf('=');
  const target = eq > 0 ? text.slice(0, eq) : '';
  const path = eq > 0 ? text.slice(eq + 1) : '';
  if (!path || target.indexOf('-') <= 0) {
    throw new UserError(
      `--artifact must look like <platform>-<arch>=<path> (e.g. linux-x64=dist/app.tar.gz), got "${text}"`,
    );
  }
  return { ...parseTarget(target, '--artifact'), path };
}

export interface TargetValue {
  platform: Platform;
  arch: Arch;
  value: string;
}

/**
 * `--<option> darwin-arm64=<value>` (a sidecar path, a .sig file, a signature, an OS range) →
 * platform, arch and value; `example` shows a valid one in the error.
 */
export function parseTargetValue(text: string, option: string, example: string): TargetValue {
  const eq = text.indexOf('=');
  const target = eq > 0 ? text.slice(0, eq) : '';
  const value = eq > 0 ? text.slice(eq + 1) : '';
  if (!value || target.indexOf('-') <= 0) {
    throw new UserError(
      `--${option} must look like <platform>-<arch>=<value> (e.g. ${example}), got "${text}"`,
    );
  }
  return { ...parseTarget(target, `--${option}`), value };
}

/** `linux-x64` → platform and arch; `where` names the argument in the error. */
function parseTarget(target: string, where: string): { platform: Platform; arch: Arch } {
  const dash = target.indexOf('-');
  const platform = PLATFORMS.find((p) => p === target.slice(0, dash));
  const arch = ARCHES.find((a) => a === target.slice(dash + 1));
  if (!platform)
    throw new UserError(
      `unknown platform "${target.slice(0, dash)}" in ${where} (one of ${PLATFORMS.join(', ')})`,
    );
  if (!arch)
    throw new UserError(`unknown arch "${target.slice(dash + 1)}" in ${where} (one of ${ARCHES.join(', ')})`);
  return { platform, arch };
}

/** `linux-x64/app.tar.gz`, an artifact's place in an upload path → platform, arch and file name. */
export function parseUploadPath(text: string): { platform: Platform; arch: Arch; file: string } {
  const slash = text.indexOf('/');
  const target = slash > 0 ? text.slice(0, slash) : '';
  const file = text.slice(slash + 1);
  if (slash <= 0 || target.indexOf('-') <= 0 || file === '') {
    throw new UserError(
      `the upload must look like <platform>-<arch>/<file> (e.g. linux-x64/app.tar.gz), got "${text}"`,
    );
  }
  if (!fileNameSchema.safeParse(file).success) {
    throw new UserError(`file name "${file}" must be 1-128 of A-Z a-z 0-9 . _ + -, not starting with a dot`);
  }
  return { ...parseTarget(target, 'the upload'), file };
}

const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * A token expiry: `30d`, `12h`, `2w`, an RFC 3339 date or time in the future, or `never` (null).
 * Returns an RFC 3339 UTC timestamp.
 */
export function parseExpires(text: string, now = new Date()): string | null {
  if (text === 'never') return null;
  const relative = /^([1-9]\d{0,4})([hdw])$/.exec(text);
  let at: Date;
  if (relative) {
    const unit = relative[2] as keyof typeof UNIT_MS;
    at = new Date(now.getTime() + Number(relative[1]) * UNIT_MS[unit]);
  } else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    at = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
  } else {
    throw new UserError(`--expires must be like 30d, 12h, 2w, a date (2027-01-31) or never, got "${text}"`);
  }
  if (Number.isNaN(at.getTime())) throw new UserError(`--expires is not a valid date: "${text}"`);
  if (at.getTime() <= now.getTime()) throw new UserError(`--expires must be in the future, got "${text}"`);
  return rfc3339(at);
}

const AGO_MS = { m: 60_000, ...UNIT_MS } as const;

/**
 * A point in time for a query window (`--since`, `--until`): `now`, a duration ago (`90m`, `24h`,
 * `7d`, `2w`), or an RFC 3339 date or time. Returns an RFC 3339 UTC timestamp.
 */
export function parseWhen(text: string, option: string, now = new Date()): string {
  if (text === 'now') return rfc3339(now);
  const ago = /^([1-9]\d{0,4})([mhdw])$/.exec(text);
  let at: Date;
  if (ago) {
    const unit = ago[2] as keyof typeof AGO_MS;
    at = new Date(now.getTime() - Number(ago[1]) * AGO_MS[unit]);
  } else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    at = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
  } else {
    throw new UserError(
      `${option} must be like 24h, 7d, 2w, a date (2026-11-01) or a time in RFC 3339, got "${text}"`,
    );
  }
  if (Number.isNaN(at.getTime())) throw new UserError(`${option} is not a valid date: "${text}"`);
  return rfc3339(at);
}

/** RFC 3339 UTC without milliseconds: 2026-11-21T18:00:00Z. */
export function rfc3339(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
