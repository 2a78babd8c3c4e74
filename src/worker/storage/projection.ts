/**
 * The KV projection the data plane reads (docs/protocol.md §1). D1 is the source of truth; these values are
 * rewritten after every control-plane change and by the scheduler. See docs/storage.md.
 */
import type { AppConfig } from '../../protocol/channels.ts';

/** `app:<app>` → routing config of one app. */
export const appKey = (app: string) => `app:${app}`;
/** `channel:<app>:<channel>` → the signed snapshot and every document it references. */
export const channelKey = (app: string, channel: string) => `channel:${app}:${channel}`;
/** `keys:current` → the newest keys document. */
export const KEYS_KEY = 'keys:current';

export type AppProjection = AppConfig;

export interface ChannelProjection {
  /** Compact JWS, `typ: updraft-channel+jwt`, signed with the online key. */
  snapshot: string;
  /** Release manifests (compact JWS) by version: every release the snapshot lists, plus yank rollback targets. */
  releases: Record<string, string>;
  /** Yank statements (compact JWS) by version: every entry of the snapshot's `yanked`. */
  yanks: Record<string, string>;
  /**
   * Every version with a rollout in this channel, highest first, whether the (pruned) snapshot lists
   * it or not. Not signed and never sent to clients: the Worker's own index for what a pruned snapshot
   * leaves out (Expo's update ids, installs counted from adapter checks). Absent in values written
   * before snapshots were pruned, whose snapshot lists every rollout.
   */
  history?: string[];
  /**
   * The `expo-signature` of each listed yank's rollBackToEmbedded directive, by version, for the
   * yanks that have one (docs/protocol.md §10). Not covered by the snapshot: Expo clients check it themselves.
   */
  expo_directives?: Record<string, string>;
}

export interface KeysProjection {
  version: number;
  /** Compact JWS, `typ: updraft-keys+jwt`. */
  jws: string;
}

/** R2 key of an artifact's bytes (docs/protocol.md §1). */
export const artifactKey = (app: string, version: string, platform: string, arch: string, file: string) =>
  `artifacts/${app}/${version}/${platform}-${arch}/${file}`;
/**
 * R2 key of a content-addressed asset (docs/protocol.md §10: an Expo update's launch asset and assets), stored
 * once per app whatever the number of releases that list it.
 */
export const assetKey = (app: string, sha256: string) => `assets/${app}/${sha256}`;
/** R2 key of a release manifest (immutable). */
export const releaseDocKey = (app: string, version: string) => `manifests/${app}/releases/${version}.jws`;
/** R2 key of a yank statement (immutable). */
export const yankDocKey = (app: string, version: string) => `manifests/${app}/yanks/${version}.jws`;
/** R2 key of a signed channel snapshot (immutable; one per revision). */
export const snapshotDocKey = (app: string, channel: string, revision: number) =>
  `manifests/${app}/channels/${channel}/${revision}.jws`;
/** R2 key of a keys document (immutable). */
export const keysDocKey = (version: number) => `keys/${version}.jws`;
