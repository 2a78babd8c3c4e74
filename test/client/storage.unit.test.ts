import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/client/file-storage.ts';
import { MemoryStorage } from '../../src/client/memory-storage.ts';

describe('MemoryStorage', () => {
  it('gets, sets and deletes strings', async () => {
    const storage = new MemoryStorage({ a: '1' });
    expect(await storage.get('a')).toBe('1');
    await storage.set('b', '2');
    await storage.delete('a');
    expect(await storage.get('a')).toBeNull();
    expect(storage.snapshot()).toEqual({ b: '2' });
  });
});

describe('FileStorage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'updraft-storage-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps values in one JSON file that a new instance reads back', async () => {
    const path = join(dir, 'nested', 'updraft.json');
    const storage = new FileStorage(path);
    expect(await storage.get('x')).toBeNull();
    await storage.set('x', 'one');
    await storage.set('y', 'two');
    await storage.delete('x');
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ y: 'two' });
    expect(await new FileStorage(path).get('y')).toBe('two');
  });

  it('serializes concurrent writes and leaves no temporary files', async () => {
    const path = join(dir, 'updraft.json');
    const storage = new FileStorage(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => storage.set(`k${i}`, String(i))));
    const reread = new FileStorage(path);
    for (let i = 0; i < 50; i++) expect(await reread.get(`k${i}`)).toBe(String(i));
    expect(await readdir(dir)).toEqual(['updraft.json']);
  });

  it('reads a corrupt file as empty and replaces it on the next write', async () => {
    const path = join(dir, 'updraft.json');
    await writeFile(path, '{"half":');
    const storage = new FileStorage(path);
    expect(await storage.get('half')).toBeNull();
    await storage.set('whole', 'yes');
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ whole: 'yes' });
  });

  it('reports a failed write and keeps the previous state', async () => {
    const path = join(dir, 'updraft.json');
    const storage = new FileStorage(path);
    await storage.set('a', '1');
    // A folder where the temp file should go makes the write fail.
    const blocked = new FileStorage(join(dir, 'updraft.json', 'inner.json'));
    await expect(blocked.set('b', '2')).rejects.toThrow();
    expect(await storage.get('a')).toBe('1');
    expect(await readdir(dir)).toEqual(['updraft.json']);
  });
});
