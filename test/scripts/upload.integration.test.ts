import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../scripts/lib/api.ts';
import { type Reporter, silentReporter, stderrReporter } from '../../scripts/lib/progress.ts';
import { guessContentType, hashFile, uploadFile } from '../../scripts/lib/upload.ts';
import { fakeServer } from './helpers.ts';

let server: Awaited<ReturnType<typeof fakeServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function fileOf(
  bytes: Uint8Array,
): Promise<{ path: string; size: number; sha256: string; contentType: string }> {
  const path = join(await mkdtemp(join(tmpdir(), 'updraft-upload-')), 'app.tar.gz');
  await writeFile(path, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { path, size: bytes.length, sha256, contentType: 'application/gzip' };
}

const target = { app: 'demo', version: '2.0.0', platform: 'linux', arch: 'x64', file: 'app.tar.gz' };

describe('uploadFile', () => {
  it('splits a large file into parts and completes the multipart upload', async () => {
    const bytes = new Uint8Array(2500).map((_, i) => i % 251);
    const file = await fileOf(bytes);
    server = await fakeServer((req) => {
      if (req.method === 'POST' && req.url.includes('/complete'))
        return { status: 201, body: { key: 'k', size: 2500, sha256: file.sha256 } };
      if (req.method === 'POST') return { status: 201, body: { upload_id: 'up1', key: 'k' } };
      const part = Number(new URL(req.url, 'http://x').searchParams.get('part'));
      return { status: 200, body: { part, etag: `etag-${part}` } };
    });
    const client = new ApiClient({ server: server.url, token: 't' });
    const result = await uploadFile(client, target, file, silentReporter, { single: 1000, part: 1000 });
    expect(result).toEqual({ key: 'k', size: 2500, sha256: file.sha256 });

    const requests = server.requests;
    const base = '/v1/admin/apps/demo/multipart/2.0.0/linux-x64/app.tar.gz';
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `POST ${base}`,
      `PUT ${base}?upload_id=up1&part=1`,
      `PUT ${base}?upload_id=up1&part=2`,
      `PUT ${base}?upload_id=up1&part=3`,
      `POST ${base}/complete?upload_id=up1`,
    ]);
    expect(JSON.parse(requests[0]?.body.toString() ?? '')).toEqual({ sha256: file.sha256, size: 2500 });
    expect(requests.slice(1, 4).map((r) => r.body.length)).toEqual([1000, 1000, 500]);
    expect(Buffer.concat(requests.slice(1, 4).map((r) => r.body)).equals(Buffer.from(bytes))).toBe(true);
    expect(requests[3]?.headers['content-length']).toBe('500');
    expect(JSON.parse(requests[4]?.body.toString() ?? '')).toEqual({
      parts: [
        { part: 1, etag: 'etag-1' },
        { part: 2, etag: 'etag-2' },
        { part: 3, etag: 'etag-3' },
      ],
    });
  });

  it('aborts the multipart upload when a part fails', async () => {
    const file = await fileOf(new Uint8Array(2500));
    server = await fakeServer((req) => {
      if (req.method === 'POST') return { status: 201, body: { upload_id: 'up2', key: 'k' } };
      if (req.method === 'DELETE') return { status: 204 };
      return { status: 500, body: { error: { code: 'internal_error', message: 'boom' } } };
    });
    const client = new ApiClient({ server: server.url, token: 't' });
    await expect(
      uploadFile(client, target, file, silentReporter, { single: 1000, part: 1000 }),
    ).rejects.toThrow('boom (500 internal_error)');
    expect(server.requests.at(-1)?.method).toBe('DELETE');
    expect(server.requests.at(-1)?.url).toContain('upload_id=up2');
  });

  it('sends an empty file in one PUT', async () => {
    const file = await fileOf(new Uint8Array(0));
    server = await fakeServer((req) => ({
      status: 201,
      body: { key: 'k', size: req.body.length, sha256: file.sha256 },
    }));
    const client = new ApiClient({ server: server.url, token: 't' });
    expect((await uploadFile(client, target, file, silentReporter)).size).toBe(0);
    expect(server.requests[0]?.headers['content-length']).toBe('0');
  });
});

describe('progress and content types', () => {
  it('draws a bar on a TTY and plain lines elsewhere', async () => {
    const file = await fileOf(new Uint8Array(100_000));
    const written: string[] = [];
    const fake = (isTTY: boolean) =>
      ({ isTTY, write: (t: string) => written.push(t) }) as unknown as NodeJS.WriteStream;
    const tty: Reporter = stderrReporter(fake(true));
    expect(await hashFile(file.path, file.size, tty, 'app')).toBe(file.sha256);
    const CLEAR = '\r\u001b[2K';
    expect(written[0]?.slice(CLEAR.length)).toMatch(/^hashing app [█░]{24} +\d+% 0 B\/97\.7 KiB$/);
    expect(written[0]?.startsWith(CLEAR)).toBe(true);
    expect(written.at(-1)).toBe(`${CLEAR}hashed app: 97.7 KiB, sha256 ${file.sha256.slice(0, 16)}…\n`);

    written.length = 0;
    await hashFile(file.path, file.size, stderrReporter(fake(false)), 'app');
    expect(written).toEqual(['hashing app (97.7 KiB)…\n', expect.stringMatching(/^hashed app: 97\.7 KiB/)]);
  });

  it('guesses content types from extensions', () => {
    expect(guessContentType('a.tar.gz')).toBe('application/gzip');
    expect(guessContentType('Setup.EXE')).toBe('application/vnd.microsoft.portable-executable');
    expect(guessContentType('bundle.js')).toBe('text/javascript');
    expect(guessContentType('blob')).toBe('application/octet-stream');
  });
});
