/**
 * The Updraft dashboard: a static page served by the Worker's assets at /dashboard/, reading the
 * admin API of the same origin with the user's token (analysts read; publishers and admins also act). No framework: each route renders a fresh
 * view (views/*.ts) into the shell; a newer navigation discards an older one still loading.
 */
import { AnswerError, forgetToken, get, storedToken } from './api.ts';
import { icon, loading, notice } from './components.ts';
import { h } from './dom.ts';
import { parseRoute, type Route } from './router.ts';
import type { AppView, Whoami } from './types.ts';
import { appsView } from './views/apps.ts';
import { overviewView } from './views/overview.ts';
import { releaseView } from './views/release.ts';
import { type SignInMessage, signInView } from './views/signin.ts';
import type { View } from './views/view.ts';

const root = document.getElementById('app') ?? document.body;
let generation = 0;
let current: View | undefined;
let who: Whoami | undefined;
let apps: AppView[] | undefined;

function teardown(): void {
  current?.destroy?.();
  current = undefined;
}

function signOut(message?: SignInMessage): void {
  forgetToken();
  who = undefined;
  apps = undefined;
  showSignIn(message);
}

function showSignIn(message?: SignInMessage): void {
  generation++;
  teardown();
  document.title = 'Sign in · Updraft';
  root.replaceChildren(
    signInView({
      message,
      onSignedIn(identity) {
        who = identity;
        void render(true);
      },
    }),
  );
  root.querySelector<HTMLInputElement>('#token')?.focus();
}

function header(route: Route): HTMLElement {
  const appName = route.page === 'app' || route.page === 'release' ? route.app : undefined;
  const select = h(
    'select',
    { id: 'app-select', 'aria-label': 'App' },
    h('option', { value: '', disabled: true, selected: appName === undefined }, 'Choose an app'),
    (apps ?? []).map((a) => h('option', { value: a.name, selected: a.name === appName }, a.name)),
  );
  select.addEventListener('change', () => {
    if (select.value) window.location.hash = `#/apps/${encodeURIComponent(select.value)}`;
  });
  return h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'topbar-inner' },
      h('a', { class: 'brand', href: '#/' }, icon('logo', 'brand-mark'), h('span', {}, 'Updraft')),
      (apps?.length ?? 0) > 0
        ? h(
            'div',
            { class: 'app-picker' },
            h('label', { for: 'app-select', class: 'sr-only' }, 'App'),
            select,
          )
        : null,
      h('span', { class: 'spacer' }),
      who
        ? h(
            'span',
            { class: 'who', title: who.actor },
            h('span', { class: 'who-role' }, who.role),
            scope(who),
            h('span', { class: 'who-actor' }, who.actor),
          )
        : null,
      h(
        'button',
        {
          type: 'button',
          class: 'button button-quiet',
          onclick: () => signOut({ text: 'Signed out. The token was removed from this tab.', tone: 'info' }),
        },
        icon('out'),
        h('span', { class: 'button-text' }, 'Sign out'),
      ),
    ),
  );
}

/** The token's app scope next to its role (docs/protocol.md §4): "demo", or "all apps"; nothing from an older server. */
function scope(identity: Whoami): HTMLElement | null {
  if (identity.apps === undefined) return null;
  const text = identity.apps === null || identity.apps.length === 0 ? 'all apps' : identity.apps.join(', ');
  return h(
    'span',
    {
      class: 'who-scope',
      title: identity.apps ? 'This token is limited to these apps' : 'This token may act on every app',
    },
    text,
  );
}

async function viewFor(route: Route): Promise<View> {
  switch (route.page) {
    case 'apps':
      return appsView();
    case 'app':
      return overviewView(route, { who, reload: () => void render(true) });
    case 'release':
      return releaseView(route);
    case 'not-found':
      return {
        title: 'Not found',
        node: h(
          'div',
          { class: 'page' },
          h('h1', { tabindex: '-1' }, 'Nothing here'),
          h('p', {}, 'This address shows no page. ', h('a', { href: '#/' }, 'Back to the apps'), '.'),
        ),
      };
  }
}

async function render(focus: boolean): Promise<void> {
  const mine = ++generation;
  if (!storedToken()) return showSignIn();
  const route = parseRoute(window.location.hash);
  // The app list is fetched again on its own page, so the picker learns of new apps.
  if (route.page === 'apps') apps = undefined;
  const main = h('main', { id: 'main', class: 'content', tabindex: '-1' }, loading());
  try {
    who ??= await get<Whoami>('/v1/admin/whoami');
    apps ??= (await get<{ apps: AppView[] }>('/v1/admin/apps')).apps;
  } catch (error) {
    return failed(error, mine, main, route);
  }
  if (mine !== generation) return;
  teardown();
  root.replaceChildren(
    h('a', { class: 'skip', href: '#main', onclick: skipToMain }, 'Skip to content'),
    header(route),
    main,
  );
  try {
    const view = await viewFor(route);
    if (mine !== generation) return view.destroy?.();
    current = view;
    document.title = `${view.title} · Updraft`;
    main.replaceChildren(view.node);
    main.setAttribute('aria-busy', 'false');
    view.mount?.();
    if (focus) main.querySelector<HTMLElement>('h1')?.focus({ preventScroll: false });
  } catch (error) {
    failed(error, mine, main, route);
  }
}

function failed(error: unknown, mine: number, main: HTMLElement, route: Route): void {
  if (mine !== generation) return;
  if (error instanceof AnswerError && error.status === 401) {
    signOut({
      text: 'Your token was not accepted (unknown, revoked or expired). Sign in again.',
      tone: 'error',
    });
    return;
  }
  if (!main.isConnected) root.replaceChildren(header(route), main);
  const message = error instanceof Error ? error.message : String(error);
  const notFound = error instanceof AnswerError && error.status === 404;
  main.replaceChildren(
    h(
      'div',
      { class: 'page' },
      h('h1', { tabindex: '-1' }, notFound ? 'Not found' : 'Something went wrong'),
      notice('error', message),
      h('p', {}, h('a', { href: '#/' }, 'Back to the apps')),
    ),
  );
}

function skipToMain(event: Event): void {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

window.addEventListener('hashchange', () => void render(true));
void render(false);
