/**
 * Channel selection (DESIGN §3): which channel a client polls.
 *
 * The app's ordered rules decide first; else the requested channel if it exists and is public;
 * else the app's default channel.
 */
import { z } from 'zod';
import {
  basisPointsSchema,
  clientIdSchema,
  nameSchema,
  type Platform,
  platformSchema,
  rangeSchema,
  saltSchema,
} from './documents.ts';

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
    countries: z.array(z.string().regex(/^[A-Z]{2}$/)).max(300).optional(),
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
  /** The installed version (strict semver). */
  installed: string;
}

/**
 * Picks the channel for one client. Rules pointing at a channel the app does not have are skipped.
 * @returns the channel name; always one of `config.channels`.
 */
export async function chooseChannel(config: AppConfig, request: RoutingRequest): Promise<string> {
  void config;
  void request;
  throw new Error('not implemented');
}
