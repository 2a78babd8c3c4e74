/**
 * Hash routes, so the static assets layer serves one page for every view and reloads keep the place:
 *   #/                                        choose an app
 *   #/apps/demo                               app overview
 *   #/apps/demo/releases/1.1.0?channel=stable release page
 * Query parameters: `channel`, `window` (24h, 7d, 30d), `interval` (hour, day).
 */

export const WINDOWS = ['24h', '7d', '30d'] as const;
export type WindowName = (typeof WINDOWS)[number];
export const WINDOW_LABELS: Record<WindowName, string> = {
  '24h': '24 hours',
  '7d': '7 days',
  '30d': '30 days',
};
const WINDOW_MS: Record<WindowName, number> = {
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

export type Route =
  | { page: 'apps' }
  | { page: 'app'; app: string; window: WindowName }
  | {
      page: 'release';
      app: string;
      version: string;
      channel: string | undefined;
      window: WindowName;
      interval: 'hour' | 'day';
    }
  | { page: 'not-found'; hash: string };

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?', 2);
  const query = new URLSearchParams(search);
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => safeDecode(p));
  const window = WINDOWS.find((w) => w === query.get('window')) ?? '7d';
  if (parts.length === 0) return { page: 'apps' };
  if (parts[0] === 'apps' && parts.length === 2 && parts[1]) return { page: 'app', app: parts[1], window };
  if (parts[0] === 'apps' && parts.length === 4 && parts[1] && parts[2] === 'releases' && parts[3]) {
    return {
      page: 'release',
      app: parts[1],
      version: parts[3],
      channel: query.get('channel') ?? undefined,
      window,
      interval: query.get('interval') === 'day' ? 'day' : 'hour',
    };
  }
  return { page: 'not-found', hash };
}

/** The hash of a route; default values are left out so links stay short. */
export function href(route: Route): string {
  const query = new URLSearchParams();
  switch (route.page) {
    case 'apps':
      return '#/';
    case 'not-found':
      return route.hash;
    case 'app':
      if (route.window !== '7d') query.set('window', route.window);
      return withQuery(`#/apps/${enc(route.app)}`, query);
    case 'release':
      if (route.channel) query.set('channel', route.channel);
      if (route.window !== '7d') query.set('window', route.window);
      if (route.interval !== 'hour') query.set('interval', route.interval);
      return withQuery(`#/apps/${enc(route.app)}/releases/${enc(route.version)}`, query);
  }
}

/** The API's `from` for a window ending now. */
export function windowFrom(window: WindowName, now = Date.now()): string {
  return new Date(now - WINDOW_MS[window]).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function withQuery(path: string, query: URLSearchParams): string {
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

function enc(part: string): string {
  return encodeURIComponent(part);
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
