/**
 * `updraft upload rm <app> <version> <platform>-<arch>/<file>`: removes an artifact upload that no
 * registered release lists, such as wrong bytes a failed publish (or someone else) left at the path
 * of a version not yet published. The server refuses a registered artifact (409 artifact_registered).
 */
import type { RemovedUpload } from '../../src/protocol/admin-api.ts';
import type { ApiClient } from '../lib/api.ts';
import { arg, type Command } from '../lib/command.ts';
import { parseName, parseUploadPath, parseVersion } from '../lib/parse.ts';
import { formatBytes, formatTime } from '../lib/table.ts';
import { removeUpload } from '../lib/upload.ts';

export async function uploadRm(opts: {
  client: ApiClient;
  app: string;
  version: string;
  /** `<platform>-<arch>/<file>`, as in the upload's path. */
  upload: string;
}): Promise<RemovedUpload> {
  const app = parseName(opts.app, 'app name');
  const version = parseVersion(opts.version);
  return removeUpload(opts.client, { app, version, ...parseUploadPath(opts.upload) });
}

export const command: Command = {
  name: 'upload rm',
  summary: 'remove an artifact upload that no registered release lists',
  args: ['<app>', '<version>', '<platform>-<arch>/<file>'],
  options: {},
  help: [],
  async run(inv) {
    const removed = await uploadRm({
      client: inv.client(),
      app: arg(inv.positionals, 0),
      version: arg(inv.positionals, 1),
      upload: arg(inv.positionals, 2),
    });
    if (inv.config.json) return inv.printJson(removed);
    inv.print(
      `Removed ${removed.key} (${formatBytes(removed.size)}, sha256 ${removed.sha256 ?? 'unknown'}, uploaded ${formatTime(removed.uploaded)}).`,
    );
  },
};
