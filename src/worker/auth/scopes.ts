/** Who may call an admin route: roles (src/protocol/roles.ts) and the apps a token is limited to. */

/**
 * What an admin route acts on, for tokens limited to apps (docs/protocol.md §4; enforced by `requireRole`).
 * A route whose path has `:app` acts on that app, whatever it declares. Otherwise:
 * - `deployment` (the default): the deployment as a whole; only a token for every app may call it;
 * - `query`: the app named by `?app=`, which a limited token must give, naming one of its apps;
 * - `own`: what the caller may see anyway (its identity, its apps); the handler shows no other app.
 */
export type RouteScope = 'deployment' | 'query' | 'own';

/** Whether a token limited to `apps` (null: every app) may act on `app`. */
export function scopeAllows(apps: readonly string[] | null, app: string): boolean {
  return apps === null || apps.includes(app);
}
