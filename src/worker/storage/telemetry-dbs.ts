/**
 * Where an app's telemetry lives (docs/protocol.md §11, docs/operations.md § 9): the control database
 * `DB`, or one of the D1 databases bound as `TELEMETRY_*` in wrangler.toml. The binding's name is
 * recorded in `apps.telemetry_db` when the app is created (migrations/0014) and never changes, so
 * binding another database moves no existing app. This is the one place that names those bindings:
 * everything else asks for an app's database here.
 */

/** The control database's binding, and the telemetry database of every app made before 0014. */
export const CONTROL_DB = 'DB';
/** What migrations/0014 accepts in `apps.telemetry_db`: other names are not telemetry databases. */
const TELEMETRY_NAME = /^TELEMETRY_[A-Z0-9_]+$/;

/** A bound D1 database: `TELEMETRY_RETENTION_DAYS` shares the prefix but is a string. */
function isD1(value: unknown): value is D1Database {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<D1Database>).prepare === 'function' &&
    typeof (value as Partial<D1Database>).batch === 'function'
  );
}

/** The `TELEMETRY_*` D1 bindings of this Worker, by name; empty when telemetry stays in DB. */
export function telemetryBindings(env: Env): string[] {
  return Object.keys(env)
    .filter((name) => TELEMETRY_NAME.test(name) && isD1((env as unknown as Record<string, unknown>)[name]))
    .sort();
}

/** The databases telemetry may be in: DB and every bound `TELEMETRY_*` one, each once. */
export function telemetryDatabases(env: Env): { name: string; db: D1Database }[] {
  const named = telemetryBindings(env).map((name) => ({ name, db: bindingOf(env, name) }));
  return [{ name: CONTROL_DB, db: env.DB }, ...named].flatMap(({ name, db }) => (db ? [{ name, db }] : []));
}

/** The D1 database bound as `name` (DB or a `TELEMETRY_*` binding), or undefined when it is not bound. */
export function bindingOf(env: Env, name: string): D1Database | undefined {
  if (name === CONTROL_DB) return env.DB;
  if (!TELEMETRY_NAME.test(name)) return undefined;
  const value = (env as unknown as Record<string, unknown>)[name];
  return isD1(value) ? value : undefined;
}

/**
 * The database a new app's telemetry goes to when the request names none. `NEW_APP_TELEMETRY_DB`
 * (wrangler.toml) may pin one (DB or a bound `TELEMETRY_*`: an operator stops filling a database
 * that nears its size); `auto`, the default, takes the bound `TELEMETRY_*` database with the fewest
 * apps (ties by name), so new apps spread evenly and a freshly bound, empty database takes the next
 * ones; DB when none is bound. A pinned name that is not bound counts as `auto`.
 */
export async function chooseTelemetryDb(env: Env): Promise<string> {
  const pinned = env.NEW_APP_TELEMETRY_DB;
  if (pinned !== undefined && pinned !== 'auto' && bindingOf(env, pinned)) return pinned;
  const names = telemetryBindings(env);
  if (names.length === 0) return CONTROL_DB;
  const { results } = await env.DB.prepare(
    'SELECT telemetry_db AS name, count(*) AS apps FROM apps GROUP BY telemetry_db',
  ).all<{ name: string; apps: number }>();
  const apps = new Map(results.map((row) => [row.name, row.apps]));
  const load = (name: string) => apps.get(name) ?? 0;
  return names.reduce((best, name) => (load(name) < load(best) ? name : best));
}

/** An app's recorded database names a binding this Worker does not have (removed from wrangler.toml). */
export class UnboundTelemetryDb extends Error {
  constructor(app: string, name: string) {
    super(`app ${app} keeps its telemetry in ${name}, which is not bound in wrangler.toml`);
  }
}

/** App → binding name. An app's database never changes, so an isolate can keep it as long as it lives. */
const recorded = new Map<string, string>();

/**
 * The name of the binding that holds `app`'s telemetry, read from `apps.telemetry_db` once per
 * isolate. An app the control database does not know (a hand-sent queue message) is given DB, as
 * before migrations/0014, and not remembered.
 */
export async function telemetryDbName(env: Env, app: string): Promise<string> {
  const cached = recorded.get(app);
  if (cached !== undefined) return cached;
  const row = await env.DB.prepare('SELECT telemetry_db FROM apps WHERE name = ?1')
    .bind(app)
    .first<{ telemetry_db: string }>();
  if (!row) return CONTROL_DB;
  recorded.set(app, row.telemetry_db);
  return row.telemetry_db;
}

/** The D1 database that holds `app`'s telemetry; throws UnboundTelemetryDb when it is not bound here. */
export async function telemetryDb(env: Env, app: string): Promise<D1Database> {
  const name = await telemetryDbName(env, app);
  const db = bindingOf(env, name);
  if (!db) throw new UnboundTelemetryDb(app, name);
  return db;
}

/** The control database for release and rollout rows, and the app's for its events: what analytics reads. */
export interface AnalyticsDbs {
  control: D1Database;
  telemetry: D1Database;
}

export async function analyticsDbs(env: Env, app: string): Promise<AnalyticsDbs> {
  return { control: env.DB, telemetry: await telemetryDb(env, app) };
}
