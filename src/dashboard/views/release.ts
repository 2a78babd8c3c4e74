/**
 * `#/apps/{app}/releases/{version}?channel=`: one release in one channel: its rollout, the §5
 * metrics as tiles (crash-free sessions and users among them), adoption over time (hourly or daily), failure and rollback rates with their
 * Wilson intervals next to the channel's other releases, install durations and the top errors; and
 * the release against its baseline (baseline.ts).
 */

import {
  formatBp,
  formatCrashFree,
  formatCrashFreeInterval,
  formatDuration,
  formatFraction,
  formatInterval,
  isUnknownRate,
  NO_DATA,
} from '../../protocol/format.ts';
import { find, get, optional, seg } from '../api.ts';
import { baselinePanel } from '../baseline.ts';
import { adoptionChart, type Chart, clientsChart } from '../charts.ts';
import { card, emptyState, notice, segmented, shareBar, stateBadge, tag, tile } from '../components.ts';
import { h, srOnly } from '../dom.ts';
import { count, date } from '../format.ts';
import { durationRanges, failureRows, rateIntervals, rollbackRows } from '../intervals.ts';
import { href, type Route, WINDOW_LABELS, WINDOWS, windowFrom } from '../router.ts';
import type {
  AdoptionView,
  ChannelHealth,
  Rate,
  ReleaseComparison,
  ReleaseHealth,
  ReleaseView,
  StatusView,
} from '../types.ts';
import type { View } from './view.ts';

type ReleaseRoute = Extract<Route, { page: 'release' }>;

export async function releaseView(route: ReleaseRoute): Promise<View> {
  const app = seg(route.app);
  const from = windowFrom(route.window);
  const status = await get<StatusView>(`/v1/admin/apps/${app}/status`);
  const channelName = route.channel ?? status.default_channel;
  const channel = status.channels.find((c) => c.name === channelName);
  const [release, health, channelHealth, adoption, versus] = await Promise.all([
    find<ReleaseView>(`/v1/admin/apps/${app}/releases/${seg(route.version)}`),
    optional<ReleaseHealth>(`/v1/admin/apps/${app}/health`, {
      version: route.version,
      channel: channelName,
      from,
    }),
    optional<ChannelHealth>(`/v1/admin/apps/${app}/health`, { channel: channelName, from }),
    optional<AdoptionView>(`/v1/admin/apps/${app}/adoption`, {
      channel: channelName,
      interval: route.interval,
      from,
    }),
    // Undefined from a server older than the comparison.
    optional<ReleaseComparison>(`/v1/admin/apps/${app}/compare`, {
      version: route.version,
      channel: channelName,
      from,
    }),
  ]);
  const rollout = channel?.rollouts.find((r) => r.version === route.version);
  const withRollout = status.channels.filter((c) => c.rollouts.some((r) => r.version === route.version));
  const yank = channel?.yanked.find((y) => y.version === route.version);

  const charts: Chart[] = [];
  const has = (p: AdoptionView['points'][number]) => p.clients > 0;
  if (adoption?.points.some(has)) charts.push(adoptionChart(adoption, route.version), clientsChart(adoption));

  const compare = comparison(channelHealth?.releases ?? [], health);
  const windowLabel = WINDOW_LABELS[route.window];

  const node = h(
    'div',
    { class: 'page release-page' },
    h(
      'header',
      { class: 'page-header' },
      h(
        'div',
        {},
        h(
          'nav',
          { class: 'crumbs', 'aria-label': 'Breadcrumb' },
          h('a', { href: '#/' }, 'Apps'),
          h('span', { 'aria-hidden': 'true' }, '/'),
          h('a', { href: href({ page: 'app', app: route.app, window: route.window }) }, route.app),
          h('span', { 'aria-hidden': 'true' }, '/'),
        ),
        h(
          'div',
          { class: 'title-row' },
          h('h1', { tabindex: '-1', class: 'mono' }, route.version),
          rollout ? stateBadge(rollout.state) : null,
          release?.yanked ? tag('yanked', 'danger') : null,
          release?.mandatory ? tag('mandatory') : null,
          release?.critical ? tag('critical', 'danger') : null,
        ),
        h(
          'p',
          { class: 'muted' },
          rollout ? `Channel ${channelName}` : `No rollout on ${channelName}`,
          release ? ` · published ${date(release.published_at)}` : ' · unknown release',
          release?.notes ? ` · ${release.notes}` : '',
        ),
      ),
      h(
        'div',
        { class: 'controls' },
        withRollout.length > 1
          ? [
              h('span', { class: 'control-label', id: 'channel-label' }, 'Channel'),
              segmented(
                'Channel',
                withRollout.map((c) => c.name),
                channelName,
                (c) => href({ ...route, channel: c }),
              ),
            ]
          : null,
        h('span', { class: 'control-label', id: 'window-label' }, 'Window'),
        segmented(
          'Window',
          WINDOWS,
          route.window,
          (w) => href({ ...route, window: w }),
          (w) => (w === '24h' ? '24 h' : w === '7d' ? '7 d' : '30 d'),
        ),
      ),
    ),
    yank
      ? notice(
          'error',
          `Yanked: ${yank.reason}. Clients roll back to ${yank.rollback_to ?? 'nothing (no target)'}.`,
        )
      : null,
    rollout ? rolloutStrip(rollout.percent_bp, channelName) : null,
    health
      ? tiles(health, windowLabel)
      : notice('info', 'This server has no analytics API yet: no health to show.'),
    versus ? baselinePanel(versus, windowLabel) : null,
    card(
      {
        title: 'Adoption',
        id: 'adoption',
        subtitle: `Share of ${channelName}'s active clients on each version, per ${route.interval}`,
        actions: segmented(
          'Interval',
          ['hour', 'day'] as const,
          route.interval,
          (i) => href({ ...route, interval: i }),
          (i) => (i === 'hour' ? 'Hourly' : 'Daily'),
        ),
      },
      charts.length > 0
        ? charts.map((c) => c.element)
        : emptyState(
            'No telemetry yet',
            `No client of ${channelName} has reported in the last ${windowLabel}.`,
          ),
    ),
    h(
      'div',
      { class: 'grid-2' },
      card(
        {
          title: 'Failure rate',
          id: 'failure-rate',
          subtitle: 'Failed installs / install attempts · bar: rate, whisker: 95 % Wilson interval',
        },
        rateIntervals('Failure rate', failureRows(compare, route.version)),
      ),
      card(
        {
          title: 'Rollback rate',
          id: 'rollback-rate',
          subtitle: 'Clients that rolled back / clients that installed · 95 % interval',
        },
        rateIntervals('Rollback rate', rollbackRows(compare, route.version)),
      ),
    ),
    h(
      'div',
      { class: 'grid-2' },
      card(
        {
          title: 'Install duration',
          id: 'durations',
          subtitle: 'Successful installs · dark: median (p50), light: p95',
        },
        durationRanges(compare, route.version),
      ),
      card(
        { title: 'Top errors', id: 'errors', subtitle: 'Failed installs and downloads by error code' },
        errorsTable(health),
      ),
    ),
  );

  return {
    title: `${route.version} · ${route.app}`,
    node,
    mount: () => {
      for (const chart of charts) chart.mount();
    },
    destroy: () => {
      for (const chart of charts) chart.destroy();
    },
  };
}

/** The page's release first, then the channel's others (newest first), for the interval plots. */
function comparison(releases: readonly ReleaseHealth[], current: ReleaseHealth | undefined): ReleaseHealth[] {
  const others = releases.filter((r) => r.version !== current?.version);
  return current ? [current, ...others] : others;
}

function rolloutStrip(percentBp: number, channel: string): HTMLElement {
  return h(
    'div',
    { class: 'rollout-strip' },
    h('span', { class: 'rollout-strip-label' }, `Rollout on ${channel}`),
    shareBar(percentBp / 10_000, `${formatBp(percentBp)} of clients`),
  );
}

function tiles(r: ReleaseHealth, windowLabel: string): HTMLElement {
  const tone = (x: Rate) => (!isUnknownRate(x) && x.low > 0.05 ? 'danger' : undefined);
  const rate = (x: Rate) => (isUnknownRate(x) ? NO_DATA : formatFraction(x.value));
  const ci = (x: Rate) => (isUnknownRate(x) ? 'no installs yet' : `95 % CI ${formatInterval(x)}`);
  const metric = (name: string, text: string) => h('span', { 'data-metric': name }, text);
  return h(
    'dl',
    {
      class: 'tiles tiles-release',
      'aria-label': `Health over the last ${windowLabel}`,
      'data-version': r.version,
    },
    tile('Installs', metric('installs', count(r.installs)), [
      metric('failures', count(r.failures)),
      ` failed · last ${windowLabel}`,
    ]),
    tile(
      'Failure rate',
      metric('failure-rate', rate(r.failure_rate)),
      ci(r.failure_rate),
      tone(r.failure_rate),
    ),
    tile(
      'Rollback rate',
      metric('rollback-rate', rate(r.rollback_rate)),
      [
        metric('rollbacks', count(r.rollbacks)),
        ` rollback${r.rollbacks === 1 ? '' : 's'} · ${ci(r.rollback_rate)}`,
      ],
      tone(r.rollback_rate),
    ),
    tile('Adoption', metric('adoption', formatFraction(r.adoption)), 'of clients active in the last 24 h'),
    tile('Install time', metric('p50', formatDuration(r.duration_ms.p50)), [
      'median · p95 ',
      metric('p95', formatDuration(r.duration_ms.p95)),
    ]),
    r.sessions ? crashFreeTiles(r.sessions, r.crash_free_sessions, r.crash_free_users, metric) : null,
  );
}

/** Crash-free sessions and users (docs/protocol.md §5) with their intervals; none from a server without sessions. */
function crashFreeTiles(
  sessions: NonNullable<ReleaseHealth['sessions']>,
  freeSessions: Rate | undefined,
  freeUsers: Rate | undefined,
  metric: (name: string, text: string) => HTMLElement,
): HTMLElement[] {
  const value = (rate: Rate | undefined, total: number) =>
    rate && total > 0 ? formatCrashFree(rate.value) : NO_DATA;
  const detail = (rate: Rate | undefined, total: number, what: string, name: string) =>
    rate && total > 0
      ? [`95 % CI ${formatCrashFreeInterval(rate)} · `, metric(name, count(total)), ` ${what}`]
      : `no ${what} yet`;
  return [
    tile(
      'Crash-free sessions',
      metric('crash-free-sessions', value(freeSessions, sessions.total)),
      detail(freeSessions, sessions.total, 'sessions', 'sessions'),
    ),
    tile(
      'Crash-free users',
      metric('crash-free-users', value(freeUsers, sessions.clients)),
      detail(freeUsers, sessions.clients, 'users', 'session-clients'),
    ),
  ];
}

function errorsTable(health: ReleaseHealth | undefined): HTMLElement {
  const errors = health?.top_errors ?? [];
  if (errors.length === 0)
    return emptyState(
      'No errors reported',
      'Failed installs and downloads would be listed here by error code.',
    );
  const total = errors.reduce((sum, e) => sum + e.count, 0);
  return h(
    'table',
    { class: 'errors' },
    h('caption', {}, srOnly('Top error codes with counts')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Error code'),
        h('th', { scope: 'col', class: 'num' }, 'Count'),
        h('th', { scope: 'col', class: 'col-share' }, 'Share'),
      ),
    ),
    h(
      'tbody',
      {},
      errors.map((e) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, h('code', {}, e.code)),
          h('td', { class: 'num' }, count(e.count)),
          h(
            'td',
            { class: 'col-share' },
            shareBar(e.count / total, formatFraction(e.count / total), 'muted'),
          ),
        ),
      ),
    ),
  );
}
