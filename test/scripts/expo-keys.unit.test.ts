import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expoKeys } from '../../scripts/commands/expo-keys.ts';
import { readExpoSigner, signExpo } from '../../scripts/lib/expo-signing.ts';

describe('expo keys', () => {
  it('writes a key pair and a certificate of that key, and never overwrites them', async () => {
    const out = await mkdtemp(join(tmpdir(), 'updraft-expo-keys-'));
    const now = new Date('2026-12-01T00:00:00Z');
    const result = await expoKeys({ out, commonName: 'Demo', years: 2, now });
    expect(result.updates).toEqual({
      codeSigningCertificate: './certs/certificate.pem',
      codeSigningMetadata: { keyid: 'main', alg: 'rsa-v1_5-sha256' },
    });
    const certificate = new X509Certificate(await readFile(join(out, 'certs', 'certificate.pem')));
    expect(certificate.subject).toContain('CN=Demo');
    expect(new Date(certificate.validTo).getUTCFullYear()).toBe(2028);
    expect(certificate.checkPrivateKey(createPrivateKey(await readFile(result.private_key)))).toBe(true);
    expect((await stat(result.private_key)).mode & 0o777).toBe(0o600);
    // What publish reads is this key, and the certificate check accepts it while it is valid.
    const signer = await readExpoSigner({
      privateKey: result.private_key,
      certificate: result.certificate,
      now,
    });
    expect(signExpo('{}', signer)).toMatch(/^sig="[A-Za-z0-9+/=]+", keyid="main", alg="rsa-v1_5-sha256"$/);
    await expect(
      readExpoSigner({
        privateKey: result.private_key,
        certificate: result.certificate,
        now: new Date('2029-01-01'),
      }),
    ).rejects.toThrow(/not now/);

    await expect(expoKeys({ out })).rejects.toThrow(
      /private-key\.pem already exists; refusing to overwrite it/,
    );
    await expect(expoKeys({ out: join(out, 'other'), years: 0 })).rejects.toThrow(/--years/);
    await expect(expoKeys({ out: join(out, 'other'), keyid: 'a"b' })).rejects.toThrow(/--keyid/);
  });
});
