/**
 * The YAML electron-updater reads (builder-util-runtime's UpdateInfo), written by hand: the document
 * is a handful of scalars and one list, and every string goes out as a double-quoted scalar, whose
 * escapes are JSON's (YAML 1.2 reads JSON strings) plus the characters YAML refuses raw.
 */
import type { Artifact } from '../../protocol/documents.ts';
import type { Offer } from './pipeline.ts';

/** One file of an offer, with the URL the client downloads it from. */
export interface ElectronFile {
  artifact: Artifact;
  url: string;
}

/**
 * An offer as electron-builder would publish it. The checksum is the artifact's `sha512` (base64,
 * electron-builder's own); an artifact published without one carries `sha2`, its SHA-256 in hex from
 * the signed manifest, which electron-updater checks instead on a full download (builder-util-runtime
 * configurePipes). No `stagingPercentage`: the server has decided, and electron-updater must not
 * bucket the client a second time.
 */
export function renderUpdate(offer: Offer, files: readonly ElectronFile[]): string {
  const lines = [`version: ${quote(offer.version)}`, 'files:'];
  for (const { artifact, url } of files) {
    lines.push(`  - url: ${quote(url)}`);
    lines.push(`    ${checksum(artifact)}`);
    lines.push(`    size: ${artifact.size}`);
  }
  const first = files[0]?.artifact ?? offer.artifact;
  // `path` and the top-level checksum are the pre-`files` format, which old clients still read.
  lines.push(`path: ${quote(files[0]?.url ?? first.file)}`);
  lines.push(checksum(first));
  lines.push(`releaseDate: ${quote(offer.release.published_at)}`);
  if (offer.release.notes !== '') lines.push(`releaseNotes: ${quote(offer.release.notes)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Nothing to offer. electron-updater reads a 404 as an error (ERR_UPDATER_CHANNEL_FILE_NOT_FOUND) and
 * takes a lower version as a downgrade when `allowDowngrade` is on, so the answer is a file that it
 * reads as "no update" whatever its settings: the installed version when the client says it (equal:
 * no update), else `0.0.0`, and `stagingPercentage: 0`, the rollout share this answer offers, which
 * electron-updater's isUserWithinRollout refuses before it looks at the version order. No files.
 */
export function renderNoUpdate(installed: string | undefined): string {
  return `version: ${quote(installed ?? '0.0.0')}\nfiles: []\nstagingPercentage: 0\n`;
}

function checksum(artifact: Artifact): string {
  return artifact.sha512 === undefined
    ? `sha2: ${quote(artifact.sha256)}`
    : `sha512: ${quote(artifact.sha512)}`;
}

/**
 * A YAML double-quoted scalar. JSON.stringify escapes `"`, `\`, C0 controls and lone surrogates;
 * YAML also refuses DEL, the C1 controls and U+FFFE/U+FFFF raw, and reads U+2028/U+2029 and a BOM
 * as more than text, so those are escaped too.
 */
export function quote(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
