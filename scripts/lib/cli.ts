/**
 * The thin argument parser: finds the command words, parses the rest with node:util parseArgs
 * (strict), checks positionals, resolves the configuration and hands over to the command.
 * `runCli` returns the exit code: 0 done, 1 a user mistake (one line), 2 a bug (with its stack).
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { COMMANDS, type CommandEntry, GROUPS } from '../commands/index.ts';
import { ApiClient } from './api.ts';
import { type Command, type Invocation, usageOf } from './command.ts';
import { resolveConfig } from './config.ts';
import { UserError } from './errors.ts';
import { type Reporter, stderrReporter } from './progress.ts';
import { cliVersion } from './version.ts';

export interface CliIo {
  stdout: (text: string) => void;
  /** Whether stdout is a terminal, and its width: `watch` redraws in place only there. */
  terminal?: () => { tty: boolean; columns: number };
  stderr: (text: string) => void;
  reporter: Reporter;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const GLOBAL_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  keys: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;
const GLOBAL_WITH_VALUE = new Set(['--server', '--token', '--keys']);

const GLOBAL_HELP = [
  '--server <url>   admin API base URL (env UPDRAFT_SERVER, default http://127.0.0.1:8787)',
  '--token <token>  admin token (env UPDRAFT_TOKEN; on a loopback server, UPDRAFT_ADMIN_TOKEN from .dev.vars)',
  '--keys <dir>     private keys folder (env UPDRAFT_KEYS, default ./.updraft/keys)',
  '--json           print the API JSON instead of tables',
  '--help, -h       show help',
];

export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UserError) {
      io.stderr(`updraft: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 1;
    }
    const detail = error instanceof Error ? (error.stack ?? String(error)) : String(error);
    io.stderr(`updraft: unexpected error (this is a bug):\n${detail}\n`);
    return 2;
  }
}

export function processIo(): CliIo {
  quietOnClosedStdout();
  return {
    stdout: (text) => process.stdout.write(text),
    terminal: () => ({ tty: process.stdout.isTTY === true, columns: process.stdout.columns || 80 }),
    stderr: (text) => process.stderr.write(text),
    reporter: stderrReporter(),
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * A reader that stops reading (`updraft watch --json | head -1`) closes the pipe, and the next write
 * fails with EPIPE, emitted on stdout; unhandled, Node prints its stack. Nobody is left to read what
 * the command would print, so it stops quietly with 0, as `yes | head -1` does in a shell. Added once,
 * and only when the host has no handler of its own (runCli is also a library export).
 */
function quietOnClosedStdout(): void {
  if (process.stdout.listenerCount('error') > 0) return;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

/** Runs the command; resolves to its exit code (0 unless the command set another, as `watch` does). */
async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const { words, rest } = splitCommandWords(argv);
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (words.length === 0 && !wantsHelp && (argv.includes('--version') || argv.includes('-v'))) {
    io.stdout(`${cliVersion()}\n`);
    return 0;
  }
  if (words.length === 0 || (words.length === 1 && words[0] === 'help')) {
    if (words.length === 0 && !wantsHelp && argv.length > 0) {
      throw new UserError(`no command given (run \`updraft --help\`)`);
    }
    io.stdout(globalHelp());
    return 0;
  }
  const name = words.join(' ');
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const group = words[0] ?? '';
    if (GROUPS.has(group)) {
      const subs = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) =>
        c.name.slice(group.length + 1),
      );
      if (words.length === 1 && wantsHelp) {
        io.stdout(globalHelp(group));
        return 0;
      }
      if (words.length === 1) throw new UserError(`"${group}" needs a subcommand: ${subs.join(', ')}`);
      throw new UserError(`unknown command "${name}" (${group} subcommands: ${subs.join(', ')})`);
    }
    throw new UserError(`unknown command "${name}" (run \`updraft --help\` for the list)`);
  }
  const command = await entry.load();
  const parsed = parseCommandArgs(command, rest);
  if (parsed.values.help === true) {
    io.stdout(commandHelp(command));
    return 0;
  }

  const config = resolveConfig({
    server: typeof parsed.values.server === 'string' ? parsed.values.server : undefined,
    token: typeof parsed.values.token === 'string' ? parsed.values.token : undefined,
    keys: typeof parsed.values.keys === 'string' ? parsed.values.keys : undefined,
    json: parsed.values.json === true,
    env: io.env,
    cwd: io.cwd,
  });
  let client: ApiClient | undefined;
  let exitCode = 0;
  const invocation: Invocation = {
    values: parsed.values,
    positionals: parsed.positionals,
    config,
    env: io.env,
    client: () => {
      client ??= new ApiClient(config);
      return client;
    },
    reporter: io.reporter,
    print: (text) => io.stdout(text.endsWith('\n') ? text : `${text}\n`),
    printJson: (value) => io.stdout(`${JSON.stringify(value, null, 2)}\n`),
    write: (text) => io.stdout(text),
    terminal: () => io.terminal?.() ?? { tty: false, columns: 80 },
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  await command.run(invocation);
  return exitCode;
}

/** Takes the command word (and subcommand word for groups) out of argv, skipping global options. */
export function splitCommandWords(argv: readonly string[]): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    const wantMore = words.length === 0 || (words.length === 1 && wantsSubcommand(words[0] ?? '', token));
    if (token === '--' || !wantMore) {
      rest.push(...argv.slice(i));
      break;
    }
    if (token.startsWith('-')) {
      rest.push(token);
      if (GLOBAL_WITH_VALUE.has(token) && i + 1 < argv.length) rest.push(argv[++i] ?? '');
      continue;
    }
    words.push(token);
  }
  return { words, rest };
}

/**
 * Whether `token` after the group word `group` is its subcommand. A group that is also a command
 * (`rules <app>` beside `rules set`) takes only its subcommands' names; the rest are arguments.
 */
function wantsSubcommand(group: string, token: string): boolean {
  if (!GROUPS.has(group)) return false;
  if (!COMMANDS.some((c) => c.name === group)) return true;
  return COMMANDS.some((c) => c.name === `${group} ${token}`);
}

function parseCommandArgs(command: Command, args: string[]) {
  let parsed: ReturnType<
    typeof parseArgs<{ options: ParseArgsOptionsConfig; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UserError(`${parseErrorText(error)} (see \`updraft ${command.name} --help\`)`);
  }
  if (parsed.values.help === true) return parsed;
  const required = command.args.filter((a) => a.startsWith('<'));
  if (parsed.positionals.length < required.length) {
    const missing = required[parsed.positionals.length] ?? '';
    throw new UserError(`missing ${missing} (usage: ${usageOf(command)})`);
  }
  if (parsed.positionals.length > command.args.length) {
    const extra = parsed.positionals[command.args.length] ?? '';
    throw new UserError(`unexpected argument "${extra}" (usage: ${usageOf(command)})`);
  }
  return parsed;
}

/** node:util's messages, shortened to the part a user needs. */
function parseErrorText(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return message.includes('argument missing')
      ? `option ${option} needs a value`
      : `option ${option} does not take a value`;
  }
  return message.split('\n')[0] ?? message;
}

function globalHelp(group?: string): string {
  const entries: readonly CommandEntry[] = group
    ? COMMANDS.filter((c) => c.name.startsWith(`${group} `))
    : COMMANDS;
  const width = Math.max(...entries.map((c) => c.name.length));
  return [
    'updraft: publish, roll out and yank signed releases on an Updraft server',
    '',
    `Usage: updraft ${group ?? '<command>'} ${group ? '<subcommand> ' : ''}[arguments] [options]`,
    '',
    'Commands:',
    ...entries.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...GLOBAL_HELP.map((line) => `  ${line}`),
    '',
    'Run `updraft <command> --help` for the options of one command, `updraft --version` for the version.',
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const lines = [`${command.summary}`, '', `Usage: ${usageOf(command)}`, ''];
  if (command.help.length > 0) lines.push('Options:', ...command.help.map((l) => `  ${l}`), '');
  lines.push('Global options:', ...GLOBAL_HELP.map((l) => `  ${l}`), '');
  return lines.join('\n');
}
