/**
 * A `StorageAdapter` over one JSON file, for Node and Electron (`@updraft/client/file-storage`, a
 * separate entry point so that browser bundles never see `node:fs`). Every change rewrites the
 * file atomically: written to a temporary file, flushed to disk, then renamed over the old one,
 * so a crash leaves either the old state or the new one, never half of it.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StorageAdapter } from './types.ts';

/** One process per file: writes within a process are serialized, other processes are not coordinated. */
export class FileStorage implements StorageAdapter {
  readonly #path: string;
  #values: Promise<Map<string, string>> | undefined;
  #writes: Promise<unknown> = Promise.resolve();

  /** `path` is created on the first write, with its folder. */
  constructor(path: string) {
    this.#path = path;
  }

  async get(key: string): Promise<string | null> {
    return (await this.#load()).get(key) ?? null;
  }

  set(key: string, value: string): Promise<void> {
    return this.#change((values) => values.set(key, value));
  }

  delete(key: string): Promise<void> {
    return this.#change((values) => values.delete(key));
  }

  #load(): Promise<Map<string, string>> {
    if (!this.#values) {
      const loading = readValues(this.#path);
      this.#values = loading;
      // An unreadable file (permissions) is tried again on the next call rather than remembered.
      loading.catch(() => {
        if (this.#values === loading) this.#values = undefined;
      });
    }
    return this.#values;
  }

  #change(apply: (values: Map<string, string>) => void): Promise<void> {
    const run = this.#writes.then(async () => {
      const values = await this.#load();
      const next = new Map(values);
      apply(next);
      await writeAtomically(this.#path, JSON.stringify(Object.fromEntries(next)));
      // Only once it is on disk does the change become visible to get().
      this.#values = Promise.resolve(next);
    });
    this.#writes = run.catch(() => undefined);
    return run;
  }
}

/** The file's string values; a missing file is empty, a corrupt one too (the SDK rebuilds its state). */
async function readValues(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return new Map();
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new Map();
  }
  const values = new Map<string, string>();
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') values.set(key, value);
  }
  return values;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}
