/**
 * Hono has no 405: an unmatched method falls through to `notFound`. This answers, for a path no
 * handler took, which methods some route does accept there, so the caller can tell "wrong method"
 * (405 with `Allow`) from "no such route" (404).
 */

import { PatternRouter } from 'hono/router/pattern-router';
import type { RouterRoute } from 'hono/types';

// Built on first use from the app's final route list, then reused by every later request.
let table: { routes: readonly RouterRoute[]; count: number; router: PatternRouter<string> } | undefined;

/** Methods with a handler for `path`, sorted, with HEAD wherever GET is; empty when no route matches. */
export function allowedMethods(routes: readonly RouterRoute[], path: string): string[] {
  if (table?.routes !== routes || table.count !== routes.length) {
    table = { routes, count: routes.length, router: buildRouter(routes) };
  }
  const [matches] = table.router.match('ALL', path);
  const methods = new Set(matches.map(([method]) => method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

function buildRouter(routes: readonly RouterRoute[]): PatternRouter<string> {
  const router = new PatternRouter<string>();
  for (const route of routes) {
    // Middleware registered with `use` is listed as method ALL: it never makes a path exist.
    if (route.method === 'ALL') continue;
    router.add('ALL', route.path, route.method);
  }
  return router;
}
