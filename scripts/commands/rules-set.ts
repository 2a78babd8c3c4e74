/**
 * `updraft rules set <app> (--file rules.json | --rule <spec>... | --clear)`: replaces an app's
 * channel rules. A file holds the rules array, or an app as `updraft rules <app> --json` prints it
 * (so a listing edited by hand goes back as is, salts included). A `--rule` is
 * `<channel>[:<condition>;<condition>...]`, a condition `client_ids=a,b`, `platforms=linux,darwin`,
 * `countries=DE,FR`, `versions=>=1.2.0`, `percent=10` or `salt=<32 hex>`; without conditions the rule
 * matches everyone.
 */

import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import type { AppView } from '../../src/protocol/admin-api.ts';
import { type ChannelRule, channelRuleSchema } from '../../src/protocol/channels.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command, flag, list, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName, parsePercent } from '../lib/parse.ts';
import { parseRevision } from './promote.ts';
import { describeRules } from './rules.ts';

/** The API's limit (PUT …/rules). */
const MAX_RULES = 100;

export async function rulesSet(opts: {
  client: ApiClient;
  app: string;
  rules: readonly ChannelRule[];
  expectedRevision?: number;
}): Promise<AppView> {
  const app = parseName(opts.app, 'app name');
  const body: { rules: readonly ChannelRule[]; expected_revision?: number } = { rules: opts.rules };
  if (opts.expectedRevision !== undefined) body.expected_revision = opts.expectedRevision;
  return opts.client.request<AppView>('PUT', `/v1/admin/apps/${seg(app)}/rules`, { json: body });
}

/** "match.platforms.0: Invalid option" from the first zod issue. */
function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

const LIST_CONDITIONS = ['client_ids', 'platforms', 'countries'] as const;
const CONDITIONS = [...LIST_CONDITIONS, 'versions', 'percent', 'salt'];

/** `beta:platforms=darwin;percent=10` → `{channel: 'beta', match: {platforms: ['darwin'], percent_bp: 1000}}`. */
export function parseRuleSpec(text: string): ChannelRule {
  const colon = text.indexOf(':');
  const channel = colon === -1 ? text : text.slice(0, colon);
  const conditions = colon === -1 ? [] : text.slice(colon + 1).split(';');
  const where = `--rule ${text}`;
  const match: Record<string, unknown> = {};
  for (const condition of conditions) {
    if (condition.trim() === '') continue;
    const eq = condition.indexOf('=');
    const key = (eq === -1 ? condition : condition.slice(0, eq)).trim();
    const value = eq === -1 ? '' : condition.slice(eq + 1).trim();
    if (!CONDITIONS.includes(key)) {
      throw new UserError(`${where}: unknown condition "${key}" (one of ${CONDITIONS.join(', ')})`);
    }
    if (eq === -1 || value === '') throw new UserError(`${where}: ${key} needs a value (${key}=…)`);
    const name = key === 'percent' ? 'percent_bp' : key;
    if (name in match) throw new UserError(`${where}: ${key} is given twice`);
    if ((LIST_CONDITIONS as readonly string[]).includes(key)) {
      match[name] = value.split(',').map((v) => v.trim());
    } else if (key === 'percent') {
      try {
        match[name] = parsePercent(value);
      } catch {
        throw new UserError(`${where}: percent must be from 0 to 100 in steps of 0.01, got "${value}"`);
      }
    } else {
      match[name] = value;
    }
  }
  const parsed = channelRuleSchema.strict().safeParse({ channel, match });
  if (!parsed.success) throw new UserError(`${where}: ${issueText(parsed.error)}`);
  return parsed.data;
}

const rulesFile = z.union([
  z.array(channelRuleSchema).max(MAX_RULES),
  z.object({ rules: z.array(channelRuleSchema).max(MAX_RULES) }).transform((app) => app.rules),
]);

/** The rules of a JSON file: an array of rules, or `{"rules": [...]}` (an app as `rules --json` prints it). */
export async function readRulesFile(path: string): Promise<ChannelRule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    throw new UserError(`--file ${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`--file ${path}: not JSON`);
  }
  const parsed = rulesFile.safeParse(json);
  if (!parsed.success) {
    // The union's own message says little; name the problem inside the rules.
    const inner = Array.isArray(json)
      ? z.array(channelRuleSchema).max(MAX_RULES).safeParse(json)
      : z.object({ rules: z.array(channelRuleSchema).max(MAX_RULES) }).safeParse(json);
    const detail = inner.success ? 'not a list of rules' : issueText(inner.error);
    throw new UserError(`--file ${path}: ${detail} (a JSON array of rules, or {"rules": [...]})`);
  }
  return parsed.data;
}

/** The rules the options ask for: exactly one of --file, --rule (repeatable) and --clear. */
export async function rulesFromOptions(values: Parameters<typeof str>[0]): Promise<ChannelRule[]> {
  const file = str(values, 'file');
  const specs = list(values, 'rule');
  const clear = flag(values, 'clear');
  const given = [file !== undefined && '--file', specs.length > 0 && '--rule', clear && '--clear'].filter(
    (g): g is string => typeof g === 'string',
  );
  if (given.length === 0)
    throw new UserError('give the rules: --file <rules.json>, --rule <spec>... or --clear');
  if (given.length > 1) throw new UserError(`${given.join(' and ')} exclude each other`);
  if (file !== undefined) return readRulesFile(file);
  if (clear) return [];
  if (specs.length > MAX_RULES) throw new UserError(`at most ${MAX_RULES} rules, got ${specs.length}`);
  return specs.map(parseRuleSpec);
}

export const command: Command = {
  name: 'rules set',
  summary: "replace an app's channel rules (from a file or --rule flags)",
  args: ['<app>'],
  usage: '<app> (--file <rules.json> | --rule <channel>[:<condition>;...]... | --clear)',
  options: {
    file: { type: 'string' },
    rule: { type: 'string', multiple: true },
    clear: { type: 'boolean' },
    'expected-revision': { type: 'string' },
  },
  help: [
    '--file <rules.json>     a JSON array of rules, or an app as `updraft rules <app> --json` prints it',
    '--rule <spec>           a rule, in order (repeatable): <channel>[:<condition>;<condition>...], e.g.',
    "                        --rule 'canary:client_ids=alice-laptop,bob-phone' --rule 'beta:platforms=darwin;percent=10'",
    '                        conditions: client_ids=a,b  platforms=linux,darwin  countries=DE,FR',
    '                        versions=<semver range>  percent=10 (a cohort; the server adds a salt)  salt=<32 hex>',
    '--clear                 remove every rule',
    '--expected-revision <n> refuse (409) if the app changed since revision n',
    'Rules are tried in order; the first whose conditions all hold picks the channel. Needs an admin token.',
  ],
  async run(inv) {
    const rules = await rulesFromOptions(inv.values);
    const view = await rulesSet({
      client: inv.client(),
      app: arg(inv.positionals, 0),
      rules,
      expectedRevision: parseRevision(str(inv.values, 'expected-revision')),
    });
    if (inv.config.json) return inv.printJson(view);
    inv.print(describeRules(view));
  },
};
