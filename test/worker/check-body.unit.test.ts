import { describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { encodeAnswer } from '../../src/worker/routes/check.ts';
import { AnswerMemo } from '../../src/worker/storage/answer-memo.ts';

const snapshotJws = `eyJhbGciOiJFZERTQSJ9.${'a'.repeat(2000)}.c2ln`;
const artifact = { url: 'https://updraft.test/a', sha256: 'f'.repeat(64), size: 12 };
const ANSWERS: CheckResponse[] = [
  { status: 'none', channel: 'stable', yanked: false, signed: { snapshot: snapshotJws } },
  { status: 'none', channel: 'stable', yanked: true, signed: { snapshot: snapshotJws, yank: 'y.y.y' } },
  {
    status: 'update',
    channel: 'beta',
    version: '1.2.0',
    mandatory: false,
    artifact,
    signed: { snapshot: snapshotJws, release: 'r.r.r' },
  },
  {
    status: 'rollback',
    channel: 'stable',
    version: '1.0.0',
    mandatory: true,
    artifact,
    signed: { snapshot: snapshotJws, release: 'r.r.r', yank: 'y.y.y' },
  },
];

/** The cached parts of a channel state the encoder reads, for one snapshot. */
const stateOf = async (snapshot: string) => ({
  snapshotJws: snapshot,
  snapshotJsonBytes: new TextEncoder().encode(JSON.stringify(snapshot)),
  snapshotSha256: await sha256Hex(snapshot),
  answers: new AnswerMemo(),
});
const text = (body: Uint8Array) => new TextDecoder().decode(body);

describe('encodeAnswer', () => {
  it('writes exactly JSON.stringify of the answer, in UTF-8', async () => {
    const state = await stateOf(snapshotJws);
    for (const answer of ANSWERS) {
      expect(text((await encodeAnswer(answer, state)).body)).toBe(JSON.stringify(answer));
    }
    const accented = { ...first(), channel: 'béta' };
    expect(text((await encodeAnswer(accented, state)).body)).toBe(JSON.stringify(accented));
  });

  it('gives every different body its own ETag, and the same body the same one', async () => {
    const state = await stateOf(snapshotJws);
    const tags = await Promise.all(ANSWERS.map(async (answer) => (await encodeAnswer(answer, state)).etag));
    expect(new Set(tags).size).toBe(ANSWERS.length);
    for (const tag of tags) expect(tag).toMatch(/^"[0-9a-f]{32}"$/);
    // The same answer from a fresh state (nothing remembered) gets the same tag.
    expect((await encodeAnswer({ ...first() }, await stateOf(snapshotJws))).etag).toBe(tags[0]);
    const otherSnapshot = `${snapshotJws}x`;
    const other = await encodeAnswer(
      { ...first(), signed: { snapshot: otherSnapshot } },
      await stateOf(otherSnapshot),
    );
    expect(other.etag).not.toBe(tags[0]);
  });

  it('encodes each distinct answer of a state once, and tells answers that differ anywhere apart', async () => {
    const state = await stateOf(snapshotJws);
    const once = await encodeAnswer(first(), state);
    expect(await encodeAnswer({ ...first() }, state)).toBe(once);
    const update = ANSWERS[2];
    if (!update) throw new Error('no update answer');
    const other = await encodeAnswer(
      { ...update, signed: { snapshot: snapshotJws, release: 'r.r.s' } },
      state,
    );
    expect(text(other.body)).toContain('"release":"r.r.s"');
    expect(other.etag).not.toBe((await encodeAnswer(update, state)).etag);
    expect(state.answers.size).toBe(3);
  });

  it('refuses a state that is not the snapshot of the answer', async () => {
    await expect(
      encodeAnswer({ ...first(), signed: { snapshot: 'other' } }, await stateOf(snapshotJws)),
    ).rejects.toThrow('another snapshot');
  });
});

describe('AnswerMemo', () => {
  const answer = (bytes: number) => ({ body: new Uint8Array(bytes), etag: '"t"' });

  it('keeps at most MAX_ANSWERS answers, dropping the oldest first', () => {
    const memo = new AnswerMemo();
    for (let i = 0; i <= AnswerMemo.MAX_ANSWERS; i++) memo.set(`a${i}`, answer(10));
    expect(memo.size).toBe(AnswerMemo.MAX_ANSWERS);
    expect(memo.get('a0')).toBeUndefined();
    expect(memo.get(`a${AnswerMemo.MAX_ANSWERS}`)).toBeDefined();
  });

  it('keeps at most MAX_BYTES of bodies, but always the newest answer', () => {
    const memo = new AnswerMemo();
    const third = Math.floor(AnswerMemo.MAX_BYTES / 3);
    for (const key of ['a', 'b', 'c']) memo.set(key, answer(third));
    memo.set('d', answer(third));
    expect(memo.get('a')).toBeUndefined();
    expect(memo.size).toBe(3);
    memo.set('huge', answer(AnswerMemo.MAX_BYTES * 2));
    expect(memo.size).toBe(1);
    expect(memo.get('huge')).toBeDefined();
  });
});

function first(): CheckResponse {
  const [answer] = ANSWERS;
  if (!answer) throw new Error('no answers');
  return answer;
}
