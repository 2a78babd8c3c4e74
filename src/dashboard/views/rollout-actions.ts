/**
 * The overview's actions for a publisher or admin token: per rollout a menu (promote to a
 * percentage, attach or change a staged plan, pause, resume, halt, complete, yank), per channel
 * "Promote a release". Each opens a confirmation naming app, channel, version and effect, and sends
 * the channel's revision as the page knows it (`expected_revision`): a stale page gets the 409
 * explained and a reload offered, never a lost update. The channel is re-rendered from the server's
 * answer. A yank needs the release key, so it is handed to the CLI as a command to copy.
 */
import {
  actionBody,
  actionLabel,
  availableActions,
  type StateAction,
  stateActionText,
  suggestedRollback,
  type Target,
  yankCommand,
} from '../actions.ts';
import { get, post, seg } from '../api.ts';
import { openDialog } from '../dialog.ts';
import { h, srOnly } from '../dom.ts';
import type { ChannelView, ReleaseView, RolloutView } from '../types.ts';
import { type ChannelActions, describeFailure, rolloutsPath } from './action-context.ts';
import { promoteDialog } from './promote-dialog.ts';

export type { ChannelActions } from './action-context.ts';

const PAST: Record<StateAction, string> = {
  pause: 'Paused',
  resume: 'Resumed',
  halt: 'Halted',
  complete: 'Completed',
};

/** The actions menu of one rollout row. */
export function rolloutMenu(ctx: ChannelActions, rollout: RolloutView, yanked: boolean): HTMLElement {
  const allowed = availableActions(rollout, yanked);
  const target: Target = { app: ctx.app, channel: ctx.channel.name, version: rollout.version };
  const summary = h(
    'summary',
    { class: 'button button-small' },
    'Actions',
    srOnly(` for ${rollout.version}`),
  );
  const menu = h('details', { class: 'menu' }, summary);
  const item = (label: string, open: () => void, tone?: 'danger') =>
    h(
      'button',
      {
        type: 'button',
        class: `menu-item${tone ? ` menu-item-${tone}` : ''}`,
        'data-action': label.replace(/…$/, '').toLowerCase(),
        onclick: () => {
          menu.open = false;
          summary.focus();
          open();
        },
      },
      label,
    );
  const items: HTMLElement[] = [];
  if (allowed.promote) {
    items.push(item('Promote…', () => promoteDialog(ctx, 'percent', rollout)));
    items.push(
      item(rollout.plan ? 'Change plan…' : 'Attach plan…', () => promoteDialog(ctx, 'plan', rollout)),
    );
  }
  for (const action of allowed.state) {
    items.push(
      item(
        `${actionLabel(action)}…`,
        () => stateDialog(ctx, action, target, rollout),
        action === 'halt' ? 'danger' : undefined,
      ),
    );
  }
  if (allowed.yank) items.push(item('Yank…', () => void yankDialog(ctx, rollout.version), 'danger'));
  menu.append(h('div', { class: 'menu-items' }, items));
  // Escape closes the menu and leaves focus on its button.
  menu.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && menu.open) {
      menu.open = false;
      summary.focus();
    }
  });
  return menu;
}

/** The channel's "Promote a release…" button. */
export function promoteReleaseButton(ctx: ChannelActions): HTMLElement {
  return h(
    'button',
    { type: 'button', class: 'button button-small', onclick: () => promoteDialog(ctx, 'percent', undefined) },
    'Promote a release…',
  );
}

function reasonField(id: string): { input: HTMLInputElement; node: HTMLElement } {
  const input = h('input', { id, type: 'text', maxlength: 1000, autocomplete: 'off' });
  return {
    input,
    node: h(
      'div',
      { class: 'field' },
      h('label', { for: id }, 'Reason (optional, kept in the audit log)'),
      input,
    ),
  };
}

function stateDialog(ctx: ChannelActions, action: StateAction, target: Target, rollout: RolloutView): void {
  const reason = reasonField('action-reason');
  const revision = ctx.channel.revision;
  openDialog({
    title: `${actionLabel(action)} ${target.version}?`,
    body: [h('p', { class: 'dialog-effect' }, stateActionText(action, target, rollout)), reason.node],
    confirmLabel: `${actionLabel(action)} ${target.version}`,
    tone: action === 'halt' ? 'danger' : 'primary',
    async confirm() {
      const view = await post<ChannelView>(
        `${rolloutsPath(ctx)}/${seg(target.version)}/${action}`,
        actionBody(revision, reason.input.value),
      );
      ctx.changed(view, `${PAST[action]} ${target.version} on ${view.name} of ${ctx.app}.`);
    },
    describe: describeFailure,
    reload: ctx.reload,
    returnFocus: () => ctx.focusAfter(target.version),
  });
}

/** The yank hand-off: the release key never reaches a browser, so the dialog writes the CLI command. */
async function yankDialog(ctx: ChannelActions, version: string): Promise<void> {
  const { releases } = await get<{ releases: ReleaseView[] }>(`/v1/admin/apps/${seg(ctx.app)}/releases`);
  const index = releases.findIndex((r) => r.version === version);
  const lower = releases.slice(index + 1).filter((r) => !r.yanked);
  const suggested = suggestedRollback(releases, version);
  const to = h(
    'select',
    { id: 'yank-to' },
    lower.map((r) => h('option', { value: r.version, selected: r.version === suggested }, r.version)),
    h('option', { value: '', selected: suggested === null }, 'none (clients on it stay)'),
  );
  const reason = h('input', { id: 'yank-reason', type: 'text', maxlength: 1000, autocomplete: 'off' });
  const command = h('code', { id: 'yank-command' });
  const update = () => {
    command.textContent = yankCommand(ctx.app, version, to.value === '' ? null : to.value, reason.value);
  };
  to.addEventListener('change', update);
  reason.addEventListener('input', update);
  update();
  openDialog({
    title: `Yank ${version} of ${ctx.app}`,
    body: [
      h(
        'p',
        { class: 'dialog-effect' },
        `A yank withdraws ${version} from every channel of ${ctx.app} and sends clients on it back to the release you choose. It is signed with the release key, which stays on your machine and never reaches a browser: run this command where your keys folder is.`,
      ),
      h('div', { class: 'field' }, h('label', { for: 'yank-to' }, 'Roll back to'), to),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'yank-reason' }, 'Reason (clients and the audit log see it)'),
        reason,
      ),
      h('pre', { class: 'command', 'aria-label': 'Command to run' }, command),
    ],
    confirmLabel: 'Copy command',
    async confirm() {
      if (reason.value.trim() === '') throw new Error('Write a reason first: the CLI requires one.');
      try {
        await navigator.clipboard.writeText(command.textContent ?? '');
      } catch {
        throw new Error('The browser did not allow copying: select the command and copy it by hand.');
      }
    },
    describe: (error) => ({ text: error instanceof Error ? error.message : String(error) }),
    reload: ctx.reload,
    returnFocus: () => ctx.focusAfter(version),
  });
}
