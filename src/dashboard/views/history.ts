/**
 * The app's audit history (GET /v1/admin/audit?app=, docs/api.md): who changed what and when, newest
 * first, on the overview under the channels. Rollout changes read as their effect ("active 25% →
 * halted 25%") with the reason given; "Show older" pages with `before`. Refreshed after an action.
 */
import { formatBp } from '../../protocol/format.ts';
import { get, type Query } from '../api.ts';
import { card, emptyState, loading, notice } from '../components.ts';
import { h } from '../dom.ts';
import { ago, time } from '../format.ts';
import type { AuditEntry } from '../types.ts';

const PAGE = 20;

interface AuditPage {
  entries: AuditEntry[];
  next_before?: string | number | null;
}

function field(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  return Object.entries(value).find(([key]) => key === name)?.[1];
}

function rolloutState(value: unknown): string | undefined {
  const state = field(value, 'state');
  const bp = field(value, 'percent_bp');
  if (typeof state !== 'string' || typeof bp !== 'number') return undefined;
  return `${state} ${formatBp(bp)}${field(value, 'plan') ? ' (plan)' : ''}`;
}

/**
 * What an audit row changed, in a few words: a rollout's state and share before and after, a plan
 * dropped, the reason given; "" when the row says nothing of that kind.
 */
export function auditChange(entry: Pick<AuditEntry, 'before' | 'after'>): string {
  const before = rolloutState(entry.before);
  const after = rolloutState(entry.after);
  const parts: string[] = [];
  if (after) parts.push(before ? (before === after ? after : `${before} → ${after}`) : `new: ${after}`);
  if (field(entry.after, 'plan_dropped') === true) parts.push('plan dropped');
  const reason = field(entry.after, 'reason');
  if (typeof reason === 'string' && reason !== '') parts.push(`“${reason}”`);
  return parts.join(' · ');
}

/** "token:0123abcd:ci" → "ci (token 0123abcd)"; others as they are. */
export function actorName(actor: string): string {
  const match = /^token:([^:]+):(.*)$/.exec(actor);
  return match ? `${match[2]} (token ${match[1]})` : actor;
}

export interface HistoryPanel {
  node: HTMLElement;
  /** Reads the newest page again (after an action). */
  refresh(): Promise<void>;
}

export function historyPanel(app: string): HistoryPanel {
  const body = h('tbody', {});
  const more = h('button', { type: 'button', class: 'button button-small', hidden: true }, 'Show older');
  const status = h('div', { 'aria-live': 'polite' }, loading('Loading the history…'));
  const table = h(
    'div',
    { class: 'table-wrap', hidden: true },
    h(
      'table',
      { class: 'history' },
      h('caption', { class: 'sr-only' }, `Audit history of ${app}, newest first`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'When'),
          h('th', { scope: 'col' }, 'Who'),
          h('th', { scope: 'col' }, 'What'),
          h('th', { scope: 'col' }, 'Target'),
          h('th', { scope: 'col' }, 'Change'),
        ),
      ),
      body,
    ),
  );
  let before: string | number | undefined;

  async function load(reset: boolean): Promise<void> {
    const query: Query = { app, limit: PAGE, before: reset ? undefined : before };
    try {
      const page = await get<AuditPage>('/v1/admin/audit', query);
      if (reset) body.replaceChildren();
      body.append(...page.entries.map(row));
      before = page.next_before ?? undefined;
      more.hidden = before === undefined;
      table.hidden = body.childElementCount === 0;
      status.replaceChildren(body.childElementCount === 0 ? emptyState('No changes recorded yet') : '');
    } catch (error) {
      status.replaceChildren(
        notice(
          'error',
          `The history could not be read: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    }
  }
  more.addEventListener('click', () => void load(false));
  void load(true);

  const node = card(
    { title: 'History', id: 'history', subtitle: `Changes to ${app}, newest first (the audit log)` },
    status,
    table,
    h('p', { class: 'history-more' }, more),
  );
  return { node, refresh: () => load(true) };
}

function row(entry: AuditEntry): HTMLElement {
  return h(
    'tr',
    { 'data-action': entry.action, 'data-target': entry.target ?? '' },
    h(
      'td',
      { 'data-label': 'When' },
      h('time', { datetime: entry.at, title: time(entry.at) }, ago(entry.at)),
    ),
    h('td', { 'data-label': 'Who' }, actorName(entry.actor)),
    h('td', { 'data-label': 'What' }, h('code', {}, entry.action)),
    h('td', { 'data-label': 'Target', class: 'mono' }, entry.target ?? ''),
    h('td', { 'data-label': 'Change' }, auditChange(entry)),
  );
}
