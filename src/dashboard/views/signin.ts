/**
 * The token form. The token is checked against GET /v1/admin/whoami before it is kept (in
 * sessionStorage only), so a wrong one is reported here rather than on the first page.
 */
import { AnswerError, get, storeToken } from '../api.ts';
import { code, icon, notice } from '../components.ts';
import { h } from '../dom.ts';
import type { Whoami } from '../types.ts';

export interface SignInMessage {
  text: string;
  tone: 'info' | 'error';
}

export function signInView(opts: { message?: SignInMessage; onSignedIn(who: Whoami): void }): HTMLElement {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help',
  });
  const status = h('div', { class: 'signin-status', 'aria-live': 'polite' });
  if (opts.message) status.append(notice(opts.message.tone, opts.message.text));
  const button = h('button', { type: 'submit', class: 'button button-primary' }, 'Sign in');

  const form = h(
    'form',
    { class: 'signin-form', novalidate: true },
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'hint' },
      'An analyst token from ',
      code('npx updraft token create --role analyst'),
      ', or in local development the ',
      code('UPDRAFT_ADMIN_TOKEN'),
      ' in ',
      code('.dev.vars'),
      '. It is kept in this tab only and sent to this server alone.',
    ),
    status,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    status.replaceChildren();
    if (token === '') {
      status.append(notice('error', 'Paste a token first.'));
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Checking…';
    try {
      const who = await get<Whoami>('/v1/admin/whoami', {}, token);
      storeToken(token);
      opts.onSignedIn(who);
    } catch (error) {
      const message =
        error instanceof AnswerError && error.status === 401
          ? 'That token was not accepted: it is unknown, revoked or expired.'
          : error instanceof Error
            ? error.message
            : String(error);
      status.append(notice('error', message));
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });

  return h(
    'main',
    { class: 'signin', id: 'main' },
    h(
      'div',
      { class: 'signin-card' },
      h('div', { class: 'brand brand-large' }, icon('logo', 'brand-mark'), h('span', {}, 'Updraft')),
      h('h1', {}, 'Sign in to the dashboard'),
      h('p', { class: 'muted' }, 'Rollouts, adoption and install health of your releases.'),
      form,
    ),
  );
}
