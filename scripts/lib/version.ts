/**
 * The CLI's version for `updraft --version`: that of the nearest package.json above this module.
 * In a checkout that is the repository's; installed, it is @updraft/cli's, to which `npm run pack`
 * copies the repository's version. Read at run time, so the built package needs no generated file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function cliVersion(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) {
      const manifest: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof manifest === 'object' && manifest !== null && 'version' in manifest) {
        if (typeof manifest.version === 'string') return manifest.version;
      }
      throw new Error(`${path} has no version`);
    }
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
