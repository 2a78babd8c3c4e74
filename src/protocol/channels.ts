/**
 * Channel selection (docs/protocol.md §3): which channel a client polls.
 *
 * The app's ordered rules decide first; else the requested channel if it exists and is public;
 * else the app's default channel.
 */
import * as z from 'zod';
import { isInside, isInsideSync, type SyncBucket } from './bucket.ts';
import {
  basisPointsSchema,
  clientIdSchema,
  nameSchema,
  type Platform,
  platformSchema,
  rangeSchema,
  saltSchema,
} from './documents.ts';
import { parseVersion, satisfies } from './versions.ts';

/** One routing rule: every condition given must hold (AND); a rule with no conditions matches everyone. */
export const channelRuleSchema = z.object({
  channel: nameSchema,
  match: z.object({
    /** Exact client IDs (a tester list). */
    client_ids: z.array(clientIdSchema).max(1000).optional(),
    /** A cohort: clients whose bucket(salt, client_id) < percent_bp. */
    percent_bp: basisPointsSchema.optional(),
    /** Salt of the cohort; the server fills in a random one when a rule with percent_bp has none. */
    salt: saltSchema.optional(),
    platforms: z.array(platformSchema).max(16).optional(),
    /** ISO 3166-1 alpha-2 codes, as `request.cf.country` gives them. */
    countries: z
      .array(z.string().regex(/^[A-Z]{2}$/))
      .max(300)
      .optional(),
    /** A semver range the installed version must satisfy. */
    versions: rangeSchema.optional(),
  }),
});
export type ChannelRule = z.infer<typeof channelRuleSchema>;

export const channelInfoSchema = z.object({ name: nameSchema, public: z.boolean() });
export type ChannelInfo = z.infer<typeof channelInfoSchema>;

/** What the data plane needs to know about an app to route a client; projected to KV. */
export interface AppConfig {
  app: string;
  default_channel: string;
  channels: ChannelInfo[];
  rules: ChannelRule[];
}

export interface RoutingRequest {
  clientId: string;
  /** The channel the client asked for, if any. */
  requested?: string;
  platform: Platform;
  /** Two-letter country from `request.cf.country`, when known. */
  country?: string;
  /** The installed version (strict semver); undefined when the client does not say it (docs/protocol.md §9). */
  installed: string | undefined;
}

/** A condition of a rule's `match` that a client can fail. */
export type RuleCondition = 'client_ids' | 'platforms' | 'countries' | 'versions' | 'percent_bp';

/** What became of one rule, tried in order, for one client. */
export type RuleOutcome =
  | { index: number; channel: string; outcome: 'matched' }
  /** The rule names a channel the app does not have: skipped. */
  | { index: number; channel: string; outcome: 'unknown_channel' }
  /** The first condition (cheapest first) the client does not meet. */
  | { index: number; channel: string; outcome: 'failed'; condition: RuleCondition };

/** Why a client lands on a channel. */
export type ChannelReason =
  | { kind: 'rule'; index: number }
  | { kind: 'requested' }
  /** No rule matched; `requested` says what became of a channel the client asked for, if any. */
  | { kind: 'default'; requested?: 'private' | 'unknown' }
  /** The default channel is gone: the first channel serves. */
  | { kind: 'first_channel' };

export interface ChannelChoice {
  channel: string;
  reason: ChannelReason;
  /** Every rule tried, in order, up to and including the one that matched. */
  rules: RuleOutcome[];
}

/**
 * Picks the channel for one client. Rules pointing at a channel the app does not have are skipped.
 * A requested channel that is private or unknown is ignored (private channels are reached through
 * rules only), so the client lands on the default channel instead of getting an error.
 * @returns the channel name; always one of `config.channels` (unless the app has none at all, when
 *   it is `default_channel` and the caller's lookup of it fails).
 */
export async function chooseChannel(config: AppConfig, request: RoutingRequest): Promise<string> {
  return (await explainChannel(config, request)).channel;
}

/**
 * `chooseChannel` with its reasons: the channel, why, and what became of each rule tried. The one
 * routing implementation: the data plane takes the channel, `updraft rules test` prints the reasons.
 */
export async function explainChannel(config: AppConfig, request: RoutingRequest): Promise<ChannelChoice> {
  const steps = routingSteps(config, request);
  let step = steps.next();
  while (!step.done)
    step = steps.next(await isInside(step.value.percentBp, step.value.salt, request.clientId));
  return step.value;
}

/**
 * `chooseChannel` with a synchronous `bucket` (the Worker's `bucketSync`): the same channel for every
 * input, without a promise or a WebCrypto digest for a cohort rule.
 */
export function chooseChannelSync(
  config: AppConfig,
  request: RoutingRequest,
  syncBucket: SyncBucket,
): string {
  const steps = routingSteps(config, request);
  let step = steps.next();
  while (!step.done) {
    step = steps.next(isInsideSync(step.value.percentBp, step.value.salt, request.clientId, syncBucket));
  }
  return step.value.channel;
}

/** A rule's cohort, whose answer depends on the client's bucket. */
interface Cohort {
  percentBp: number;
  salt: string;
}

/**
 * The routing rules, written once for both ways of hashing (as `decide`'s are): the steps yield each
 * cohort a rule asks about and are resumed with whether the client is inside it.
 */
function* routingSteps(
  config: AppConfig,
  request: RoutingRequest,
): Generator<Cohort, ChannelChoice, boolean> {
  // An app has a handful of channels: a search costs less than building a Map for every client.
  const channelNamed = (name: string | undefined) => config.channels.find((c) => c.name === name);
  const rules: RuleOutcome[] = [];
  for (const [index, rule] of config.rules.entries()) {
    if (!channelNamed(rule.channel)) {
      rules.push({ index, channel: rule.channel, outcome: 'unknown_channel' });
      continue;
    }
    const condition = yield* failedCondition(config.app, rule, request);
    if (condition === null) {
      rules.push({ index, channel: rule.channel, outcome: 'matched' });
      return { channel: rule.channel, reason: { kind: 'rule', index }, rules };
    }
    rules.push({ index, channel: rule.channel, outcome: 'failed', condition });
  }
  const requested = request.requested === undefined ? undefined : channelNamed(request.requested);
  if (requested?.public) return { channel: requested.name, reason: { kind: 'requested' }, rules };
  const ignored =
    request.requested === undefined ? undefined : requested === undefined ? 'unknown' : 'private';
  if (channelNamed(config.default_channel)) {
    const reason: ChannelReason = ignored ? { kind: 'default', requested: ignored } : { kind: 'default' };
    return { channel: config.default_channel, reason, rules };
  }
  // A misconfigured app whose default channel is gone still serves its first channel.
  const channel = config.channels[0]?.name ?? config.default_channel;
  return { channel, reason: { kind: 'first_channel' }, rules };
}

/**
 * The first condition of `rule` the client fails, or null when every condition given holds; the
 * cheap ones run first so the hash is computed only when needed.
 */
function* failedCondition(
  app: string,
  rule: ChannelRule,
  request: RoutingRequest,
): Generator<Cohort, RuleCondition | null, boolean> {
  const { client_ids, percent_bp, salt, platforms, countries, versions } = rule.match;
  if (client_ids && !client_ids.includes(request.clientId)) return 'client_ids';
  if (platforms && !platforms.includes(request.platform)) return 'platforms';
  // An unknown country matches no country list: a geo-fenced rule must not catch everyone.
  if (countries && (request.country === undefined || !countries.includes(request.country))) {
    return 'countries';
  }
  if (versions !== undefined) {
    // A rule on installed versions matches no client whose version is unknown.
    const installed = request.installed === undefined ? null : parseVersion(request.installed);
    if (!installed || !satisfies(installed, versions)) return 'versions';
  }
  if (percent_bp === undefined) return null;
  // The server always stores a salt with a cohort; a rule written without one still gets a stable cohort.
  return (yield { percentBp: percent_bp, salt: salt ?? `${app}:${rule.channel}` }) ? null : 'percent_bp';
}
