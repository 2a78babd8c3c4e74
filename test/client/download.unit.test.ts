import { beforeEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/client/index.ts';
import { FakeServer, type Published, refusal, updaterFor } from './fake-server.ts';

type Accepted = Extract<CheckResult, { status: 'update' | 'rollback' }>;

let server: FakeServer;
let release: Published;
let result: Accepted;
beforeEach(async () => {
  server = await FakeServer.create();
  release = await server.publish('1.1.0');
  server.offer('update', release, await server.snapshot([{ release }]));
  const checked = await updaterFor(server).check();
  if (checked.status === 'none') throw new Error('expected an update');
  result = checked;
});

/** A body served in chunks of `chunk` bytes, with no Content-Length. */
function chunked(bytes: Uint8Array, chunk: number): Response {
  let offset = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + chunk));
        offset += chunk;
      },
    }),
  );
}

describe('download()', () => {
  it('returns exactly the signed bytes, reporting progress against the signed size', async () => {
    server.intercept = () => chunked(release.bytes, 100);
    const progress: [number, number][] = [];
    const bytes = await updaterFor(server).download(result, { onProgress: (r, t) => progress.push([r, t]) });
    expect(bytes).toEqual(release.bytes);
    expect(progress.at(-1)).toEqual([release.bytes.length, release.bytes.length]);
    expect(progress.length).toBe(Math.ceil(release.bytes.length / 100));
  });

  it('stops reading an endless body as soon as it passes the signed size', async () => {
    let pulled = 0;
    let cancelled = false;
    server.intercept = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled += 1;
            controller.enqueue(new Uint8Array(64 * 1024));
          },
          cancel() {
            cancelled = true;
          },
        }),
      );
    expect(await refusal(updaterFor(server).download(result))).toMatchObject({ code: 'artifact_too_large' });
    expect(pulled).toBeLessThanOrEqual(3);
    expect(cancelled).toBe(true);
  });

  it('refuses a declared Content-Length over the signed size before reading', async () => {
    server.intercept = () =>
      new Response(release.bytes, { headers: { 'Content-Length': String(release.bytes.length + 1) } });
    expect(await refusal(updaterFor(server).download(result))).toMatchObject({ code: 'artifact_too_large' });
  });

  it('refuses fewer bytes than signed', async () => {
    server.intercept = () => chunked(release.bytes.subarray(0, 10), 4);
    expect(await refusal(updaterFor(server).download(result))).toMatchObject({
      code: 'artifact_size',
      message: `download of 1.1.0: 10 bytes arrived, the signed size is ${release.bytes.length}`,
    });
  });

  it('refuses bytes of the signed size whose hash differs', async () => {
    const tampered = release.bytes.slice();
    tampered[7] = (tampered[7] ?? 0) ^ 1;
    server.intercept = () => chunked(tampered, 33);
    expect(await refusal(updaterFor(server).download(result))).toMatchObject({ code: 'artifact_hash' });
  });

  it('maps an error status to server_error and a partial answer too', async () => {
    server.intercept = () => new Response('gone', { status: 404 });
    expect(await refusal(updaterFor(server).download(result))).toMatchObject({ code: 'server_error' });
    server.intercept = () => new Response(release.bytes, { status: 206 });
    expect(await refusal(updaterFor(server).download(result))).toMatchObject({ code: 'server_error' });
  });

  it('stops when the signal aborts, with the abort reason', async () => {
    const controller = new AbortController();
    server.intercept = (request) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(stream) {
            stream.enqueue(release.bytes.subarray(0, 10));
            request.signal.addEventListener('abort', () => stream.error(request.signal.reason));
          },
        }),
      );
    const download = updaterFor(server).download(result, {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('user cancelled')),
    });
    await expect(download).rejects.toThrow('user cancelled');
  });

  it('does not start when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('closed before it began'));
    server.requests.length = 0;
    await expect(updaterFor(server).download(result, { signal: controller.signal })).rejects.toThrow(
      'closed before it began',
    );
    expect(server.requests).toEqual([]);
  });

  it('maps a body that fails mid-stream to network', async () => {
    server.intercept = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(stream) {
            stream.enqueue(release.bytes.subarray(0, 10));
            stream.error(new Error('connection reset'));
          },
        }),
      );
    expect(await refusal(updaterFor(server).download(result))).toMatchObject({
      code: 'network',
      message: expect.stringContaining('connection reset'),
    });
  });

  it('holds a fetch without streams (React Native) to the same rules', async () => {
    const streamless = (bytes: Uint8Array<ArrayBuffer>) => {
      const response = new Response(null, { status: 200 });
      Object.defineProperty(response, 'arrayBuffer', { value: async () => bytes.buffer });
      return response;
    };
    server.intercept = () => streamless(release.bytes.slice());
    expect(await updaterFor(server).download(result)).toEqual(release.bytes);
    const longer = new Uint8Array(release.bytes.length + 1);
    longer.set(release.bytes);
    server.intercept = () => streamless(longer);
    expect(await refusal(updaterFor(server).download(result))).toMatchObject({ code: 'artifact_too_large' });
  });
});
