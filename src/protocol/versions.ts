/**
 * Cached semver parsing for the hot path. `decide` compares up to a thousand versions per request
 * and semver re-parses every string and range on each call; parsed values are immutable in
 * practice, so one isolate can keep them. Internal to src/protocol: callers must not mutate results.
 */
// From the package entry, not `semver/classes/*.js`: a bundler may load a deep import as a second
// copy of the class, and semver's own `instanceof SemVer` checks then reject our parsed versions.
import { coerce, Range, SemVer } from 'semver';

// Prereleases take part in every comparison: a range must admit a client on 1.2.0-beta.1 (docs/protocol.md §3).
const OPTIONS = { includePrerelease: true } as const;
// Bounded so a stream of distinct hostile strings cannot grow an isolate's memory without limit.
const MAX_ENTRIES = 10_000;

const versions = new Map<string, SemVer | null>();
const ranges = new Map<string, Range | null>();

function cached<T>(cache: Map<string, T | null>, key: string, make: (key: string) => T): T | null {
  let value = cache.get(key);
  if (value === undefined) {
    if (cache.size >= MAX_ENTRIES) cache.clear();
    try {
      value = make(key);
    } catch {
      value = null;
    }
    cache.set(key, value);
  }
  return value;
}

/** A strict semantic version (as `versionSchema` accepts: no `v`, no build metadata), or null. */
export function parseVersion(version: string): SemVer | null {
  return cached(versions, version, (v) => {
    const parsed = new SemVer(v, OPTIONS);
    // SemVer itself accepts " v1.2.3+build"; its normalized form tells whether the input was strict.
    if (parsed.version !== v) throw new TypeError(`not a strict version: ${v}`);
    return parsed;
  });
}

/** A loose OS version ("14", "14.2", "10.0.19045") as major.minor.patch, or null. */
export function coerceVersion(version: string): SemVer | null {
  // Plain coercion drops any "-beta" tail: an OS range speaks of releases of the OS.
  return coerce(version);
}

/** Whether `version` satisfies `range`, prereleases included; an invalid range admits nothing. */
export function satisfies(version: SemVer, range: string): boolean {
  // The default `requires` is `*`: skip the range machinery for it.
  if (range === '*') return true;
  return cached(ranges, range, (r) => new Range(r, OPTIONS))?.test(version) ?? false;
}
