/**
 * How an Updraft version reads to Sparkle 2 (docs/protocol.md §9, docs/clients/sparkle.md).
 *
 * Sparkle compares `sparkle:version` with the running app's `CFBundleVersion` using
 * SUStandardVersionComparator: it splits a version into runs of digits, runs of other characters
 * and single separators (`.`, whitespace, punctuation), compares digit runs as numbers and other
 * runs as strings, pads `1.1` to `1.1.0`, ranks a longer version above a shorter one unless the
 * extra part is a string (`1.2.0beta` < `1.2.0`), and stops reading at the first `-`. So the
 * semver `1.2.0-beta.1` would read as `1.2.0`, equal to the release and to every other prerelease.
 */
// From the package entry, as versions.ts explains.
import { minVersion } from 'semver';
import { parseVersion } from './versions.ts';

/**
 * The `sparkle:version` (and so the `CFBundleVersion` an app must carry) of a strict semver:
 * `1.2.3` stays `1.2.3`; a prerelease is appended without its `-` (`1.2.0-beta.1` → `1.2.0beta.1`),
 * which Sparkle orders as semver does for prereleases whose first identifier starts with a letter
 * (alpha < beta < rc < release, beta.2 < beta.11). A prerelease starting with a digit gets a `+`
 * first (`1.2.0-1` → `1.2.0+1`): `+` is a string to Sparkle that sorts below letters, as semver puts
 * numeric identifiers below alphanumeric ones. A `-` inside an identifier becomes `.`, since Sparkle
 * would drop everything after it.
 */
export function sparkleVersionOf(version: string): string {
  const parsed = parseVersion(version);
  if (!parsed) throw new TypeError(`${version} is not a semantic version`);
  const core = `${parsed.major}.${parsed.minor}.${parsed.patch}`;
  if (parsed.prerelease.length === 0) return core;
  const pre = parsed.prerelease.map(String).join('.').replaceAll('-', '.');
  return /^[0-9]/.test(pre) ? `${core}+${pre}` : `${core}${pre}`;
}

/**
 * `sparkle:minimumSystemVersion` for an artifact's `os` range: the lowest macOS version the range
 * admits (`>=13` → `13.0.0`, `^14.2` → `14.2.0`), or undefined when the range has no lower bound
 * (`*`, `<15`). Upper bounds are not mapped: Sparkle's `maximumSystemVersion` is inclusive and
 * cannot say `<15`; the server's decision already applies the whole range when the client sends
 * its OS version.
 */
export function minimumSystemVersionOf(range: string | undefined): string | undefined {
  if (range === undefined) return undefined;
  let lowest: ReturnType<typeof minVersion>;
  try {
    lowest = minVersion(range);
  } catch {
    return undefined;
  }
  if (!lowest || lowest.version === '0.0.0') return undefined;
  return `${lowest.major}.${lowest.minor}.${lowest.patch}`;
}
