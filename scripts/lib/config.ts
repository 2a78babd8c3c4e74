/**
 * Where the CLI talks to and with what: --server, --token and --keys, each falling back to an
 * environment variable and then a default that works inside the project against `npm run dev`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from './errors.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:8787';
export const DEFAULT_KEYS_DIR = './.updraft/keys';

export interface Config {
  /** Base URL without a trailing slash. */
  server: string;
  /** Admin API token; undefined when none was found (the API client then refuses to call admin routes). */
  token: string | undefined;
  /** Where the token came from, for error messages. */
  tokenSource: 'flag' | 'env' | 'dev-vars' | 'none';
  /** Absolute path of the private keys folder. */
  keysDir: string;
  json: boolean;
}

export interface ConfigInput {
  server?: string;
  token?: string;
  keys?: string;
  json?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function resolveConfig(input: ConfigInput): Config {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const server = parseServer(input.server ?? nonEmpty(env.UPDRAFT_SERVER) ?? DEFAULT_SERVER);
  const keysDir = resolve(cwd, input.keys ?? nonEmpty(env.UPDRAFT_KEYS) ?? DEFAULT_KEYS_DIR);
  const json = input.json === true;
  if (input.token !== undefined) {
    if (input.token === '') throw new UserError('--token is empty');
    return { server, token: input.token, tokenSource: 'flag', keysDir, json };
  }
  const envToken = nonEmpty(env.UPDRAFT_TOKEN);
  if (envToken) return { server, token: envToken, tokenSource: 'env', keysDir, json };
  // Local development: `npm run dev` writes the bootstrap admin token into the project's .dev.vars.
  if (isLoopback(server)) {
    const project = findProjectRoot(cwd);
    const devToken = project ? readDevVars(join(project, '.dev.vars')).UPDRAFT_ADMIN_TOKEN : undefined;
    if (devToken) return { server, token: devToken, tokenSource: 'dev-vars', keysDir, json };
  }
  return { server, token: undefined, tokenSource: 'none', keysDir, json };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function parseServer(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--server is not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`--server must be an http or https URL: ${text}`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** Whether `server` points at this machine (localhost, 127.0.0.0/8, ::1). */
export function isLoopback(server: string): boolean {
  const host = new URL(server).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The nearest directory at or above `from` holding a wrangler.toml: the Updraft project. */
export function findProjectRoot(from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'wrangler.toml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Parses a .dev.vars (dotenv) file: KEY=value lines, # comments, optional quotes. Missing file → {}. */
export function readDevVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseDevVars(readFileSync(path, 'utf8'));
}

export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line
      .slice(0, eq)
      .trim()
      .replace(/^export\s+/, '');
    let value = line.slice(eq + 1).trim();
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? '';
    vars[key] = value;
  }
  return vars;
}
