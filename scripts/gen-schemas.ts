/**
 * Writes the JSON Schemas of the signed payloads to manifests/<kind>.schema.json from the zod schemas.
 * Usage: node scripts/gen-schemas.ts [--check]   (--check writes nothing and exits 1 on a difference)
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type DocumentKind, TYP } from '../src/protocol/documents.ts';
import { payloadJsonSchema, schemaFileName } from '../src/protocol/json-schemas.ts';

const root = new URL('../', import.meta.url);
const biome = fileURLToPath(new URL('node_modules/@biomejs/biome/bin/biome', root));

/** Pretty JSON laid out the way `biome check` wants it, so the generated files pass the linter as they are. */
function format(value: unknown, path: string): string {
  return execFileSync(process.execPath, [biome, 'format', `--stdin-file-path=${path}`], {
    cwd: fileURLToPath(root),
    input: `${JSON.stringify(value, null, 2)}\n`,
    encoding: 'utf8',
    // Biome's stderr (config notices) is shown only when it fails, in the thrown error.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const kind of Object.keys(TYP) as DocumentKind[]) {
  const path = `manifests/${schemaFileName(kind)}`;
  const url = new URL(path, root);
  const text = format(payloadJsonSchema(kind), path);
  const current = await readFile(url, 'utf8').catch(() => undefined);
  if (current === text) continue;
  stale.push(path);
  if (!check) await writeFile(url, text);
}

if (check && stale.length > 0) {
  console.error(`out of date: ${stale.join(', ')}; run npm exec -- node scripts/gen-schemas.ts`);
  process.exit(1);
}
console.log(stale.length === 0 ? 'schemas up to date' : `wrote ${stale.join(', ')}`);
