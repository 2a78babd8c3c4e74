/**
 * `node bench/response-cost.ts [rounds] [seconds]`: what the check's answer costs a Worker before any
 * of the check's own code runs. Four Workers, each in its own workerd, take the warm check's load of
 * `npm run bench` (the same request, with `snapshot=`) in alternating rounds:
 *
 * - `hello`: the benchmark's baseline (`Hello World!`, one header);
 * - `headers`: the baseline's body with the headers of a real check answer (security, CORS, ETag,
 *   caching: ten of them);
 * - `replay`: a real check's headers and bodies (the `none` and the `update` answer in turn, as half the
 *   benchmark's clients get each), after parsing the request's URL as the check does;
 * - `check`: the check itself, on the bench app of run.ts (1.0.0 to everyone, 1.1.0 staged to half).
 *
 * It prints each one's median ratio to `hello`: `replay` is what any Worker that answers like the
 * check pays, and `check ÷ replay` is the share of the check's own code (BENCHMARKS.md, warm check).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildWorker } from './build.ts';
import { median, runLoad } from './measure.ts';
import {
  bootstrapKeys,
  createApp,
  heldSnapshotSha256,
  promote,
  publishRelease,
  tinyArtifact,
} from './seed.ts';
import {
  freshSecrets,
  type Served,
  startHello,
  startScript,
  startUpdraft,
  workDir,
  wranglerConfig,
} from './servers.ts';
import type { Workload } from './types.ts';

const [rounds = 9, seconds = 4] = process.argv.slice(2).map(Number);
const CLIENTS = 100_000;

/** One real answer: its headers as sent (the Worker's own, not the transport's) and its body. */
interface Answer {
  headers: [string, string][];
  body: string;
}

async function answerOf(url: URL): Promise<Answer> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`check answered ${response.status}`);
  const transport = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);
  return {
    headers: [...response.headers].filter(([name]) => !transport.has(name)),
    body: await response.text(),
  };
}

/** A Worker that answers every request with `answers` in turn, after parsing the URL when `parseUrl`. */
function replayScript(answers: Answer[], parseUrl: boolean): string {
  // Headers as a record, as the check passes them (workerd converts an array of pairs more slowly).
  return `const ANSWERS = ${JSON.stringify(answers)}.map((a) => ({ headers: Object.fromEntries(a.headers), body: new TextEncoder().encode(a.body) }));
let next = 0;
export default {
  fetch(request) {
    ${parseUrl ? 'new URL(request.url);' : ''}
    const answer = ANSWERS[next++ % ANSWERS.length];
    return new Response(answer.body, { headers: answer.headers });
  },
};`;
}

async function main(): Promise<void> {
  const work = await workDir('updraft-response-cost-');
  const compatibilityDate = wranglerConfig().compatibility_date;
  const bundle = await buildWorker(join(work, 'dist'));
  const secrets = freshSecrets();
  const updraft = await startUpdraft({
    scriptPath: bundle.scriptPath,
    persistDir: join(work, 'state'),
    secrets,
  });
  const publisher = await bootstrapKeys(updraft.url.origin, secrets.adminToken, secrets.onlineKey);
  await createApp(publisher, 'bench');
  await publishRelease(publisher, 'bench', '1.0.0', tinyArtifact('bench', '1.0.0'));
  await promote(publisher, 'bench', '1.0.0', 10_000);
  await publishRelease(publisher, 'bench', '1.1.0', tinyArtifact('bench', '1.1.0'));
  await promote(publisher, 'bench', '1.1.0', 5_000);
  const held = await heldSnapshotSha256(updraft.url, 'bench');
  const path = `/v1/apps/bench/check?client_id={client}&version=1.0.0&platform=linux&arch=x64&snapshot=${held}`;

  // One client that gets `none` and one that gets `update`: the two answers of the load.
  const answers = new Map<string, Answer>();
  for (let i = 0; answers.size < 2 && i < 1000; i++) {
    const answer = await answerOf(new URL(path.replace('{client}', `probe-${i}`), updraft.url));
    const status = (JSON.parse(answer.body) as { status: string }).status;
    if (!answers.has(status)) answers.set(status, answer);
  }
  const [none, update] = [answers.get('none'), answers.get('update')];
  if (!none || !update) throw new Error('no client got both a none and an update answer');

  const workers: [string, Served][] = [
    ['hello', await startHello(compatibilityDate)],
    [
      'headers',
      await startScript(replayScript([{ ...none, body: 'Hello World!' }], false), compatibilityDate),
    ],
    ['replay', await startScript(replayScript([none, update], true), compatibilityDate)],
    ['check', updraft],
  ];
  console.log(
    `check answers: ${none.headers.length} headers; bodies of ${none.body.length} (none) and ${update.body.length} (update) bytes`,
  );
  const workload: Workload = { kind: 'get', path, clients: CLIENTS };
  const ratios = new Map<string, number[]>(workers.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? workers : [...workers].reverse();
    const rps = new Map<string, number>();
    for (const [name, served] of order) {
      const result = await runLoad({
        origin: served.url.origin,
        workload,
        connections: 10,
        durationS: seconds,
        warmupS: 1,
      });
      rps.set(name, result.rps);
    }
    const hello = rps.get('hello') ?? 1;
    for (const [name] of workers) ratios.get(name)?.push((rps.get(name) ?? 0) / hello);
    console.log(
      `round ${round + 1}: ${workers.map(([name]) => `${name} ${rps.get(name)} req/s`).join(', ')}`,
    );
  }
  console.log('\nmedian ratio to hello (and every round):');
  for (const [name, values] of ratios) {
    console.log(
      `  ${name.padEnd(8)} ${median(values).toFixed(2)}   ${values.map((v) => v.toFixed(2)).join(' ')}`,
    );
  }
  const checkOverReplay = (ratios.get('check') ?? []).map((c, i) => c / (ratios.get('replay')?.[i] ?? 1));
  console.log(`  check ÷ replay, median of rounds: ${median(checkOverReplay).toFixed(2)}`);
  for (const [, served] of workers) await served.mf.dispose();
  await rm(work, { recursive: true, force: true });
}

await main();
