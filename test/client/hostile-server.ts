/**
 * A hostile Updraft server on 127.0.0.1: real HTTP, real sockets, and the SDK's own global `fetch`.
 * By default it answers as the in-memory FakeServer would; a test's `misbehave` takes over any
 * request to stall, trickle, redirect, cut the connection or send more than it should.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeServer } from './fake-server.ts';

/** Takes over a request: answer it on `res` and return true, or return false to let FakeServer answer. */
export type Misbehaviour = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => boolean | Promise<boolean>;

export class HostileServer {
  readonly fake: FakeServer;
  readonly origin: string;
  /** Every request, as method, path with query, and the Range header when there is one. */
  readonly requests: string[] = [];
  misbehave: Misbehaviour | undefined;
  readonly #http: Server;

  private constructor(fake: FakeServer, http: Server, origin: string) {
    this.fake = fake;
    this.#http = http;
    this.origin = origin;
  }

  /** A fresh FakeServer served on a free loopback port; its artifact URLs point here. */
  static async start(): Promise<HostileServer> {
    const fake = await FakeServer.create();
    let self: HostileServer | undefined;
    const http = createServer((req, res) => {
      if (self) void self.#serve(req, res);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    self = new HostileServer(fake, http, `http://127.0.0.1:${port}`);
    fake.origin = self.origin;
    return self;
  }

  /** Closes the listener and every connection still held open by a stalled answer. */
  async close(): Promise<void> {
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const range = req.headers.range ? ` ${req.headers.range}` : '';
    this.requests.push(`${req.method} ${url.pathname}${url.search}${range}`);
    try {
      if (await this.misbehave?.(req, res, url)) return;
      const response = await this.fake.fetch(`${this.origin}${req.url}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: req.method === 'POST' ? new Uint8Array(await readBody(req)) : undefined,
      });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      res.destroy(error instanceof Error ? error : undefined);
    }
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `bytes` a chunk at a time, `everyMs` apart, until the client goes away or `count` chunks are out. */
export function trickle(res: ServerResponse, bytes: Uint8Array, everyMs: number, count = Infinity): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed || sent >= count) {
      clearInterval(timer);
      return;
    }
    res.write(bytes);
    sent += 1;
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}
