import { describe, expect, it } from 'vitest';
import { niceMax } from '../../src/dashboard/intervals.ts';
import { href, parseRoute, type Route, windowFrom } from '../../src/dashboard/router.ts';

describe('dashboard routes', () => {
  it.each<[string, Route]>([
    ['', { page: 'apps' }],
    ['#/', { page: 'apps' }],
    ['#/apps/demo', { page: 'app', app: 'demo', window: '7d' }],
    ['#/apps/demo?window=30d', { page: 'app', app: 'demo', window: '30d' }],
    ['#/apps/demo?window=1y', { page: 'app', app: 'demo', window: '7d' }],
    [
      '#/apps/demo/releases/1.1.0?channel=stable',
      { page: 'release', app: 'demo', version: '1.1.0', channel: 'stable', window: '7d', interval: 'hour' },
    ],
    [
      '#/apps/demo/releases/1.2.0-beta.1?channel=beta&window=24h&interval=day',
      {
        page: 'release',
        app: 'demo',
        version: '1.2.0-beta.1',
        channel: 'beta',
        window: '24h',
        interval: 'day',
      },
    ],
    [
      '#/apps/demo/releases/1.0.0',
      { page: 'release', app: 'demo', version: '1.0.0', channel: undefined, window: '7d', interval: 'hour' },
    ],
    ['#/nope', { page: 'not-found', hash: '#/nope' }],
  ])('%s', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
  });

  it('links round-trip and leave defaults out', () => {
    const release: Route = {
      page: 'release',
      app: 'demo',
      version: '1.1.0',
      channel: 'stable',
      window: '7d',
      interval: 'hour',
    };
    expect(href(release)).toBe('#/apps/demo/releases/1.1.0?channel=stable');
    expect(parseRoute(href(release))).toEqual(release);
    const daily: Route = { ...release, window: '30d', interval: 'day' };
    expect(parseRoute(href(daily))).toEqual(daily);
    expect(href({ page: 'app', app: 'demo', window: '7d' })).toBe('#/apps/demo');
  });

  it('turns a window into the API from', () => {
    const now = Date.parse('2026-11-21T18:00:00Z');
    expect(windowFrom('24h', now)).toBe('2026-11-20T18:00:00Z');
    expect(windowFrom('30d', now)).toBe('2026-10-22T18:00:00Z');
  });
});

describe('dashboard interval plots', () => {
  it('picks a round scale for interval plots', () => {
    expect(niceMax(0.018)).toBe(0.02);
    expect(niceMax(0.049)).toBe(0.05);
    expect(niceMax(0.1766)).toBe(0.2);
    expect(niceMax(0.3)).toBe(0.5);
    expect(niceMax(1)).toBe(1);
  });
});
