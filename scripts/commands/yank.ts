/**
 * `updraft yank <app> <version> --reason <text> [--rollback-to <version>|none]`: signs a yank
 * statement with the release key and registers it; every channel of the app is re-signed. For an Expo
 * app that uses code signing, `--expo-private-key` also signs the `rollBackToEmbedded` directive the
 * Worker will serve for it (docs/protocol.md §10), since the Worker holds no Expo key.
 */
import semverCompare from 'semver/functions/compare.js';
import semverPrerelease from 'semver/functions/prerelease.js';
import type { ReleaseView } from '../../src/protocol/admin-api.ts';
import { rollBackToEmbeddedDirective } from '../../src/protocol/expo.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command, requireStr, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { type ExpoSignerOptions, expoSigningFlags, readExpoSigner, signExpo } from '../lib/expo-signing.ts';
import { readPrivateKey } from '../lib/keys-folder.ts';
import { parseName, parseVersion, rfc3339 } from '../lib/parse.ts';

export interface YankOptions {
  client: ApiClient;
  keysDir: string;
  app: string;
  version: string;
  reason: string;
  /** A version, null for no rollback, or undefined for the default choice. */
  rollbackTo?: string | null;
  now?: Date;
  /** The Expo app's code signing key: sign the directive that rolls its clients back. */
  expoSigning?: ExpoSignerOptions;
}

export interface YankResult {
  version: string;
  rollback_to: string | null;
  yank_sha256: string;
}

/**
 * The default rollback target: the highest version lower than `version` that is not yanked. When
 * `version` is a stable release, prereleases are passed over (1.1.0-beta.1 sorts below 1.1.0, but
 * stable clients must not be sent back to a beta). Null when there is none.
 */
export function chooseRollbackTarget(
  releases: readonly Pick<ReleaseView, 'version' | 'yanked'>[],
  version: string,
): string | null {
  const stableOnly = semverPrerelease(version) === null;
  const candidates = releases
    .filter((r) => !r.yanked && semverCompare(r.version, version) < 0)
    .filter((r) => !stableOnly || semverPrerelease(r.version) === null)
    .map((r) => r.version)
    .sort(semverCompare);
  return candidates.at(-1) ?? null;
}

export async function yank(opts: YankOptions): Promise<YankResult> {
  const app = parseName(opts.app, 'app name');
  const version = parseVersion(opts.version);
  const reason = opts.reason.trim();
  if (reason === '' || reason.length > 1000) throw new UserError('--reason must be 1-1000 characters');
  const releaseKey = await readPrivateKey(opts.keysDir, 'release');
  const now = opts.now ?? new Date();
  const expoSigner = opts.expoSigning ? await readExpoSigner({ ...opts.expoSigning, now }) : undefined;
  let rollbackTo = opts.rollbackTo;
  if (rollbackTo === undefined) {
    const { releases } = await opts.client.get<{ releases: ReleaseView[] }>(
      `/v1/admin/apps/${seg(app)}/releases`,
    );
    const target = releases.find((r) => r.version === version);
    if (!target) throw new UserError(`${app} has no release ${version}`);
    if (target.yanked) throw new UserError(`${app} ${version} is already yanked`);
    rollbackTo = chooseRollbackTarget(releases, version);
  } else if (rollbackTo !== null) {
    parseVersion(rollbackTo, '--rollback-to');
  }
  const yankedAt = rfc3339(now);
  const statement = await signDocument(
    'yank',
    { app, version, reason, rollback_to: rollbackTo, yanked_at: yankedAt },
    releaseKey,
  );
  // The directive's bytes are fixed by yanked_at, so the Worker can rebuild and check them.
  const expoDirective = expoSigner
    ? { expo_directive_signature: signExpo(rollBackToEmbeddedDirective(yankedAt), expoSigner) }
    : {};
  return opts.client.post<YankResult>(`/v1/admin/apps/${seg(app)}/yanks`, {
    yank: statement,
    ...expoDirective,
  });
}

export const command: Command = {
  name: 'yank',
  summary: 'withdraw a release and name the version to roll back to',
  args: ['<app>', '<version>'],
  usage: '<app> <version> --reason <text> [--rollback-to <version>|none] [--expo-private-key <pem>]',
  options: {
    reason: { type: 'string' },
    'rollback-to': { type: 'string' },
    'expo-private-key': { type: 'string' },
    'expo-keyid': { type: 'string' },
    'expo-certificate': { type: 'string' },
  },
  help: [
    '--reason <text>        why (required; clients and the audit log see it)',
    '--rollback-to <v>      where clients on it go back to; `none` for nowhere (default: the highest lower',
    '                       release that is not yanked, skipping prereleases when yanking a stable release)',
    '--expo-private-key <pem>  an Expo app with code signing: sign its rollBackToEmbedded directive',
    '                       (env UPDRAFT_EXPO_PRIVATE_KEY)',
    '--expo-keyid <id>      codeSigningMetadata.keyid of the app (env UPDRAFT_EXPO_KEYID, default main)',
    "--expo-certificate <pem>  check the key is this certificate's first",
  ],
  async run(inv) {
    const target = str(inv.values, 'rollback-to');
    const result = await yank({
      client: inv.client(),
      keysDir: inv.config.keysDir,
      app: arg(inv.positionals, 0),
      version: arg(inv.positionals, 1),
      reason: requireStr(inv.values, 'reason', '<text>'),
      rollbackTo: target === undefined ? undefined : target === 'none' ? null : target,
      expoSigning: expoSigningFlags(inv.values, inv.env),
    });
    if (inv.config.json) return inv.printJson(result);
    const where = result.rollback_to
      ? `clients on it roll back to ${result.rollback_to}`
      : 'no rollback target: clients on it stay';
    inv.print(
      `Yanked ${arg(inv.positionals, 0)} ${result.version}; ${where}. Every channel was re-signed (edges follow within about 60 s).`,
    );
  },
};
