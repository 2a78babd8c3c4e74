import { describe, expect, it } from 'vitest';
import { errorOf, fetchWorker, seedArtifact, uniqueApp } from './support/seed-projection.ts';

const SIZE = 1000;
const BYTES = Uint8Array.from({ length: SIZE }, (_, i) => i % 251);

async function stored() {
  const app = uniqueApp('art');
  const object = await seedArtifact(
    { app, version: '1.2.3', platform: 'linux', arch: 'x64', file: 'demo.tar.gz' },
    BYTES,
  );
  return { path: `/v1/apps/${app}/artifacts/1.2.3/linux-x64/demo.tar.gz`, etag: object.httpEtag };
}

const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer());

/** The parts of a multipart/byteranges body, read as a client would (RFC 9110 §14.6, RFC 2046). */
function parts(body: Uint8Array, boundary: string) {
  // One character per byte (TextDecoder's "latin1" is windows-1252, which remaps 0x80–0x9f).
  const text = Array.from(body, (byte) => String.fromCharCode(byte)).join('');
  const found: { range: string; type: string; bytes: Uint8Array }[] = [];
  for (const chunk of text.split(`--${boundary}`).slice(1)) {
    if (chunk.startsWith('--')) break;
    const headEnd = chunk.indexOf('\r\n\r\n');
    const head = chunk.slice(0, headEnd);
    const range = /Content-Range: (.+)/.exec(head)?.[1]?.trim() ?? '';
    const type = /Content-Type: (.+)/.exec(head)?.[1]?.trim() ?? '';
    const data = chunk.slice(headEnd + 4, chunk.length - 2); // the CRLF before the next delimiter
    found.push({ range, type, bytes: Uint8Array.from(data, (ch) => ch.charCodeAt(0)) });
  }
  return found;
}

describe('GET /v1/apps/{app}/artifacts/…', () => {
  it('streams the whole file with validators and immutable caching', async () => {
    const { path, etag } = await stored();
    const response = await fetchWorker(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('ETag')).toBe(etag);
    expect(response.headers.get('Content-Length')).toBe(String(SIZE));
    expect(response.headers.get('Content-Type')).toBe('application/gzip');
    expect(response.headers.get('Accept-Ranges')).toBe('bytes');
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('Content-Disposition')).toBe('attachment; filename="demo.tar.gz"');
    expect(await bytesOf(response)).toEqual(BYTES);
  });

  it('answers HEAD with the headers and no body', async () => {
    const { path, etag } = await stored();
    const response = await fetchWorker(path, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('ETag')).toBe(etag);
    expect(response.headers.get('Content-Length')).toBe(String(SIZE));
    expect(await response.text()).toBe('');
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=900-', 900, 999],
    ['bytes=-10', 990, 999],
    ['bytes=500-99999', 500, 999],
    ['bytes=-5000', 0, 999],
  ])('answers %s with 206 and the right bytes', async (range, first, last) => {
    const { path, etag } = await stored();
    const response = await fetchWorker(path, { headers: { Range: range } });
    expect(response.status).toBe(206);
    expect(response.headers.get('Content-Range')).toBe(`bytes ${first}-${last}/${SIZE}`);
    expect(response.headers.get('Content-Length')).toBe(String(last - first + 1));
    expect(response.headers.get('ETag')).toBe(etag);
    expect(await bytesOf(response)).toEqual(BYTES.slice(first, last + 1));
  });

  it('answers HEAD with a range as 206 without a body', async () => {
    const { path } = await stored();
    const response = await fetchWorker(path, { method: 'HEAD', headers: { Range: 'bytes=10-19' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('Content-Range')).toBe(`bytes 10-19/${SIZE}`);
    expect(await response.text()).toBe('');
  });

  it.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=-0'])(
    'answers the unsatisfiable %s with 416',
    async (range) => {
      const { path } = await stored();
      const response = await fetchWorker(path, { headers: { Range: range } });
      expect(response.status).toBe(416);
      expect(response.headers.get('Content-Range')).toBe(`bytes */${SIZE}`);
      expect((await errorOf(response)).code).toBe('range_not_satisfiable');
    },
  );

  it('answers several ranges with multipart/byteranges, each part its bytes and Content-Range', async () => {
    const { path } = await stored();
    const response = await fetchWorker(path, { headers: { Range: 'bytes=0-1, 5-6,100-199, 990-' } });
    expect(response.status).toBe(206);
    const type = response.headers.get('Content-Type') ?? '';
    const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(type)?.[1];
    if (!boundary) throw new Error(`not multipart/byteranges: ${type}`);
    const body = await bytesOf(response);
    expect(response.headers.get('Content-Length')).toBe(String(body.length));
    expect(parts(body, boundary)).toEqual([
      { range: 'bytes 0-1/1000', type: 'application/gzip', bytes: BYTES.slice(0, 2) },
      { range: 'bytes 5-6/1000', type: 'application/gzip', bytes: BYTES.slice(5, 7) },
      { range: 'bytes 100-199/1000', type: 'application/gzip', bytes: BYTES.slice(100, 200) },
      { range: 'bytes 990-999/1000', type: 'application/gzip', bytes: BYTES.slice(990) },
    ]);
  });

  it('cuts ranges far apart from one stream of a large artifact (whole chunks fall between them)', async () => {
    const app = uniqueApp('art');
    const big = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 7) % 256);
    await seedArtifact({ app, version: '1.2.3', platform: 'linux', arch: 'x64', file: 'big.bin' }, big);
    const ranges = [
      [0, 9],
      [1_000_000, 1_000_099],
      [2_999_990, 2_999_999],
    ];
    const response = await fetchWorker(`/v1/apps/${app}/artifacts/1.2.3/linux-x64/big.bin`, {
      headers: { Range: `bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(',')}` },
    });
    expect(response.status).toBe(206);
    const boundary = /boundary=(\S+)$/.exec(response.headers.get('Content-Type') ?? '')?.[1] ?? '';
    const got = parts(await bytesOf(response), boundary);
    expect(got.map((p) => p.range)).toEqual(ranges.map(([a, b]) => `bytes ${a}-${b}/3000000`));
    expect(got.map((p) => p.bytes)).toEqual(ranges.map(([a = 0, b = 0]) => big.slice(a, b + 1)));
  });

  it('answers several ranges of which one is satisfiable with that one; none satisfiable with 416', async () => {
    const { path } = await stored();
    const one = await fetchWorker(path, { headers: { Range: 'bytes=10-19, 5000-6000' } });
    expect(one.status).toBe(206);
    expect(one.headers.get('Content-Range')).toBe('bytes 10-19/1000');
    expect(await bytesOf(one)).toEqual(BYTES.slice(10, 20));
    const none = await fetchWorker(path, { headers: { Range: 'bytes=2000-2001, 3000-' } });
    expect(none.status).toBe(416);
  });

  it.each([
    'bytes=5-6,0-1',
    'bytes=0-10,5-20',
    `bytes=${Array.from({ length: 1001 }, (_, i) => `${i}-${i}`).join(',')}`,
    'bytes=5-2',
    'items=0-10',
    'bytes=abc',
    'bytes=0-1,x',
  ])('answers %s with the whole file', async (range) => {
    const { path } = await stored();
    const response = await fetchWorker(path, { headers: { Range: range } });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Range')).toBeNull();
    expect(await bytesOf(response)).toEqual(BYTES);
  });

  it('ignores a range whose If-Range names another version of the file', async () => {
    const { path, etag } = await stored();
    const stale = await fetchWorker(path, { headers: { Range: 'bytes=0-9', 'If-Range': '"other"' } });
    expect(stale.status).toBe(200);
    expect((await bytesOf(stale)).length).toBe(SIZE);
    const fresh = await fetchWorker(path, { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
    expect(fresh.status).toBe(206);
    await fresh.arrayBuffer();
  });

  it('answers If-None-Match with 304, also for a weak or listed ETag', async () => {
    const { path, etag } = await stored();
    for (const header of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const response = await fetchWorker(path, { headers: { 'If-None-Match': header } });
      expect(response.status).toBe(304);
      expect(response.headers.get('ETag')).toBe(etag);
      expect(await response.text()).toBe('');
    }
    const miss = await fetchWorker(path, { headers: { 'If-None-Match': '"nope"' } });
    expect(miss.status).toBe(200);
    expect(await bytesOf(miss)).toEqual(BYTES);
  });

  it('answers 404 artifact_missing for a file that is not there', async () => {
    const app = uniqueApp('art');
    for (const init of [{}, { method: 'HEAD' }, { headers: { Range: 'bytes=0-1' } }]) {
      const response = await fetchWorker(`/v1/apps/${app}/artifacts/1.0.0/linux-x64/none.bin`, init);
      expect(response.status).toBe(404);
      if (init.method !== 'HEAD') expect((await errorOf(response)).code).toBe('artifact_missing');
    }
  });

  it.each([
    ['app', '/v1/apps/Bad_App/artifacts/1.0.0/linux-x64/a.bin'],
    ['version', '/v1/apps/demo/artifacts/1.0/linux-x64/a.bin'],
    ['target', '/v1/apps/demo/artifacts/1.0.0/osx-x64/a.bin'],
    ['target', '/v1/apps/demo/artifacts/1.0.0/linux-amd64/a.bin'],
    ['target', '/v1/apps/demo/artifacts/1.0.0/linux/a.bin'],
    ['file', '/v1/apps/demo/artifacts/1.0.0/linux-x64/.hidden'],
    ['file', '/v1/apps/demo/artifacts/1.0.0/linux-x64/a%2Fb'],
  ])('answers 400 invalid_param naming %s for %s', async (parameter, path) => {
    const response = await fetchWorker(path);
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe('invalid_param');
    expect(error.message.startsWith(`${parameter}:`)).toBe(true);
  });
});
