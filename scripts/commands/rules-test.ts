/**
 * `updraft rules test <app> --client-id <id> [--channel c] [--platform p] [--country CC] [--version v]
 * [--arch a] [--os-version o]`: which channel that client would get and why. The app's rules come
 * from the API and go through `explainChannel` of src/protocol/channels.ts, the function the Worker
 * routes every check with. Given a version, platform and arch, it also asks the public check route
 * what that client would be offered there.
 */

import type { AppView } from '../../src/protocol/admin-api.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import {
  type ChannelChoice,
  type ChannelRule,
  explainChannel,
  type RoutingRequest,
  type RuleCondition,
  type RuleOutcome,
} from '../../src/protocol/channels.ts';
import { ARCHES, type Arch, clientIdSchema, PLATFORMS, type Platform } from '../../src/protocol/documents.ts';
import { formatBp } from '../../src/protocol/format.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command, str, type Values } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName, parseVersion } from '../lib/parse.ts';
import { describeConditions, readApp, rulesOf } from './rules.ts';

export interface RulesTestClient {
  clientId: string;
  /** The channel the client asks for. */
  channel?: string;
  platform?: Platform;
  country?: string;
  version?: string;
  arch?: Arch;
  osVersion?: string;
}

/** What the check route answers that client, without the signed documents. */
export type Offer = Omit<CheckResponse, 'signed'>;

export interface RulesTestResult {
  app: string;
  revision: number;
  default_channel: string;
  client: RulesTestClient;
  channel: string;
  reason: ChannelChoice['reason'];
  /** Each rule tried, with the rule itself. */
  rules: (RuleOutcome & { rule: ChannelRule })[];
  /** Only with version, platform and arch. */
  offer?: Offer;
}

export async function rulesTest(opts: {
  client: ApiClient;
  app: string;
  test: RulesTestClient;
}): Promise<RulesTestResult> {
  const app = parseName(opts.app, 'app name');
  const view = await readApp(opts.client, app);
  const rules = rulesOf(view);
  const { test } = opts;
  if (test.platform === undefined) {
    const needs = rules.findIndex((r) => r.match.platforms !== undefined);
    if (needs !== -1) throw new UserError(`give --platform: rule ${needs + 1} matches on platforms`);
  }
  const request: RoutingRequest = {
    clientId: test.clientId,
    // No rule reads the platform when none was given (checked above).
    platform: test.platform ?? 'linux',
    installed: test.version,
    ...(test.channel === undefined ? {} : { requested: test.channel }),
    ...(test.country === undefined ? {} : { country: test.country }),
  };
  const choice = await explainChannel(configOf(view, rules), request);
  const result: RulesTestResult = {
    app,
    revision: view.revision,
    default_channel: view.default_channel,
    client: test,
    channel: choice.channel,
    reason: choice.reason,
    rules: choice.rules.map((r) => ({ ...r, rule: rules[r.index] ?? { channel: r.channel, match: {} } })),
  };
  if (test.version !== undefined && test.platform !== undefined && test.arch !== undefined) {
    result.offer = await askCheck(opts.client, app, test);
  }
  return result;
}

function configOf(view: AppView, rules: ChannelRule[]) {
  return {
    app: view.name,
    default_channel: view.default_channel,
    channels: view.channels.map((c) => ({ name: c.name, public: c.public })),
    rules,
  };
}

async function askCheck(client: ApiClient, app: string, test: RulesTestClient): Promise<Offer> {
  const answer = await client.get<CheckResponse>(`/v1/apps/${seg(app)}/check`, {
    auth: false,
    query: {
      client_id: test.clientId,
      version: test.version,
      platform: test.platform,
      arch: test.arch,
      channel: test.channel,
      os_version: test.osVersion,
    },
  });
  const { signed: _signed, ...offer } = answer;
  return offer;
}

/** Why a rule did not match, in the client's terms. */
function failure(condition: RuleCondition, rule: ChannelRule, client: RulesTestClient): string {
  switch (condition) {
    case 'client_ids':
      return `${client.clientId} is not one of its client_ids`;
    case 'platforms':
      return `platform ${client.platform ?? '?'} is not one of its platforms`;
    case 'countries':
      return client.country === undefined
        ? 'the country is not known (give --country; the Worker reads it from the request)'
        : `country ${client.country} is not one of its countries`;
    case 'versions':
      return client.version === undefined
        ? 'the installed version is not known (give --version)'
        : `installed version ${client.version} is not in ${rule.match.versions ?? ''}`;
    case 'percent_bp':
      return `${client.clientId} is outside its ${formatBp(rule.match.percent_bp ?? 0)} cohort`;
  }
}

function why(result: RulesTestResult): string {
  const { reason, client } = result;
  switch (reason.kind) {
    case 'rule':
      return `rule ${reason.index + 1} matched (${describeConditions(result.rules.at(-1)?.rule ?? { channel: '', match: {} })})`;
    case 'requested':
      return `no rule matched, and it asks for ${client.channel}, a public channel`;
    case 'default':
      if (reason.requested === 'private') {
        return `no rule matched; it asks for ${client.channel}, which is private (reached only through rules), so it gets the default channel`;
      }
      if (reason.requested === 'unknown') {
        return `no rule matched; it asks for ${client.channel}, which the app does not have, so it gets the default channel`;
      }
      return 'no rule matched and it asks for no channel: the default channel';
    case 'first_channel':
      return `the default channel ${result.default_channel} is gone, so the app's first channel serves`;
  }
}

function describeOffer(offer: Offer, routed: string): string {
  const target =
    offer.status === 'update'
      ? `update to ${offer.version}${offer.mandatory ? ' (mandatory)' : ''}`
      : offer.status === 'rollback'
        ? `roll back to ${offer.version}`
        : `nothing${offer.yanked ? ' (its version is yanked, with nowhere to go)' : ''}`;
  const artifact = offer.artifact ? `: ${offer.artifact.url}` : '';
  const elsewhere =
    offer.channel === routed
      ? ''
      : ` (the server routed this request to ${offer.channel}: it reads the country from the request, not --country)`;
  return `The server offers it in ${offer.channel}: ${target}${artifact}${elsewhere}`;
}

export function describeRulesTest(result: RulesTestResult): string {
  const lines = [`${result.client.clientId} → ${result.channel}: ${why(result)}`];
  for (const outcome of result.rules) {
    if (outcome.outcome === 'matched') continue;
    const head = `  rule ${outcome.index + 1} (→ ${outcome.channel}, ${describeConditions(outcome.rule)})`;
    lines.push(
      outcome.outcome === 'unknown_channel'
        ? `${head}: skipped, the app has no channel ${outcome.channel}`
        : `${head}: ${failure(outcome.condition, outcome.rule, result.client)}`,
    );
  }
  if (result.offer) lines.push(describeOffer(result.offer, result.channel));
  return lines.join('\n');
}

/** The client of the options, each value checked as the check route checks it. */
export function testClientFromOptions(values: Values): RulesTestClient {
  const clientId = str(values, 'client-id');
  if (clientId === undefined) throw new UserError('missing --client-id <id>');
  if (!clientIdSchema.safeParse(clientId).success) {
    throw new UserError(`--client-id must be 1-128 of A-Z a-z 0-9 . _ : -, got "${clientId}"`);
  }
  const test: RulesTestClient = { clientId };
  const channel = str(values, 'channel');
  if (channel !== undefined) test.channel = parseName(channel, '--channel');
  const platform = str(values, 'platform');
  if (platform !== undefined) {
    if (!(PLATFORMS as readonly string[]).includes(platform)) {
      throw new UserError(`--platform must be one of ${PLATFORMS.join(', ')}, got "${platform}"`);
    }
    test.platform = platform as Platform;
  }
  const arch = str(values, 'arch');
  if (arch !== undefined) {
    if (!(ARCHES as readonly string[]).includes(arch)) {
      throw new UserError(`--arch must be one of ${ARCHES.join(', ')}, got "${arch}"`);
    }
    test.arch = arch as Arch;
  }
  const country = str(values, 'country');
  if (country !== undefined) {
    if (!/^[A-Za-z]{2}$/.test(country)) {
      throw new UserError(`--country must be a two-letter code such as DE, got "${country}"`);
    }
    test.country = country.toUpperCase();
  }
  const version = str(values, 'version');
  if (version !== undefined) test.version = parseVersion(version, '--version');
  // Checked by the check route it is sent to (400 naming os_version), not restated here.
  const osVersion = str(values, 'os-version');
  if (osVersion !== undefined) test.osVersion = osVersion;
  const offerParts = [test.version, test.platform, test.arch];
  if ((test.arch !== undefined || test.osVersion !== undefined) && offerParts.includes(undefined)) {
    throw new UserError(
      '--arch and --os-version ask the server what it would offer: give --version, --platform and --arch together',
    );
  }
  return test;
}

export const command: Command = {
  name: 'rules test',
  summary: 'which channel a client would get, and why (and what it would be offered there)',
  args: ['<app>'],
  usage:
    '<app> --client-id <id> [--channel <c>] [--platform <p>] [--country <CC>] [--version <v>] [--arch <a>] [--os-version <o>]',
  options: {
    'client-id': { type: 'string' },
    channel: { type: 'string' },
    platform: { type: 'string' },
    country: { type: 'string' },
    version: { type: 'string' },
    arch: { type: 'string' },
    'os-version': { type: 'string' },
  },
  help: [
    '--client-id <id>     the client (required)',
    '--channel <name>     the channel it asks for',
    '--platform <p>       its platform (needed when a rule matches on platforms)',
    '--country <CC>       its country, as the Worker reads it from the request (unknown: country rules do not match)',
    '--version <v>        its installed version (unknown: version rules do not match)',
    '--arch <a>, --os-version <o>  with --version and --platform: also ask the server what it would offer',
    'The channel is decided here, by the routing code the Worker runs, over the rules the API returns.',
  ],
  async run(inv) {
    const test = testClientFromOptions(inv.values);
    const app = arg(inv.positionals, 0);
    const result = await rulesTest({ client: inv.client(), app, test });
    if (inv.config.json) return inv.printJson(result);
    inv.print(describeRulesTest(result));
  },
};
