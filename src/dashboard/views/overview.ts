/**
 * `#/apps/{app}`: every channel of an app with its rollouts (percentage bars, state badges) and
 * each rollout's health at a glance: installs, failure rate, rollback rate, adoption.
 */

import { formatBp, formatFraction, NO_DATA } from '../../protocol/format.ts';
import { canAct } from '../actions.ts';
import { get, optional, seg } from '../api.ts';
import {
  card,
  crashFreeCell,
  emptyState,
  notice,
  rateCell,
  shareBar,
  stateBadge,
  tag,
  tile,
} from '../components.ts';
import { h, srOnly } from '../dom.ts';
import { count } from '../format.ts';
import { href, type Route, WINDOW_LABELS, WINDOWS, windowFrom } from '../router.ts';
import type {
  ChannelHealth,
  ChannelView,
  ClientsView,
  ReleaseHealth,
  RolloutView,
  StatusView,
  Whoami,
} from '../types.ts';
import { historyPanel } from './history.ts';
import { type ChannelActions, promoteReleaseButton, rolloutMenu } from './rollout-actions.ts';
import type { View } from './view.ts';

type AppRoute = Extract<Route, { page: 'app' }>;

interface ChannelData {
  channel: ChannelView;
  /** undefined: the server has no analytics routes. */
  health: ChannelHealth | undefined;
  clients: ClientsView | undefined;
}

export interface OverviewOptions {
  who: Whoami | undefined;
  /** Renders the page again from the server (after a stale revision). */
  reload(): void;
}

export async function overviewView(route: AppRoute, opts: OverviewOptions): Promise<View> {
  const app = seg(route.app);
  const status = await get<StatusView>(`/v1/admin/apps/${app}/status`);
  const from = windowFrom(route.window);
  const channels = [...status.channels].sort(
    (a, b) =>
      Number(b.name === status.default_channel) - Number(a.name === status.default_channel) ||
      a.name.localeCompare(b.name),
  );
  const data: ChannelData[] = await Promise.all(
    channels.map(async (channel) => {
      const [health, clients] = await Promise.all([
        optional<ChannelHealth>(`/v1/admin/apps/${app}/health`, { channel: channel.name, from }),
        optional<ClientsView>(`/v1/admin/apps/${app}/clients`, { channel: channel.name }),
      ]);
      return { channel, health, clients };
    }),
  );

  const analytics = data.some((d) => d.health !== undefined);
  const releases = data.flatMap((d) => d.health?.releases ?? []);
  const active = data.reduce((sum, d) => sum + (d.clients?.active_24h ?? 0), 0);
  const installs = releases.reduce((sum, r) => sum + r.installs, 0);
  const failures = releases.reduce((sum, r) => sum + r.failures, 0);
  const rollbacks = releases.reduce((sum, r) => sum + r.rollbacks, 0);
  const quiet = analytics && active === 0 && installs === 0 && failures === 0 && rollbacks === 0;
  const windowLabel = WINDOW_LABELS[route.window];
  const history = historyPanel(status.app);
  const announcer = h('div', { class: 'action-status', 'aria-live': 'polite' });

  /** A channel's card; with a publisher token, its actions re-render it from the server's answer. */
  function channelSection(d: ChannelData): HTMLElement {
    const actions: ChannelActions | undefined = canAct(opts.who?.role)
      ? {
          app: status.app,
          channel: d.channel,
          changed(view, message) {
            d.channel = view;
            section.replaceWith(channelSection(d));
            announcer.replaceChildren(notice('info', message));
            void history.refresh();
          },
          reload: opts.reload,
          focusAfter: (version) =>
            document.querySelector<HTMLElement>(
              `#channel-${CSS.escape(d.channel.name)} tr[data-version="${CSS.escape(version)}"] summary`,
            ) ?? document.getElementById(`channel-${d.channel.name}-title`),
        }
      : undefined;
    const section = channelCard(status, d, route, actions);
    return section;
  }

  const node = h(
    'div',
    { class: 'page' },
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
        ),
        h('h1', { tabindex: '-1' }, status.app),
        h(
          'p',
          { class: 'muted' },
          `Default channel ${status.default_channel} · ${channels.length} channel${channels.length === 1 ? '' : 's'} · health over the last ${windowLabel}`,
        ),
      ),
      windowPicker(route),
    ),
    analytics
      ? h(
          'dl',
          { class: 'tiles', 'aria-label': 'App totals' },
          tile('Active clients', count(active), 'last 24 hours'),
          tile('Installs', count(installs), `last ${windowLabel}`),
          tile(
            'Failed installs',
            count(failures),
            installs + failures > 0
              ? `${formatFraction(failures / (installs + failures))} of attempts`
              : NO_DATA,
          ),
          tile('Rollbacks', count(rollbacks), `last ${windowLabel}`),
        )
      : notice('info', 'This server has no analytics API yet, so health shows “–”. Rollouts are current.'),
    quiet
      ? notice(
          'info',
          h('strong', {}, 'No telemetry yet. '),
          'Clients report checks, installs and rollbacks to ',
          h('code', {}, `POST /v1/apps/${status.app}/events`),
          '; numbers appear here a few seconds after the first events arrive.',
        )
      : null,
    announcer,
    data.map(channelSection),
    history.node,
  );
  return { title: status.app, node };
}

function windowPicker(route: AppRoute): HTMLElement {
  return h(
    'div',
    { class: 'controls' },
    h('span', { class: 'control-label', id: 'window-label' }, 'Window'),
    h(
      'nav',
      { class: 'segmented', 'aria-labelledby': 'window-label' },
      WINDOWS.map((w) =>
        h(
          'a',
          { href: href({ ...route, window: w }), 'aria-current': w === route.window ? 'true' : undefined },
          w === '24h' ? '24 h' : w === '7d' ? '7 d' : '30 d',
        ),
      ),
    ),
  );
}

/** ` · electron 120 · sdk 14`: which updaters the active clients run, when more than the SDK. */
function byUpdater(clients: ClientsView): string {
  const kinds = clients.kinds ?? [];
  if (kinds.length === 0 || (kinds.length === 1 && kinds[0]?.kind === 'sdk')) return '';
  return kinds.map((k) => ` · ${k.kind} ${count(k.clients)}`).join('');
}

function channelCard(
  status: StatusView,
  data: ChannelData,
  route: AppRoute,
  acting: ChannelActions | undefined,
): HTMLElement {
  const { channel, health, clients } = data;
  const byVersion = new Map<string, ReleaseHealth>((health?.releases ?? []).map((r) => [r.version, r]));
  const yanked = new Set(channel.yanked.map((y) => y.version));
  const subtitle = [
    channel.name === status.default_channel ? tag('default', 'accent') : null,
    tag(channel.public ? 'public' : 'private'),
    h('span', {}, `revision ${channel.revision}`),
  ];
  const actions = [
    clients
      ? h(
          'p',
          { class: 'stat-inline' },
          h('strong', {}, count(clients.active_24h)),
          ' active clients (24 h)',
          byUpdater(clients),
        )
      : null,
    acting ? promoteReleaseButton(acting) : null,
  ];

  const body =
    channel.rollouts.length === 0
      ? emptyState(
          'No rollouts on this channel yet',
          'Roll a release out with ',
          h('code', {}, `npx updraft promote ${status.app} <version> --channel ${channel.name}`),
          '.',
        )
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: acting ? 'rollouts acting' : 'rollouts' },
            h(
              'caption',
              {},
              srOnly(`Rollouts on ${channel.name}, with health over the last ${WINDOW_LABELS[route.window]}`),
            ),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col', class: 'col-release' }, 'Release'),
                h('th', { scope: 'col', class: 'col-rollout' }, 'Rollout'),
                h('th', { scope: 'col', class: 'col-state' }, 'State'),
                h('th', { scope: 'col', class: 'num col-installs' }, 'Installs'),
                h(
                  'th',
                  { scope: 'col', class: 'num col-rate' },
                  h(
                    'abbr',
                    { title: 'failed installs / install attempts, with the 95 % interval' },
                    'Failure rate',
                  ),
                ),
                h(
                  'th',
                  { scope: 'col', class: 'num col-rate' },
                  h(
                    'abbr',
                    { title: 'clients that rolled back / clients that installed, with the 95 % interval' },
                    'Rollback rate',
                  ),
                ),
                h(
                  'th',
                  { scope: 'col', class: 'num col-rate' },
                  h(
                    'abbr',
                    {
                      title:
                        'clients with no crashed session / clients with any session, with the 95 % interval',
                    },
                    'Crash-free users',
                  ),
                ),
                h(
                  'th',
                  { scope: 'col', class: 'col-adoption' },
                  h(
                    'abbr',
                    { title: 'share of clients active in the last 24 h that run this version' },
                    'Adoption',
                  ),
                ),
                acting ? h('th', { scope: 'col', class: 'col-actions' }, srOnly('Actions')) : null,
              ),
            ),
            h(
              'tbody',
              {},
              channel.rollouts.map((rollout) => {
                const r = byVersion.get(rollout.version);
                const link = href({
                  page: 'release',
                  app: status.app,
                  version: rollout.version,
                  channel: channel.name,
                  window: route.window,
                  interval: 'hour',
                });
                return h(
                  'tr',
                  { 'data-version': rollout.version },
                  h(
                    'th',
                    { scope: 'row', 'data-label': 'Release' },
                    h('a', { class: 'version-link', href: link }, rollout.version),
                    yanked.has(rollout.version) ? tag('yanked', 'danger') : null,
                    armedTag(rollout),
                  ),
                  h(
                    'td',
                    { 'data-label': 'Rollout', class: 'col-rollout' },
                    shareBar(
                      rollout.percent_bp / 10_000,
                      formatBp(rollout.percent_bp),
                      rollout.state === 'halted' ? 'muted' : 'accent',
                    ),
                  ),
                  h('td', { 'data-label': 'State' }, stateBadge(rollout.state), haltReason(rollout)),
                  h(
                    'td',
                    { 'data-label': 'Installs', class: 'num', 'data-metric': 'installs' },
                    r ? count(r.installs) : NO_DATA,
                  ),
                  h(
                    'td',
                    { 'data-label': 'Failure rate', class: 'num', 'data-metric': 'failure-rate' },
                    rateCell(r?.failure_rate),
                  ),
                  h(
                    'td',
                    { 'data-label': 'Rollback rate', class: 'num', 'data-metric': 'rollback-rate' },
                    rateCell(r?.rollback_rate),
                  ),
                  h(
                    'td',
                    { 'data-label': 'Crash-free users', class: 'num', 'data-metric': 'crash-free-users' },
                    crashFreeCell(r?.crash_free_users, r?.sessions?.clients),
                  ),
                  h(
                    'td',
                    { 'data-label': 'Adoption', class: 'col-adoption', 'data-metric': 'adoption' },
                    r ? shareBar(r.adoption, formatFraction(r.adoption), 'muted') : NO_DATA,
                  ),
                  acting
                    ? h(
                        'td',
                        { 'data-label': 'Actions', class: 'col-actions' },
                        rolloutMenu(acting, rollout, yanked.has(rollout.version)),
                      )
                    : null,
                );
              }),
            ),
          ),
        );

  return card(
    { title: channel.name, id: `channel-${channel.name}`, subtitle, actions, class: 'channel' },
    body,
    channel.yanked.length > 0
      ? h(
          'ul',
          { class: 'yanks' },
          channel.yanked.map((y) =>
            h(
              'li',
              {},
              tag('yanked', 'danger'),
              ' ',
              h('span', { class: 'mono' }, y.version),
              ` → ${y.rollback_to ?? 'no rollback'}: ${y.reason}`,
            ),
          ),
        )
      : null,
  );
}

/** "auto-rollback armed" on a rollout whose plan will publish its standby yank on a clear breach. */
function armedTag(rollout: RolloutView): HTMLElement | null {
  const standby = rollout.standby_yank;
  if (!standby || rollout.state === 'complete' || rollout.state === 'halted') return null;
  const to =
    standby.rollback_to === null ? 'yanks it (no baseline)' : `rolls clients back to ${standby.rollback_to}`;
  const armed = tag('auto-rollback armed', 'accent');
  armed.title = `On a clear gate breach the scheduler halts this rollout and ${to}: a standby yank signed at promote.`;
  return armed;
}

/** Why the scheduler halted a rollout (its last judgement), under the state: the answer at a glance. */
function haltReason(rollout: RolloutView): HTMLElement | null {
  const judgement = rollout.judgement;
  if (rollout.state !== 'halted' || !judgement || judgement.action !== 'halt') return null;
  return h('p', { class: 'halt-reason muted', 'data-reason': '' }, judgement.reason);
}
