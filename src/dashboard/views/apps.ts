/** `#/`: the apps this token can see; with exactly one, the overview opens directly. */
import { get } from '../api.ts';
import { emptyState } from '../components.ts';
import { h } from '../dom.ts';
import { date } from '../format.ts';
import { href } from '../router.ts';
import type { AppView } from '../types.ts';
import type { View } from './view.ts';

export async function appsView(): Promise<View> {
  const { apps } = await get<{ apps: AppView[] }>('/v1/admin/apps');
  const only = apps.length === 1 ? apps[0] : undefined;
  if (only) {
    window.location.replace(href({ page: 'app', app: only.name, window: '7d' }));
  }
  const body =
    apps.length === 0
      ? emptyState('No apps yet', 'Create one with ', h('code', {}, 'npx updraft app create <name>'), '.')
      : h(
          'ul',
          { class: 'app-list' },
          apps.map((app) =>
            h(
              'li',
              {},
              h(
                'a',
                { class: 'app-link', href: href({ page: 'app', app: app.name, window: '7d' }) },
                h('span', { class: 'app-name' }, app.name),
                h(
                  'span',
                  { class: 'muted' },
                  `${app.channels.length} channel${app.channels.length === 1 ? '' : 's'} · default ${app.default_channel} · since ${date(app.created_at)}`,
                ),
              ),
            ),
          ),
        );
  return {
    title: 'Apps',
    node: h(
      'div',
      { class: 'page' },
      h(
        'header',
        { class: 'page-header' },
        h(
          'div',
          {},
          h('h1', { tabindex: '-1' }, 'Apps'),
          h('p', { class: 'muted' }, 'Choose an app to see its rollouts and their health.'),
        ),
      ),
      body,
    ),
  };
}
