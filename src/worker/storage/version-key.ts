/**
 * A string whose plain (byte) order is semver precedence, so SQL can `ORDER BY version_key` and an
 * analyst can sort releases without a semver library. Build metadata is ignored, as semver says.
 *
 * `1.10.0-rc.2` → `0000000000000001.0000000000000010.0000000000000000-1rc!00000000000000002`
 * - numbers are zero-padded to 16 digits (semver caps them at Number.MAX_SAFE_INTEGER);
 * - a release gets `~`, which sorts after the `-` that starts a prerelease (1.0.0-x < 1.0.0);
 * - prerelease identifiers are joined with `!`, lower than any identifier character, so a shorter
 *   list sorts first; numeric identifiers get a `0` prefix and alphanumeric ones `1`, so numbers
 *   sort before words.
 */
import semverParse from 'semver/functions/parse.js';

const pad = (n: number | string) => String(n).padStart(16, '0');

export function versionKey(version: string): string {
  const parsed = semverParse(version);
  if (!parsed) throw new Error(`not a semantic version: ${version}`);
  const core = `${pad(parsed.major)}.${pad(parsed.minor)}.${pad(parsed.patch)}`;
  if (parsed.prerelease.length === 0) return `${core}~`;
  const ids = parsed.prerelease.map((id) => (typeof id === 'number' ? `0${pad(id)}` : `1${id}`));
  return `${core}-${ids.join('!')}`;
}
