/**
 * `updraft expo keys --out <dir>`: the code signing key pair and self-signed certificate of an Expo
 * app, made exactly as `npx expo-updates codesigning:generate` makes them (same library, same files),
 * so an app can start code signing without Expo's CLI: keys/private-key.pem signs at publish and yank
 * time (docs/protocol.md §10), certs/certificate.pem goes into the app. Nothing is overwritten.
 */
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  DEFAULT_EXPO_KEYID,
  EXPO_SIGNING_ALG,
  expoSignature,
  expoSignatureSchema,
} from '../../src/protocol/expo.ts';
import { type Command, requireStr, str } from '../lib/command.ts';
import { messageOf, UserError } from '../lib/errors.ts';
import { isCode } from '../lib/keys-folder.ts';

export interface ExpoKeysOptions {
  /** The Expo project (or any folder): keys/ and certs/ are made in it. */
  out: string;
  commonName?: string;
  years?: number;
  keyid?: string;
  now?: Date;
}

export interface ExpoKeysResult {
  private_key: string;
  public_key: string;
  certificate: string;
  /** What goes into app.json `expo.updates`. */
  updates: { codeSigningCertificate: string; codeSigningMetadata: { keyid: string; alg: string } };
}

const DEFAULT_COMMON_NAME = 'Updraft code signing';
const DEFAULT_YEARS = 10;

export async function expoKeys(opts: ExpoKeysOptions): Promise<ExpoKeysResult> {
  const years = opts.years ?? DEFAULT_YEARS;
  if (!Number.isInteger(years) || years < 1 || years > 100)
    throw new UserError(`--years must be a whole number from 1 to 100, got ${years}`);
  const commonName = opts.commonName ?? DEFAULT_COMMON_NAME;
  if (commonName.trim() === '' || commonName.length > 64)
    throw new UserError('--common-name must be 1-64 characters');
  const keyid = opts.keyid ?? DEFAULT_EXPO_KEYID;
  if (!expoSignatureSchema.safeParse(expoSignature('A'.repeat(16), keyid)).success)
    throw new UserError(`--keyid must be 1-128 printable ASCII characters without " or \\, got "${keyid}"`);
  const out = resolve(opts.out);
  const files = {
    private_key: join(out, 'keys', 'private-key.pem'),
    public_key: join(out, 'keys', 'public-key.pem'),
    certificate: join(out, 'certs', 'certificate.pem'),
  };
  for (const path of Object.values(files)) {
    if (await exists(path)) throw new UserError(`${path} already exists; refusing to overwrite it`);
  }

  // Loaded here: node-forge is large, and no other command needs it.
  const expo = await import('@expo/code-signing-certificates');
  const keyPair = expo.generateKeyPair();
  const validityNotBefore = opts.now ?? new Date();
  const validityNotAfter = new Date(validityNotBefore);
  validityNotAfter.setFullYear(validityNotAfter.getFullYear() + years);
  const certificate = expo.generateSelfSignedCodeSigningCertificate({
    keyPair,
    validityNotBefore,
    validityNotAfter,
    commonName,
  });
  const { privateKeyPEM, publicKeyPEM } = expo.convertKeyPairToPEM(keyPair);

  try {
    await mkdir(join(out, 'keys'), { recursive: true });
    await mkdir(join(out, 'certs'), { recursive: true });
    // `wx`: a file that appeared since the check above is still not overwritten.
    await writeFile(files.private_key, privateKeyPEM, { flag: 'wx', mode: 0o600 });
    await writeFile(files.public_key, publicKeyPEM, { flag: 'wx' });
    await writeFile(files.certificate, expo.convertCertificateToCertificatePEM(certificate), { flag: 'wx' });
  } catch (error) {
    if (isCode(error, 'EEXIST')) throw new UserError(`${messageOf(error)}; refusing to overwrite it`);
    throw new UserError(`cannot write the keys into ${out}: ${messageOf(error)}`);
  }
  return {
    ...files,
    updates: {
      codeSigningCertificate: './certs/certificate.pem',
      codeSigningMetadata: { keyid, alg: EXPO_SIGNING_ALG },
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false;
    throw new UserError(`cannot check ${path}: ${messageOf(error)}`);
  }
}

export const command: Command = {
  name: 'expo keys',
  summary: "create an Expo app's code signing key and certificate (like expo-updates codesigning:generate)",
  args: [],
  usage: '--out <dir> [--common-name <cn>] [--years <n>] [--keyid <id>]',
  options: {
    out: { type: 'string' },
    'common-name': { type: 'string' },
    years: { type: 'string' },
    keyid: { type: 'string' },
  },
  help: [
    '--out <dir>           the Expo project: writes keys/private-key.pem, keys/public-key.pem and',
    '                      certs/certificate.pem there, never over existing files',
    `--common-name <cn>    the certificate's common name (default "${DEFAULT_COMMON_NAME}")`,
    `--years <n>           how long the certificate is valid (default ${DEFAULT_YEARS})`,
    `--keyid <id>          codeSigningMetadata.keyid printed for app.json (default ${DEFAULT_EXPO_KEYID})`,
  ],
  async run(inv) {
    const years = str(inv.values, 'years');
    if (years !== undefined && !/^\d{1,3}$/.test(years))
      throw new UserError(`--years must be a whole number from 1 to 100, got "${years}"`);
    const result = await expoKeys({
      out: requireStr(inv.values, 'out', '<dir>'),
      commonName: str(inv.values, 'common-name'),
      years: years === undefined ? undefined : Number(years),
      keyid: str(inv.values, 'keyid'),
    });
    if (inv.config.json) return inv.printJson(result);
    inv.print(
      [
        `Wrote ${result.private_key} (keep it secret: it signs every update),`,
        `      ${result.public_key}`,
        `  and ${result.certificate} (ships in the app).`,
        '',
        'Merge into the "expo" object of app.json (the path is relative to the project):',
        JSON.stringify({ updates: result.updates }, null, 2),
        '',
        `Publish signed updates with: updraft publish <app> <version> --expo dist --expo-private-key ${result.private_key}`,
      ].join('\n'),
    );
  },
};
