/** What a command module exports, and small typed readers for parsed option values. */
import type { ParseArgsOptionsConfig } from 'node:util';
import type { ApiClient } from './api.ts';
import type { Config } from './config.ts';
import { UserError } from './errors.ts';
import type { Reporter } from './progress.ts';

export type OptionValue = string | boolean | (string | boolean)[] | undefined;
export type Values = Record<string, OptionValue>;

/** Everything a command's adapter gets from the parser. */
export interface Invocation {
  values: Values;
  /** Positional arguments after the command words, already counted against `args`. */
  positionals: string[];
  config: Config;
  /** The environment: a command's own defaults (UPDRAFT_EXPO_PRIVATE_KEY), read like --keys reads UPDRAFT_KEYS. */
  env: NodeJS.ProcessEnv;
  /** The admin API client for `config` (built on first use). */
  client(): ApiClient;
  reporter: Reporter;
  /** A line (or block) of human output on stdout. */
  print(text: string): void;
  /** The exact API JSON on stdout, for --json. */
  printJson(value: unknown): void;
  /** Raw text on stdout, no newline added (redrawing in place). */
  write(text: string): void;
  /** Whether stdout is a terminal, and how wide. */
  terminal(): { tty: boolean; columns: number };
  /** The exit code when the command returns normally (default 0; `watch` uses 3 and 130). */
  setExitCode(code: number): void;
}

export interface Command {
  /** `promote`, or `keys init` for a subcommand. */
  name: string;
  summary: string;
  /** Positional names: `<app>` required, `[app]` optional. */
  args: readonly string[];
  /** The synopsis after the command name, when it has required options: `<app> --channel <name>`. */
  usage?: string;
  /** Command options (the global ones are added by the parser). */
  options: ParseArgsOptionsConfig;
  /** Help lines describing the options, e.g. `--percent <n>   share of clients (default 100)`. */
  help: readonly string[];
  run(invocation: Invocation): Promise<void>;
}

export function usageOf(command: Pick<Command, 'name' | 'args' | 'usage'>): string {
  const synopsis = command.usage ?? [...command.args, '[options]'].join(' ');
  return `updraft ${command.name} ${synopsis}`;
}

export function str(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requireStr(values: Values, name: string, hint = '<value>'): string {
  const value = str(values, name);
  if (value === undefined || value === '') throw new UserError(`missing --${name} ${hint}`);
  return value;
}

export function list(values: Values, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** The positional at `index`; the parser has already checked that required ones are present. */
export function arg(positionals: readonly string[], index: number): string {
  const value = positionals[index];
  if (value === undefined) throw new UserError(`missing argument ${index + 1}`);
  return value;
}
