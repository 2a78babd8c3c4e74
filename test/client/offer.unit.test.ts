import { beforeEach, describe, expect, it } from 'vitest';
import { signDocument } from '../../src/protocol/jws.ts';
import { FakeServer, refusal, updaterFor } from './fake-server.ts';

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.create();
});

describe('check(): the release of an update', () => {
  it('refuses a manifest signed by the online key, an unknown key, or of another typ', async () => {
    for (const signer of [server.online, server.root]) {
      const release = await server.publish('1.1.0', {}, signer);
      server.offer('update', release, await server.snapshot([{ release }]));
      expect(await refusal(updaterFor(server).check())).toMatchObject({
        code: 'release_invalid',
        message: expect.stringContaining('untrusted key'),
      });
    }
    const release = await server.publish('1.1.0');
    const answer = server.offer('update', release, await server.snapshot([{ release }]));
    const yank = await server.yank('1.1.0', null);
    answer.signed.release = yank.jws;
    expect(await refusal(updaterFor(server).check())).toMatchObject({
      code: 'release_invalid',
      message: expect.stringContaining('expected typ updraft-release+jwt'),
    });
  });

  it('refuses a manifest of another version or app than the answer says', async () => {
    const release = await server.publish('1.1.0');
    const answer = server.offer('update', release, await server.snapshot([{ release }]));
    answer.version = '1.2.0';
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'release_mismatch' });

    const other = await server.publish('1.1.0', { app: 'other' });
    server.offer('update', other, await server.snapshot([{ release: other }]));
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'release_mismatch' });
  });

  it('refuses an artifact that is not the signed one for this platform and arch', async () => {
    const release = await server.publish('1.1.0');
    const answer = server.offer('update', release, await server.snapshot([{ release }]));
    const artifact = answer.artifact;
    if (!artifact) throw new Error('no artifact');
    artifact.sha256 = 'ff'.repeat(32);
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'release_mismatch' });
    artifact.sha256 = release.payload.artifacts[0]?.sha256 ?? '';
    artifact.size += 1;
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'release_mismatch' });
    artifact.size -= 1;
    expect(await refusal(updaterFor(server, { platform: 'darwin', arch: 'arm64' }).check())).toMatchObject({
      code: 'release_mismatch',
      message: 'release 1.1.0 has no artifact for darwin-arm64',
    });
  });

  it('refuses an artifact url off the configured server', async () => {
    const release = await server.publish('1.1.0');
    const answer = server.offer('update', release, await server.snapshot([{ release }]));
    for (const url of [
      'https://evil.test/a.tar.gz',
      'http://updates.test/a',
      'https://user:pw@updates.test/a',
      'nope',
    ]) {
      if (answer.artifact) answer.artifact.url = url;
      expect(await refusal(updaterFor(server).check()), url).toMatchObject({ code: 'release_mismatch' });
    }
  });

  it('refuses a manifest that is not the one the snapshot lists (mix-and-match) or not listed at all', async () => {
    const listed = await server.publish('1.1.0');
    const other = await server.publish('1.1.0', { notes: 'another signed manifest of 1.1.0' });
    server.offer('update', other, await server.snapshot([{ release: listed }]));
    expect(await refusal(updaterFor(server).check())).toMatchObject({
      code: 'release_not_listed',
      message: expect.stringContaining('not the one the snapshot lists'),
    });
    server.offer('update', listed, await server.snapshot([]));
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'release_not_listed' });
  });

  it('refuses a release halted or yanked in the snapshot', async () => {
    const release = await server.publish('1.1.0');
    server.offer('update', release, await server.snapshot([{ release, rollout: { state: 'halted' } }]));
    expect(await refusal(updaterFor(server).check())).toMatchObject({
      code: 'release_not_listed',
      message: 'release 1.1.0 is halted in the channel snapshot',
    });
    const yank = await server.yank('1.1.0', null);
    server.offer('update', release, await server.snapshot([{ release }], [yank]));
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'release_not_listed' });
  });

  it('refuses an update that is not higher than the installed version', async () => {
    for (const version of ['1.0.0', '0.9.0', '1.0.0-rc.1']) {
      const release = await server.publish(version);
      server.offer('update', release, await server.snapshot([{ release }]));
      expect(await refusal(updaterFor(server).check()), version).toMatchObject({ code: 'downgrade' });
    }
  });

  it('refuses a release whose signed `requires` the installed version does not meet', async () => {
    const release = await server.publish('2.0.0', { requires: '>=1.5.0' });
    server.offer('update', release, await server.snapshot([{ release }]));
    expect(await refusal(updaterFor(server).check())).toMatchObject({ code: 'release_mismatch' });
  });

  it('takes mandatory from the signed manifest even when the answer says otherwise', async () => {
    const release = await server.publish('1.1.0', { mandatory: true });
    const answer = server.offer('update', release, await server.snapshot([{ release }]));
    answer.mandatory = false;
    expect(await updaterFor(server).check()).toMatchObject({ mandatory: true });
  });
});

describe('check(): the yank of a rollback', () => {
  async function rollback(
    yankSigner = server.release,
    options: { list?: boolean; yankOf?: string; to?: string } = {},
  ) {
    const target = await server.publish('1.0.0');
    const yank = await server.yank(options.yankOf ?? '1.1.0', options.to ?? '1.0.0', yankSigner);
    const snapshot = await server.snapshot([{ release: target }], options.list === false ? [] : [yank]);
    return server.offer('rollback', target, snapshot, yank);
  }
  const check = () => updaterFor(server, { currentVersion: '1.1.0' }).check();

  it('refuses a yank signed by the online key', async () => {
    await rollback(server.online);
    expect(await refusal(check())).toMatchObject({
      code: 'yank_invalid',
      message: expect.stringContaining('untrusted key'),
    });
  });

  it('refuses a rollback without a yank, or with a yank of another version or target', async () => {
    const answer = await rollback();
    answer.signed.yank = undefined;
    expect(await refusal(check())).toMatchObject({ code: 'yank_invalid' });
    await rollback(server.release, { yankOf: '1.2.0' });
    expect(await refusal(check())).toMatchObject({ code: 'yank_invalid' });
    await rollback(server.release, { to: '0.9.0' });
    expect(await refusal(check())).toMatchObject({ code: 'yank_invalid' });
  });

  it('refuses a yank the snapshot does not list', async () => {
    await rollback(server.release, { list: false });
    expect(await refusal(check())).toMatchObject({
      code: 'yank_invalid',
      message: 'the yank of 1.1.0 is not the one the channel snapshot lists',
    });
  });

  it('refuses a "rollback" that goes up', async () => {
    const target = await server.publish('1.2.0');
    const payload = {
      app: 'demo',
      version: '1.1.0',
      reason: 'x',
      rollback_to: '1.2.0',
      yanked_at: '2026-11-21T12:00:00Z',
    };
    const yank = {
      version: '1.1.0',
      jws: await signDocument('yank', payload, server.release),
      rollback_to: '1.2.0',
    };
    server.offer('rollback', target, await server.snapshot([{ release: target }], [yank]), yank);
    expect(await refusal(check())).toMatchObject({
      code: 'yank_invalid',
      message: expect.stringContaining('not lower'),
    });
  });

  it('refuses a rollback whose manifest is not the one the snapshot lists', async () => {
    const target = await server.publish('1.0.0');
    const listed = await server.publish('1.0.0', { notes: 'the listed one' });
    const yank = await server.yank('1.1.0', '1.0.0');
    server.offer('rollback', target, await server.snapshot([{ release: listed }], [yank]), yank);
    expect(await refusal(check())).toMatchObject({ code: 'release_not_listed' });
  });
});
