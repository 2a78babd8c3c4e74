/**
 * expo-updates code signing (docs/protocol.md §10): the app's RSA key, as `npx expo-updates codesigning:generate`
 * (or `updraft expo keys`) writes it, signs each manifest at publish time and each directive at yank
 * time, so the Worker serves signatures without holding an Expo key. node:crypto only: the CLI
 * reads any PKCS #1 or PKCS #8 PEM, and checks it against the certificate the app embeds.
 */
import { createPrivateKey, createSign, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DEFAULT_EXPO_KEYID, expoSignature, expoSignatureSchema } from '../../src/protocol/expo.ts';
import { str, type Values } from './command.ts';
import { messageOf, UserError } from './errors.ts';
import { isCode } from './keys-folder.ts';

export interface ExpoSigner {
  key: KeyObject;
  keyid: string;
}

export interface ExpoSignerOptions {
  /** The private key PEM file (`--expo-private-key`). */
  privateKey: string;
  /** `codeSigningMetadata.keyid` of the app (default `main`, expo-updates' own default). */
  keyid?: string;
  /** The certificate the app embeds (`--expo-certificate`): the key must be its key. */
  certificate?: string;
  now?: Date;
}

/** Reads and checks the signing key (and certificate); every mistake is one line, before any upload. */
export async function readExpoSigner(opts: ExpoSignerOptions): Promise<ExpoSigner> {
  const keyid = opts.keyid ?? DEFAULT_EXPO_KEYID;
  // The keyid travels inside the quoted expo-signature string: the schema says which characters fit.
  if (!expoSignatureSchema.safeParse(expoSignature('A'.repeat(16), keyid)).success)
    throw new UserError(
      `--expo-keyid must be 1-128 printable ASCII characters without " or \\, got "${keyid}"`,
    );
  const pem = await readPem(opts.privateKey, '--expo-private-key');
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new UserError(
      `--expo-private-key ${opts.privateKey} is not a PEM private key: ${messageOf(error)}`,
    );
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new UserError(
      `--expo-private-key ${opts.privateKey} is an ${key.asymmetricKeyType ?? 'unknown'} key; expo-updates verifies RSA (rsa-v1_5-sha256)`,
    );
  if (opts.certificate !== undefined) await checkCertificate(key, opts.certificate, opts.now ?? new Date());
  return { key, keyid };
}

/** The `expo-signature` value of `body`: RSA PKCS #1 v1.5 with SHA-256 over its UTF-8 bytes. */
export function signExpo(body: string, signer: ExpoSigner): string {
  const sig = createSign('RSA-SHA256').update(body, 'utf8').sign(signer.key, 'base64');
  return expoSignature(sig, signer.keyid);
}

/** The key must be the certificate's, and the certificate valid now: else every client would refuse. */
async function checkCertificate(key: KeyObject, path: string, now: Date): Promise<void> {
  const pem = await readPem(path, '--expo-certificate');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (error) {
    throw new UserError(`--expo-certificate ${path} is not a PEM certificate: ${messageOf(error)}`);
  }
  if (!certificate.checkPrivateKey(key))
    throw new UserError(
      `--expo-private-key is not the key of the certificate ${path}; clients would refuse its signatures`,
    );
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo))
    throw new UserError(
      `--expo-certificate ${path} is valid from ${certificate.validFrom} to ${certificate.validTo}, not now; clients would refuse its signatures`,
    );
}

async function readPem(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) throw new UserError(`${option}: file not found: ${path}`);
    throw new UserError(`${option}: cannot read ${path}: ${messageOf(error)}`);
  }
}

/** `--expo-private-key` (or UPDRAFT_EXPO_PRIVATE_KEY) with its keyid and certificate, when given. */
export function expoSigningFlags(values: Values, env: NodeJS.ProcessEnv): ExpoSignerOptions | undefined {
  const privateKey = str(values, 'expo-private-key') ?? nonEmpty(env.UPDRAFT_EXPO_PRIVATE_KEY);
  const keyid = str(values, 'expo-keyid');
  const certificate = str(values, 'expo-certificate');
  if (privateKey === undefined) {
    if (keyid !== undefined || certificate !== undefined)
      throw new UserError(
        `--${keyid === undefined ? 'expo-certificate' : 'expo-keyid'} needs --expo-private-key <pem>`,
      );
    return undefined;
  }
  return { privateKey, keyid: keyid ?? nonEmpty(env.UPDRAFT_EXPO_KEYID), certificate };
}

const nonEmpty = (value: string | undefined) => (value === '' ? undefined : value);
