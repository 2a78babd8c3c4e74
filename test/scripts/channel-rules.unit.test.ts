import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVisibility } from '../../scripts/commands/channel-add.ts';
import { describeRules } from '../../scripts/commands/rules.ts';
import { parseRuleSpec, readRulesFile, rulesFromOptions } from '../../scripts/commands/rules-set.ts';
import { describeRulesTest, testClientFromOptions } from '../../scripts/commands/rules-test.ts';
import { splitCommandWords } from '../../scripts/lib/cli.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import type { AppView } from '../../src/protocol/admin-api.ts';
import { runBin } from './helpers.ts';

const SALT = '00112233445566778899aabbccddeeff';

describe('rules set --rule', () => {
  it.each([
    ['beta', { channel: 'beta', match: {} }],
    [
      'canary:client_ids=alice-laptop,bob-phone',
      { channel: 'canary', match: { client_ids: ['alice-laptop', 'bob-phone'] } },
    ],
    [
      'beta:platforms=darwin, linux;percent=12.5%;countries=DE,FR',
      {
        channel: 'beta',
        match: { platforms: ['darwin', 'linux'], percent_bp: 1250, countries: ['DE', 'FR'] },
      },
    ],
    [
      `beta:versions=>=1.2.0 <2.0.0;percent=5;salt=${SALT}`,
      { channel: 'beta', match: { versions: '>=1.2.0 <2.0.0', percent_bp: 500, salt: SALT } },
    ],
  ])('reads %s', (spec, rule) => {
    expect(parseRuleSpec(spec)).toEqual(rule);
  });

  it.each([
    ['Beta', /^--rule Beta: channel: /],
    ['beta:color=red', /^--rule beta:color=red: unknown condition "color" \(one of client_ids, /],
    ['beta:platforms', /^--rule beta:platforms: platforms needs a value \(platforms=…\)$/],
    ['beta:percent=5;percent=6', /^--rule beta:percent=5;percent=6: percent is given twice$/],
    [
      'beta:percent=half',
      /^--rule beta:percent=half: percent must be from 0 to 100 in steps of 0.01, got "half"$/,
    ],
    ['beta:countries=de', /^--rule beta:countries=de: match\.countries\.0: /],
    ['beta:versions=banana', /^--rule beta:versions=banana: match\.versions: must be a semver range/],
    ['beta:salt=xyz', /^--rule beta:salt=xyz: match\.salt: /],
  ])('refuses %s in one line', (spec, message) => {
    expect(() => parseRuleSpec(spec)).toThrow(UserError);
    expect(() => parseRuleSpec(spec)).toThrow(message);
  });
});

describe('rules set --file and the choice of source', () => {
  it('reads an array of rules, or an app as `rules --json` prints it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'updraft-rules-'));
    const rules = [{ channel: 'beta', match: { percent_bp: 500, salt: SALT } }];
    await writeFile(join(dir, 'array.json'), JSON.stringify(rules));
    await writeFile(join(dir, 'app.json'), JSON.stringify({ name: 'demo', revision: 3, rules }));
    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify([{ channel: 'beta', match: { platforms: ['amiga'] } }]),
    );
    await writeFile(join(dir, 'text.json'), 'rules: none');
    expect(await readRulesFile(join(dir, 'array.json'))).toEqual(rules);
    expect(await readRulesFile(join(dir, 'app.json'))).toEqual(rules);
    await expect(readRulesFile(join(dir, 'bad.json'))).rejects.toThrow(
      /^--file .*bad\.json: 0\.match\.platforms\.0: Invalid option/,
    );
    await expect(readRulesFile(join(dir, 'text.json'))).rejects.toThrow(/text\.json: not JSON$/);
    await expect(readRulesFile(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: no such file$/);
  });

  it('takes exactly one of --file, --rule and --clear', async () => {
    expect(await rulesFromOptions({ clear: true })).toEqual([]);
    expect(await rulesFromOptions({ rule: ['a', 'b:platforms=ios'] })).toEqual([
      { channel: 'a', match: {} },
      { channel: 'b', match: { platforms: ['ios'] } },
    ]);
    await expect(rulesFromOptions({})).rejects.toThrow(
      'give the rules: --file <rules.json>, --rule <spec>... or --clear',
    );
    await expect(rulesFromOptions({ file: 'x.json', clear: true })).rejects.toThrow(
      '--file and --clear exclude each other',
    );
  });
});

describe('channel add|set options', () => {
  it('reads --public and --private, and refuses both', () => {
    expect(parseVisibility({ public: true })).toBe(true);
    expect(parseVisibility({ private: true })).toBe(false);
    expect(parseVisibility({})).toBeUndefined();
    expect(() => parseVisibility({ public: true, private: true })).toThrow(
      '--public and --private exclude each other',
    );
  });
});

describe('rules test options', () => {
  it('checks each value as the check route does', () => {
    expect(
      testClientFromOptions({
        'client-id': 'c-1',
        platform: 'darwin',
        country: 'de',
        version: '1.2.0',
        arch: 'arm64',
        'os-version': '14.2',
      }),
    ).toEqual({
      clientId: 'c-1',
      platform: 'darwin',
      country: 'DE',
      version: '1.2.0',
      arch: 'arm64',
      osVersion: '14.2',
    });
    const refusals: [Record<string, string>, RegExp][] = [
      [{}, /^missing --client-id <id>$/],
      [{ 'client-id': 'no spaces' }, /^--client-id must be 1-128 of /],
      [{ 'client-id': 'c', platform: 'amiga' }, /^--platform must be one of linux, darwin, /],
      [{ 'client-id': 'c', version: '1.2' }, /^--version must be a semantic version/],
      [{ 'client-id': 'c', version: '1.0.0', 'os-version': '14' }, /^--arch and --os-version ask the server/],
    ];
    for (const [values, message] of refusals) expect(() => testClientFromOptions(values)).toThrow(message);
  });
});

describe('command words', () => {
  it('reads `rules <app>` as the rules command and `rules set <app>` as its subcommand', () => {
    expect(splitCommandWords(['rules', 'demo', '--json'])).toEqual({
      words: ['rules'],
      rest: ['demo', '--json'],
    });
    expect(splitCommandWords(['rules', 'set', 'demo'])).toEqual({ words: ['rules', 'set'], rest: ['demo'] });
    expect(splitCommandWords(['--json', 'rules', 'test', 'demo'])).toEqual({
      words: ['rules', 'test'],
      rest: ['--json', 'demo'],
    });
    expect(splitCommandWords(['channel', 'nope', 'demo'])).toEqual({
      words: ['channel', 'nope'],
      rest: ['demo'],
    });
  });

  it.each([
    [['channel', 'add', 'demo'], /^updraft: missing <name> \(usage: updraft channel add <app> <name> /],
    [
      ['channel', 'set', 'demo', 'beta', '--public', '--private'],
      /^updraft: --public and --private exclude each other$/,
    ],
    [
      ['channel', 'set', 'demo', 'beta'],
      /^updraft: nothing to change: give --public, --private or --default$/,
    ],
    [
      ['rules', 'set', 'demo', '--rule', 'beta:percent=200'],
      /^updraft: --rule beta:percent=200: percent must be/,
    ],
    [
      ['rules', 'test', 'demo', '--client-id', 'c', '--country', 'Germany'],
      /^updraft: --country must be a two-letter code/,
    ],
    [
      ['rules', 'demo', '--client-id', 'c'],
      /^updraft: unknown option --client-id \(see `updraft rules --help`\)$/,
    ],
  ])('refuses %j in one line with exit 1', async (args, message) => {
    const result = await runBin(args, { UPDRAFT_SERVER: 'http://127.0.0.1:1', UPDRAFT_TOKEN: 't' });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
  });
});

describe('rules output', () => {
  const view: AppView = {
    name: 'demo',
    default_channel: 'stable',
    revision: 4,
    created_at: '2026-11-21T18:00:00Z',
    channels: [
      { name: 'beta', public: true, revision: 1 },
      { name: 'stable', public: true, revision: 2 },
    ],
    rules: [
      { channel: 'beta', match: { client_ids: ['a', 'b'] } },
      { channel: 'gone', match: {} },
      { channel: 'beta', match: { platforms: ['darwin'], percent_bp: 1000, salt: SALT } },
    ],
  };

  it('lists the rules in order, a rule to a missing channel marked as skipped', () => {
    expect(describeRules(view)).toBe(
      [
        'Channel rules of demo (revision 4), tried in order; the first that matches decides:',
        '  1. → beta  client_ids a, b',
        '  2. → gone  everyone  (no such channel: skipped)',
        '  3. → beta  platforms darwin and a 10% cohort (salt 00112233…)',
        'A client that matches no rule gets the public channel it asks for, else the default channel, stable.',
      ].join('\n'),
    );
  });

  it('says why a client lands where it does, rule by rule', () => {
    const text = describeRulesTest({
      app: 'demo',
      revision: 4,
      default_channel: 'stable',
      client: { clientId: 'c-9', platform: 'darwin' },
      channel: 'stable',
      reason: { kind: 'default' },
      rules: [
        {
          index: 0,
          channel: 'beta',
          outcome: 'failed',
          condition: 'client_ids',
          rule: { channel: 'beta', match: { client_ids: ['a', 'b'] } },
        },
        { index: 1, channel: 'gone', outcome: 'unknown_channel', rule: { channel: 'gone', match: {} } },
        {
          index: 2,
          channel: 'beta',
          outcome: 'failed',
          condition: 'percent_bp',
          rule: { channel: 'beta', match: { platforms: ['darwin'], percent_bp: 1000, salt: SALT } },
        },
      ],
    });
    expect(text).toBe(
      [
        'c-9 → stable: no rule matched and it asks for no channel: the default channel',
        '  rule 1 (→ beta, client_ids a, b): c-9 is not one of its client_ids',
        '  rule 2 (→ gone, everyone): skipped, the app has no channel gone',
        '  rule 3 (→ beta, platforms darwin and a 10% cohort (salt 00112233…)): c-9 is outside its 10% cohort',
      ].join('\n'),
    );
  });
});
