#!/usr/bin/env node
// The `updraft` release CLI (docs/protocol.md §7). The parser and error handling live in lib/cli.ts.
import { runCli } from './lib/cli.ts';

process.exitCode = await runCli(process.argv.slice(2));
