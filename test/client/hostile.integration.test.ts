/**
 * The SDK against a hostile server on 127.0.0.1 (docs/protocol.md §2: "a hostile server must not be able to
 * make a client use unbounded memory or time"), with Node's own fetch over real sockets: future-dated
 * snapshots, oversized and endless keys chains, stalls, trickles, redirects off the server, cut
 * transfers. Each test is an attack of docs/security.md.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UpdaterOptions } from '../../src/client/index.ts';
import { MemoryStorage } from '../../src/client/memory-storage.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { CHANNEL, DAY, iso, type Published, refusal, updaterFor } from './fake-server.ts';
import { HostileServer, trickle } from './hostile-server.ts';

let server: HostileServer;
let release: Published;
const others: HostileServer[] = [];

beforeEach(async () => {
  server = await HostileServer.start();
  release = await server.fake.publish('1.1.0');
  server.fake.offer('update', release, await server.fake.snapshot([{ release }]));
});

afterEach(async () => {
  await server.close();
  for (const other of others.splice(0)) await other.close();
});

/** An updater using the real global fetch against the hostile server. */
const client = (options: Partial<UpdaterOptions> = {}) =>
  updaterFor(server.fake, { fetch: (input, init) => fetch(input, init), ...options });

const offered = async (options: Partial<UpdaterOptions> = {}) => {
  const result = await client(options).check();
  if (result.status === 'none') throw new Error('expected an update');
  return result;
};

async function elapsed<T>(promise: Promise<T>): Promise<{ ms: number; outcome: T | unknown }> {
  const start = Date.now();
  const outcome = await promise.catch((error: unknown) => error);
  return { ms: Date.now() - start, outcome };
}

function json(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}

describe('a snapshot dated in the future (online key)', () => {
  it('issued a year ahead with a 6-day validity: snapshot_future, and its revision is not remembered', async () => {
    const storage = new MemoryStorage();
    const frozen = await server.fake.snapshot([], [], {
      revision: 1_000,
      issued_at: iso(365 * DAY),
      expires: iso(371 * DAY),
    });
    server.fake.answer = { status: 'none', channel: CHANNEL, signed: { snapshot: frozen } };
    expect(await refusal(client({ storage }).check())).toMatchObject({
      code: 'snapshot_future',
      message: expect.stringContaining('after this device'),
    });

    // The genuine, lower revision is still accepted: the forged one set no floor.
    server.fake.offer('update', release, await server.fake.snapshot([{ release }]));
    expect((await client({ storage }).check()).status).toBe('update');
  });

  it('a few minutes ahead (clock skew) is accepted', async () => {
    const skewed = await server.fake.snapshot([{ release }], [], {
      issued_at: iso(4 * 60_000),
      expires: iso(6 * DAY),
    });
    server.fake.offer('update', release, skewed);
    expect((await client().check()).status).toBe('update');
  });
});

describe('keys: a chain that does not chain, a document that does not end', () => {
  it('a server claiming 255 versions whose link 2 does not chain: one link fetched past the anchor, then keys_untrusted', async () => {
    const liar = await generateKeyPair();
    const forged = (version: number) =>
      signDocument(
        'keys',
        {
          version,
          expires: iso(DAY),
          root: [liar.publicJwk],
          release: [liar.publicJwk],
          online: [liar.publicJwk],
        },
        liar.privateJwk,
      );
    const genuine = server.fake.keysDocs[0];
    server.misbehave = async (_req, res, url) => {
      const version = /^\/v1\/keys(?:\/(\d+))?$/.exec(url.pathname);
      if (!version) return false;
      const wanted = Number(version[1] ?? 255);
      return json(res, 200, { keys: wanted === 1 ? genuine : await forged(wanted) });
    };
    expect(await refusal(client().check())).toMatchObject({
      code: 'keys_untrusted',
      message: expect.stringContaining('version 2 does not chain'),
    });
    expect(server.requests.filter((r) => r.includes('/v1/keys'))).toEqual([
      'GET /v1/keys',
      'GET /v1/keys/1',
      'GET /v1/keys/2',
    ]);
  });

  it('a keys answer that never ends: refused after 64 KiB, the rest never read', async () => {
    let written = 0;
    server.misbehave = (_req, res, url) => {
      if (url.pathname !== '/v1/keys') return false;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"keys":"');
      const chunk = new Uint8Array(16 * 1024).fill(0x41);
      const timer = setInterval(() => {
        if (res.destroyed || written > 64 * 1024 * 1024) return clearInterval(timer);
        res.write(chunk);
        written += chunk.length;
      }, 2);
      res.on('close', () => clearInterval(timer));
      return true;
    };
    expect(await refusal(client().check())).toMatchObject({
      code: 'server_error',
      message: expect.stringContaining('over the 65536 byte limit'),
    });
    // Stopped near the cap: what the socket buffers, not megabytes.
    expect(written).toBeLessThan(8 * 1024 * 1024);
  });

  it('a keys answer that declares 4 MiB: refused before reading', async () => {
    server.misbehave = (_req, res, url) => {
      if (url.pathname !== '/v1/keys') return false;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(4 * 1024 * 1024) });
      res.write('{"keys":"');
      return true;
    };
    expect(await refusal(client().check())).toMatchObject({
      code: 'server_error',
      message: expect.stringContaining('4194304 bytes is over the 65536 limit'),
    });
  });

  it('keys are fetched once, not on every check', async () => {
    const storage = new MemoryStorage();
    for (let i = 0; i < 3; i++) expect((await client({ storage }).check()).status).toBe('update');
    expect(server.requests.filter((r) => r.includes('/v1/keys'))).toEqual(['GET /v1/keys']);
    expect(server.requests.filter((r) => r.includes('/check'))).toHaveLength(3);
  });
});

describe('deadlines: a server that stalls or trickles', () => {
  it('never sends headers: check() fails with timeout at its deadline', async () => {
    server.misbehave = (_req, _res, url) => url.pathname.endsWith('/check');
    const { ms, outcome } = await elapsed(client().check({ timeoutMs: 300 }));
    expect(outcome).toMatchObject({ code: 'timeout' });
    expect(ms).toBeLessThan(5_000);
  });

  it('sends headers, then one byte every 50 ms: check() fails with timeout at its deadline', async () => {
    server.misbehave = (_req, res, url) => {
      if (!url.pathname.endsWith('/check')) return false;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      trickle(res, new TextEncoder().encode(' '), 50);
      return true;
    };
    const { ms, outcome } = await elapsed(client().check({ timeoutMs: 500 }));
    expect(outcome).toMatchObject({ code: 'timeout' });
    expect(ms).toBeLessThan(5_000);
  });

  it("the caller's AbortSignal ends a stalled check with the signal's reason", async () => {
    server.misbehave = (_req, _res, url) => url.pathname.endsWith('/check');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user closed the window')), 100);
    const { outcome } = await elapsed(client().check({ signal: controller.signal }));
    expect(outcome).toMatchObject({ message: 'user closed the window' });
  });

  it('an artifact trickled too slowly: download() fails with timeout at its deadline', async () => {
    const result = await offered();
    server.misbehave = (_req, res, url) => {
      if (!url.pathname.includes('/artifacts/')) return false;
      res.writeHead(200, { 'Content-Length': String(release.bytes.length) });
      trickle(res, release.bytes.subarray(0, 1), 20);
      return true;
    };
    const { ms, outcome } = await elapsed(client().download(result, { timeoutMs: 400 }));
    expect(outcome).toMatchObject({ code: 'timeout' });
    expect(ms).toBeLessThan(5_000);
  });

  it('an artifact that stalls after half its bytes, every time: resumed, then network after the last resumption', async () => {
    const result = await offered();
    const half = release.bytes.length >> 1;
    server.misbehave = (req, res, url) => {
      if (!url.pathname.includes('/artifacts/')) return false;
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      const status = from > 0 ? 206 : 200;
      const headers: Record<string, string> = { 'Content-Length': String(release.bytes.length - from) };
      if (from > 0)
        headers['Content-Range'] = `bytes ${from}-${release.bytes.length - 1}/${release.bytes.length}`;
      res.writeHead(status, headers);
      res.write(release.bytes.subarray(from, Math.max(from + 1, half)));
      return true; // and then nothing more
    };
    const { outcome } = await elapsed(client().download(result, { idleTimeoutMs: 200, resumes: 2 }));
    expect(outcome).toMatchObject({
      code: 'network',
      message: expect.stringContaining('after 2 resumptions'),
    });
    expect(server.requests.filter((r) => r.includes('/artifacts/'))).toHaveLength(3);
  });
});

describe('redirects: nowhere but the configured server', () => {
  async function elsewhere(): Promise<HostileServer> {
    const other = await HostileServer.start();
    others.push(other);
    return other;
  }

  it('a check answered by a redirect to another origin: redirect_refused, and nothing is sent there', async () => {
    const other = await elsewhere();
    server.misbehave = (req, res, url) => {
      if (!url.pathname.endsWith('/check')) return false;
      res.writeHead(302, { Location: `${other.origin}${req.url}` });
      res.end();
      return true;
    };
    expect(await refusal(client().check())).toMatchObject({ code: 'redirect_refused' });
    expect(other.requests).toEqual([]);
  });

  it('an artifact redirected to another origin: redirect_refused, and nothing is sent there', async () => {
    const result = await offered();
    const other = await elsewhere();
    server.misbehave = (req, res, url) => {
      if (!url.pathname.includes('/artifacts/')) return false;
      res.writeHead(307, { Location: `${other.origin}${req.url}` });
      res.end();
      return true;
    };
    expect(await refusal(client().download(result))).toMatchObject({ code: 'redirect_refused' });
    expect(other.requests).toEqual([]);
  });

  it('keys redirected to a file: URL: redirect_refused', async () => {
    server.misbehave = (_req, res, url) => {
      if (url.pathname !== '/v1/keys') return false;
      res.writeHead(301, { Location: 'file:///etc/passwd' });
      res.end();
      return true;
    };
    expect(await refusal(client().check())).toMatchObject({ code: 'redirect_refused' });
  });

  it('a redirect within the server is followed', async () => {
    server.misbehave = (req, res, url) => {
      if (!url.pathname.endsWith('/check') || url.searchParams.has('moved')) return false;
      res.writeHead(302, { Location: `${req.url}&moved=1` });
      res.end();
      return true;
    };
    expect((await client().check()).status).toBe('update');
  });

  it('an artifact url with another scheme or origin in the answer is refused at check time', async () => {
    for (const url of ['data:application/octet-stream;base64,AAAA', 'http://127.0.0.2:9/a.tar.gz']) {
      const answer = server.fake.offer('update', release, await server.fake.snapshot([{ release }]));
      if (answer.artifact) answer.artifact.url = url;
      expect(await refusal(client().check())).toMatchObject({ code: 'release_mismatch' });
    }
  });
});

describe('interrupted downloads resume', () => {
  /** Serves the artifact; the first answer breaks off after `cut` bytes by closing the connection. */
  function cutOnce(cut: number, answerRange: (from: number, res: ServerResponse) => void) {
    let first = true;
    server.misbehave = (req, res, url) => {
      if (!url.pathname.includes('/artifacts/')) return false;
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      if (first) {
        first = false;
        res.writeHead(200, { 'Content-Length': String(release.bytes.length), ETag: '"a1"' });
        res.write(release.bytes.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 50));
        return true;
      }
      answerRange(from, res);
      return true;
    };
  }

  const partial = (from: number, res: ServerResponse, bytes = release.bytes) => {
    const size = release.bytes.length;
    res.writeHead(206, {
      'Content-Length': String(size - from),
      'Content-Range': `bytes ${from}-${size - 1}/${size}`,
    });
    res.end(bytes.subarray(from));
  };

  it('a connection cut mid-file continues with Range from the bytes received, and the whole file verifies', async () => {
    const result = await offered();
    cutOnce(300, partial);
    const bytes = await client().download(result);
    expect(Buffer.from(bytes).equals(Buffer.from(release.bytes))).toBe(true);
    const requests = server.requests.filter((r) => r.includes('/artifacts/'));
    expect(requests).toHaveLength(2);
    expect(requests[1]).toMatch(/ bytes=300-$/);
  });

  it('a resumed part with other bytes: artifact_hash (the hash covers the whole file)', async () => {
    const result = await offered();
    const tampered = release.bytes.slice();
    tampered[400] = (tampered[400] ?? 0) ^ 1;
    cutOnce(300, (from, res) => partial(from, res, tampered));
    expect(await refusal(client().download(result))).toMatchObject({ code: 'artifact_hash' });
  });

  it('a server that ignores Range and sends the whole file again: the download starts over and verifies', async () => {
    const result = await offered();
    cutOnce(300, (_from, res) => {
      res.writeHead(200, { 'Content-Length': String(release.bytes.length) });
      res.end(release.bytes);
    });
    const progress: number[] = [];
    const bytes = await client().download(result, { onProgress: (received) => progress.push(received) });
    expect(Buffer.from(bytes).equals(Buffer.from(release.bytes))).toBe(true);
    expect(progress.at(-1)).toBe(release.bytes.length);
  });

  it('a 206 for other bytes than asked: server_error', async () => {
    const result = await offered();
    cutOnce(300, (_from, res) => partial(100, res));
    expect(await refusal(client().download(result))).toMatchObject({
      code: 'server_error',
      message: expect.stringContaining('asked for bytes 300-'),
    });
  });
});

describe("the Worker's answer with nothing signed", () => {
  it('is reported as unverifiable, not as a generic server error', async () => {
    server.fake.answer = { status: 'none', channel: CHANNEL, yanked: false, signed: {} };
    expect(await refusal(client().check())).toMatchObject({
      code: 'unverifiable',
      message: expect.stringContaining('nothing verifiable'),
    });
  });
});
