/** Small building blocks shared by the views: cards, badges, bars, tiles, empty states. */

import {
  formatCrashFree,
  formatCrashFreeInterval,
  formatFraction,
  formatInterval,
  isUnknownRate,
  NO_DATA,
} from '../protocol/format.ts';
import { type Child, h, svg } from './dom.ts';
import type { Rate, RolloutView } from './types.ts';

export function card(
  opts: { title: string; id?: string; subtitle?: Child; actions?: Child; class?: string },
  ...body: Child[]
): HTMLElement {
  const headingId = opts.id ? `${opts.id}-title` : undefined;
  return h(
    'section',
    { class: `card ${opts.class ?? ''}`.trim(), id: opts.id, 'aria-labelledby': headingId },
    h(
      'header',
      { class: 'card-header' },
      h(
        'div',
        {},
        h('h2', { id: headingId }, opts.title),
        opts.subtitle ? h('p', { class: 'muted' }, opts.subtitle) : null,
      ),
      opts.actions ? h('div', { class: 'card-actions' }, opts.actions) : null,
    ),
    ...body,
  );
}

const STATE_HELP: Record<RolloutView['state'], string> = {
  active: 'offered to its share of the channel',
  paused: 'percentage frozen',
  halted: 'offered to nobody new',
  complete: 'offered to the whole channel',
};

export function stateBadge(state: RolloutView['state']): HTMLElement {
  return h('span', { class: `badge badge-${state}`, title: STATE_HELP[state] }, state);
}

export function tag(text: string, tone: 'neutral' | 'accent' | 'danger' = 'neutral'): HTMLElement {
  return h('span', { class: `tag tag-${tone}` }, text);
}

/** A horizontal bar for a share in [0, 1], with its label beside it. */
export function shareBar(fraction: number, label: string, tone: 'accent' | 'muted' = 'accent'): HTMLElement {
  const fill = h('span', { class: `bar-fill bar-${tone}` });
  fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return h(
    'span',
    { class: 'bar' },
    h('span', { class: 'bar-track', 'aria-hidden': 'true' }, fill),
    h('span', { class: 'bar-label' }, label),
  );
}

/** A rate for a table cell: the value, and the 95 % interval in small print. */
export function rateCell(rate: Rate | undefined): HTMLElement {
  if (!rate || isUnknownRate(rate)) {
    return h('span', { class: 'muted', title: 'no installs yet' }, NO_DATA);
  }
  return h(
    'span',
    { class: 'rate' },
    h('span', { class: 'rate-value' }, formatFraction(rate.value)),
    h('span', { class: 'rate-interval', title: '95 % Wilson interval' }, formatInterval(rate)),
  );
}

/**
 * A crash-free rate (docs/protocol.md §5) with its interval, in crash-free's two decimals ("99.20%"); "–" when
 * there are no sessions to count (`total` 0) or the server does not report them.
 */
export function crashFreeCell(rate: Rate | undefined, total: number | undefined): HTMLElement {
  if (!rate || !total) return h('span', { class: 'muted', title: 'no sessions yet' }, NO_DATA);
  return h(
    'span',
    { class: 'rate' },
    h('span', { class: 'rate-value' }, formatCrashFree(rate.value)),
    h('span', { class: 'rate-interval', title: '95 % Wilson interval' }, formatCrashFreeInterval(rate)),
  );
}

export function tile(label: string, value: Child, detail?: Child, tone?: 'danger' | 'warn'): HTMLElement {
  return h(
    'div',
    { class: `tile ${tone ? `tile-${tone}` : ''}`.trim() },
    h('dt', {}, label),
    h(
      'dd',
      {},
      h('span', { class: 'tile-value' }, value),
      detail ? h('span', { class: 'tile-detail' }, detail) : null,
    ),
  );
}

export function emptyState(title: string, ...text: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'empty' },
    icon('chart'),
    h('p', { class: 'empty-title' }, title),
    text.length > 0 ? h('p', { class: 'muted' }, ...text) : null,
  );
}

export function notice(tone: 'info' | 'error', ...text: Child[]): HTMLElement {
  return h('div', { class: `notice notice-${tone}`, role: tone === 'error' ? 'alert' : 'status' }, ...text);
}

export function loading(text = 'Loading…'): HTMLElement {
  return h(
    'div',
    { class: 'loading', role: 'status' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    text,
  );
}

/** Links that switch one query parameter, styled as a segmented control. */
export function segmented<T extends string>(
  label: string,
  options: readonly T[],
  current: T,
  hrefFor: (option: T) => string,
  text: (option: T) => string = (o) => o,
): HTMLElement {
  return h(
    'nav',
    { class: 'segmented', 'aria-label': label },
    options.map((option) =>
      h(
        'a',
        { href: hrefFor(option), 'aria-current': option === current ? 'true' : undefined },
        text(option),
      ),
    ),
  );
}

export function code(text: string): HTMLElement {
  return h('code', {}, text);
}

const ICONS: Record<string, string[]> = {
  logo: ['M12 3l7 7h-4v5h-6v-5H5z', 'M8 18h8', 'M10 21h4'],
  chart: ['M4 19V5', 'M4 19h16', 'M8 15l3-4 3 2 4-6'],
  out: ['M15 4h4v16h-4', 'M10 8l-4 4 4 4', 'M6 12h10'],
  back: ['M15 6l-6 6 6 6'],
};

export function icon(name: keyof typeof ICONS & string, className = 'icon'): SVGElement {
  return svg(
    'svg',
    {
      viewBox: '0 0 24 24',
      class: className,
      'aria-hidden': 'true',
      fill: 'none',
      stroke: 'currentColor',
      'stroke-width': '1.8',
      'stroke-linecap': 'round',
      'stroke-linejoin': 'round',
    },
    ...(ICONS[name] ?? []).map((d) => svg('path', { d })),
  );
}
