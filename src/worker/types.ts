import type { Role } from '../protocol/roles.ts';

/** Who is calling an admin route, set by the auth middleware. */
export interface Actor {
  /** `bootstrap` for UPDRAFT_ADMIN_TOKEN, else `token:<id>:<name>`. */
  name: string;
  role: Role;
  /** The apps the token is limited to, or null for every app and the deployment (docs/protocol.md §4). */
  apps: readonly string[] | null;
}

export interface Vars {
  actor: Actor;
}

/** Hono generics for every sub-app: `new Hono<AppEnv>()`. */
export interface AppEnv {
  Bindings: Env;
  Variables: Vars;
}
