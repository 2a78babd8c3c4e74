/**
 * Every command, in help order. Modules load on demand so `updraft --help` and argument mistakes
 * answer at once, without loading crypto and schema code.
 */
import type { Command } from '../lib/command.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'keys init',
    summary: 'create root, release and online keys and register keys document 1',
    load: async () => (await import('./keys-init.ts')).command,
  },
  {
    name: 'keys rotate',
    summary: 'replace the key of one role with a new keys document',
    load: async () => (await import('./keys-rotate.ts')).command,
  },
  {
    name: 'keys register',
    summary: 'register the keys documents of the keys folder the server lacks',
    load: async () => (await import('./keys-register.ts')).command,
  },
  {
    name: 'app create',
    summary: 'create an app and its channels',
    load: async () => (await import('./app-create.ts')).command,
  },
  {
    name: 'app show',
    summary: 'show an app, its channels and rules',
    load: async () => (await import('./app-show.ts')).command,
  },
  {
    name: 'app settings',
    summary: "show or change an app's webhook and default staged plan",
    load: async () => (await import('./app-settings.ts')).command,
  },
  {
    name: 'app webhooks',
    summary: "an app's recent webhook deliveries and their outcome",
    load: async () => (await import('./app-webhooks.ts')).command,
  },
  {
    name: 'channel add',
    summary: 'add a channel to an app (public, or private for rules only)',
    load: async () => (await import('./channel-add.ts')).command,
  },
  {
    name: 'channel set',
    summary: "change a channel's visibility, or make it the app's default channel",
    load: async () => (await import('./channel-set.ts')).command,
  },
  {
    name: 'rules',
    summary: "list an app's channel rules, in the order they are tried",
    load: async () => (await import('./rules.ts')).command,
  },
  {
    name: 'rules set',
    summary: "replace an app's channel rules (from a file or --rule flags)",
    load: async () => (await import('./rules-set.ts')).command,
  },
  {
    name: 'rules test',
    summary: 'which channel a client would get, and why',
    load: async () => (await import('./rules-test.ts')).command,
  },
  {
    name: 'publish',
    summary: 'upload artifacts, sign the release manifest and register it',
    load: async () => (await import('./publish.ts')).command,
  },
  {
    name: 'expo keys',
    summary: "create an Expo app's code signing key and certificate (like expo-updates codesigning:generate)",
    load: async () => (await import('./expo-keys.ts')).command,
  },
  {
    name: 'upload rm',
    summary: 'remove an artifact upload that no registered release lists',
    load: async () => (await import('./upload-rm.ts')).command,
  },
  {
    name: 'promote',
    summary: 'roll a release out to a share of a channel, or by a staged plan',
    load: async () => (await import('./promote.ts')).command,
  },
  {
    name: 'pause',
    summary: 'freeze a rollout at its percentage',
    load: async () => (await import('./pause.ts')).command,
  },
  {
    name: 'resume',
    summary: 'continue a paused or halted rollout',
    load: async () => (await import('./resume.ts')).command,
  },
  {
    name: 'halt',
    summary: 'stop offering a release to new clients',
    load: async () => (await import('./halt.ts')).command,
  },
  {
    name: 'complete',
    summary: 'roll a release out to everyone on the channel',
    load: async () => (await import('./complete.ts')).command,
  },
  {
    name: 'yank',
    summary: 'withdraw a release and name the version to roll back to',
    load: async () => (await import('./yank.ts')).command,
  },
  {
    name: 'status',
    summary: 'rollouts of every channel of an app, with their health',
    load: async () => (await import('./status.ts')).command,
  },
  {
    name: 'watch',
    summary: 'follow a rollout live until it completes or halts',
    load: async () => (await import('./watch.ts')).command,
  },
  {
    name: 'stats',
    summary: 'installs, failure and rollback rates, adoption and durations of releases',
    load: async () => (await import('./stats.ts')).command,
  },
  {
    name: 'history',
    summary: 'the audit log, newest first',
    load: async () => (await import('./history.ts')).command,
  },
  {
    name: 'export',
    summary: 'write the control plane (or one app) to a folder, for backup, audit or restore',
    load: async () => (await import('./export.ts')).command,
  },
  {
    name: 'import',
    summary: 'restore an export folder into an empty deployment',
    load: async () => (await import('./import.ts')).command,
  },
  {
    name: 'simulate',
    summary: 'run a fleet of virtual clients (the real SDK) against the server',
    load: async () => (await import('./simulate.ts')).command,
  },
  {
    name: 'token create',
    summary: 'create an API token (shown once)',
    load: async () => (await import('./token-create.ts')).command,
  },
  {
    name: 'token list',
    summary: 'list API tokens',
    load: async () => (await import('./token-list.ts')).command,
  },
  {
    name: 'token revoke',
    summary: 'revoke an API token',
    load: async () => (await import('./token-revoke.ts')).command,
  },
];

/** Command words that only group subcommands. */
export const GROUPS: ReadonlySet<string> = new Set(
  COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0] ?? ''),
);
