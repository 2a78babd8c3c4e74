/**
 * A modal confirmation on the native <dialog>: showModal() keeps focus inside and makes the page
 * behind inert, Escape cancels, and focus goes back to the button that opened it (or, when that
 * button was re-rendered away, to `returnFocus()`). The confirm button runs `confirm`; an error it
 * throws is shown in the dialog (role="alert") and the dialog stays open.
 */
import { notice } from './components.ts';
import { type Child, h } from './dom.ts';

export interface DialogOptions {
  title: string;
  /** The form's fields and texts. */
  body: Child[];
  confirmLabel: string;
  tone?: 'danger' | 'primary';
  /** Sends the request; resolves when done (the dialog then closes), throws to show `describe(error)`. */
  confirm(): Promise<void>;
  describe(error: unknown): { text: string; reload?: boolean };
  /** Re-renders the page: offered instead of confirming again after a stale revision. */
  reload(): void;
  /** Where focus goes after closing when the opener is gone. */
  returnFocus?(): HTMLElement | null | undefined;
}

let counter = 0;

export function openDialog(opts: DialogOptions): HTMLDialogElement {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const id = `dialog-${++counter}`;
  const status = h('div', { class: 'dialog-status', 'aria-live': 'polite' });
  const confirmButton = h(
    'button',
    { type: 'submit', class: `button ${opts.tone === 'danger' ? 'button-danger' : 'button-primary'}` },
    opts.confirmLabel,
  );
  const cancelButton = h('button', { type: 'button', class: 'button button-quiet' }, 'Cancel');
  const form = h(
    'form',
    { class: 'dialog-form', novalidate: true },
    h('h2', { id: `${id}-title` }, opts.title),
    h('div', { class: 'dialog-body' }, ...opts.body),
    status,
    h('div', { class: 'dialog-buttons' }, cancelButton, confirmButton),
  );
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': `${id}-title` }, form);
  let busy = false;
  let stale = false;
  // An edited form is a new attempt: the last refusal goes, except "reload", which still holds.
  form.addEventListener('input', () => {
    if (!stale) status.replaceChildren();
  });

  const close = () => dialog.close();
  cancelButton.addEventListener('click', close);
  dialog.addEventListener('cancel', (event) => {
    if (busy) event.preventDefault();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    const target = opener?.isConnected ? opener : opts.returnFocus?.();
    target?.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    confirmButton.disabled = true;
    cancelButton.disabled = true;
    dialog.setAttribute('aria-busy', 'true');
    status.replaceChildren();
    const label = confirmButton.textContent;
    confirmButton.textContent = 'Working…';
    try {
      await opts.confirm();
      busy = false;
      close();
    } catch (error) {
      busy = false;
      const { text, reload } = opts.describe(error);
      status.append(notice('error', text));
      dialog.removeAttribute('aria-busy');
      cancelButton.disabled = false;
      confirmButton.textContent = label;
      if (reload) {
        stale = true;
        // The page is stale: confirming again would fail the same way. Offer the reload instead.
        const reloadButton = h('button', { type: 'button', class: 'button button-primary' }, 'Reload');
        reloadButton.addEventListener('click', () => {
          close();
          opts.reload();
        });
        confirmButton.replaceWith(reloadButton);
        reloadButton.focus();
      } else {
        confirmButton.disabled = false;
        confirmButton.focus();
      }
    }
  });

  document.body.append(dialog);
  dialog.showModal();
  // The first field (of radios, the chosen one) when there is one, else the safe choice: Cancel.
  const first = form.querySelector<HTMLElement>(
    '.dialog-body input:not([type="radio"]), .dialog-body input:checked, .dialog-body select',
  );
  (first ?? cancelButton).focus();
  return dialog;
}
