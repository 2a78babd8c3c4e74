import { describe, expect, it, vi } from 'vitest';
import type { Command } from '../../scripts/lib/command.ts';

// One command that has a bug, one that reports a user mistake: the parser must tell them apart.
vi.mock('../../scripts/commands/index.ts', () => {
  const make = (name: string, error: Error): Command => ({
    name,
    summary: name,
    args: [],
    options: {},
    help: [],
    run: async () => {
      throw error;
    },
  });
  return {
    GROUPS: new Set<string>(),
    COMMANDS: [
      { name: 'crash', summary: 'a bug', load: async () => make('crash', new TypeError('x is undefined')) },
    ],
  };
});

const { runCli } = await import('../../scripts/lib/cli.ts');
const { silentReporter } = await import('../../scripts/lib/progress.ts');

function io() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (t: string) => {
        out.stdout += t;
      },
      stderr: (t: string) => {
        out.stderr += t;
      },
      reporter: silentReporter,
      env: {},
      cwd: process.cwd(),
    },
  };
}

describe('runCli', () => {
  it('prints the stack of a bug and answers exit code 2', async () => {
    const { out, io: cliIo } = io();
    expect(await runCli(['crash'], cliIo)).toBe(2);
    expect(out.stderr).toMatch(
      /^updraft: unexpected error \(this is a bug\):\nTypeError: x is undefined\n\s+at /,
    );
  });

  it('answers 1 with one line for a user mistake', async () => {
    const { out, io: cliIo } = io();
    expect(await runCli(['nope'], cliIo)).toBe(1);
    expect(out.stderr).toBe('updraft: unknown command "nope" (run `updraft --help` for the list)\n');
  });
});
