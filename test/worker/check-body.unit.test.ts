import { describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { serializeAnswer } from '../../src/worker/routes/check.ts';

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

describe('serializeAnswer', async () => {
  const state = { snapshotJws, snapshotSha256: await sha256Hex(snapshotJws) };
  const bodyOf = ({ prefix, suffix }: { prefix: string; suffix: string }) =>
    `${prefix}${JSON.stringify(snapshotJws)}${suffix}`;

  it('writes exactly JSON.stringify of the answer around the snapshot', async () => {
    for (const answer of ANSWERS) {
      expect(bodyOf(await serializeAnswer(answer, state))).toBe(JSON.stringify(answer));
    }
  });

  it('gives every different body its own ETag, and the same body the same one', async () => {
    const tags = await Promise.all(
      ANSWERS.map(async (answer) => (await serializeAnswer(answer, state)).etag),
    );
    expect(new Set(tags).size).toBe(ANSWERS.length);
    for (const tag of tags) expect(tag).toMatch(/^"[0-9a-f]{32}"$/);
    const [first] = ANSWERS;
    if (!first) throw new Error('no answers');
    expect((await serializeAnswer({ ...first }, state)).etag).toBe(tags[0]);
    const otherSnapshot = `${snapshotJws}x`;
    const other = await serializeAnswer(
      { ...first, signed: { snapshot: otherSnapshot } },
      { snapshotJws: otherSnapshot, snapshotSha256: await sha256Hex(otherSnapshot) },
    );
    expect(other.etag).not.toBe(tags[0]);
  });

  it('refuses a state that is not the snapshot of the answer', async () => {
    const [first] = ANSWERS;
    if (!first) throw new Error('no answers');
    await expect(serializeAnswer({ ...first, signed: { snapshot: 'other' } }, state)).rejects.toThrow(
      'another snapshot',
    );
  });
});
