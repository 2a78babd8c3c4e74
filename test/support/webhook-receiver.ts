/**
 * A real HTTP webhook receiver for the workers tests (a vitest globalSetup, so it runs in Node): it
 * listens on 127.0.0.1, records every request per inbox and answers as each inbox was told to. The
 * Worker under test posts to it over a real socket, so headers, signatures, timeouts and connection
 * errors are the real thing rather than a mocked `fetch`.
 *
 *   POST /<inbox>            a delivery: recorded, then answered with the inbox's next scripted reply
 *                            (200 when the script is empty)
 *   PUT  /__script/<inbox>   a JSON array of replies, used in order: `{"status": 500}`, `{"hang": true}`
 *                            (never answers), `{"reset": true}` (drops the connection)
 *   GET  /__log/<inbox>      the recorded deliveries: `[{method, path, headers, body}]`
 *
 * Its base URL reaches the tests as the `WEBHOOK_RECEIVER` binding (vitest.config.ts).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import type { ReceivedRequest, ScriptedReply } from './webhook-receiver-types.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    webhookReceiver: string;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logs = new Map<string, ReceivedRequest[]>();
  const scripts = new Map<string, ScriptedReply[]>();

  const server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    const body = await readBody(req);
    const [, first, second] = path.split('/');
    if (req.method === 'PUT' && first === '__script' && second) {
      scripts.set(second, JSON.parse(body) as ScriptedReply[]);
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && first === '__log' && second) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(logs.get(second) ?? []));
      return;
    }
    const inbox = first ?? '';
    logs.set(inbox, [
      ...(logs.get(inbox) ?? []),
      { method: req.method ?? '', path, headers: headersOf(req), body },
    ]);
    const reply = scripts.get(inbox)?.shift() ?? { status: 200 };
    if ('hang' in reply) return;
    if ('reset' in reply) {
      req.socket.destroy();
      return;
    }
    res.writeHead(reply.status, { 'Content-Type': 'text/plain' }).end(`receiver says ${reply.status}`);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  project.provide('webhookReceiver', `http://127.0.0.1:${port}`);

  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
