/**
 * The release page's "vs baseline" panel (DESIGN §6): the release and its baseline side by side, and
 * for each rate the difference canary − baseline drawn as its 95 % interval (Newcombe) on a scale
 * centred on 0, the estimate as a dot. An interval wholly right of 0 says the canary is clearly
 * worse; one that straddles 0 says the data cannot tell yet.
 */

import type { ReleaseComparison, ReleaseHealth } from '../protocol/admin-api.ts';
import { formatFraction } from '../protocol/format.ts';
import {
  differenceVerdict,
  formatDifferenceInterval,
  formatPoints,
  points,
  VERDICT_TEXT,
} from '../protocol/format-difference.ts';
import type { RateDifference } from '../protocol/wilson.ts';
import { card, emptyState, rateCell } from './components.ts';
import { h, srOnly } from './dom.ts';
import { count } from './format.ts';
import { niceMax } from './intervals.ts';

const RATES = [
  { key: 'failure_rate', label: 'Failure rate' },
  { key: 'rollback_rate', label: 'Rollback rate' },
] as const;

/** Half the width of the symmetric scale [−max, +max]: a "nice" bound over every interval's ends. */
export function differenceMax(differences: readonly RateDifference[]): number {
  const widest = Math.max(0, ...differences.flatMap((d) => [Math.abs(d.low), Math.abs(d.high)]));
  return niceMax(widest);
}

/** Where a difference sits on [−max, +max], as a percentage from the left (0 in the middle, clamped). */
export function offset(difference: number, max: number): number {
  return Math.max(0, Math.min(100, 50 + (difference / max) * 50));
}

export function baselinePanel(view: ReleaseComparison, windowLabel: string): HTMLElement {
  const { canary, baseline, baseline_version: baselineVersion, differences } = view;
  const title = 'vs baseline';
  if (!baseline || !differences) {
    return card(
      { title, id: 'baseline' },
      emptyState(
        'No baseline',
        `No complete, not yanked release of ${view.channel} is below ${canary.version}, so there is nothing to compare it with.`,
      ),
    );
  }
  return card(
    {
      title,
      id: 'baseline',
      subtitle: `${canary.version} against ${baselineVersion}, the release its clients came from, over the last ${windowLabel} · bar: 95 % interval of canary − baseline (Newcombe), dot: estimate`,
    },
    h('div', { class: 'grid-2 compare' }, sideBySide(canary, baseline), differencePlot(differences)),
  );
}

function sideBySide(canary: ReleaseHealth, baseline: ReleaseHealth): HTMLElement {
  const row = (label: string, cell: (r: ReleaseHealth) => Node | string) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, label),
      h('td', { class: 'num' }, cell(canary)),
      h('td', { class: 'num' }, cell(baseline)),
    );
  return h(
    'table',
    { class: 'compare-table' },
    h('caption', {}, srOnly('The release and its baseline over the same window')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Metric'),
        h('th', { scope: 'col', class: 'num mono' }, canary.version),
        h('th', { scope: 'col', class: 'num mono' }, `${baseline.version} (baseline)`),
      ),
    ),
    h(
      'tbody',
      {},
      row('Installs', (r) => count(r.installs)),
      row('Failure rate', (r) => rateCell(r.failure_rate)),
      row('Rollback rate', (r) => rateCell(r.rollback_rate)),
      row('Adoption', (r) => formatFraction(r.adoption)),
    ),
  );
}

function differencePlot(differences: NonNullable<ReleaseComparison['differences']>): HTMLElement {
  const max = differenceMax(RATES.map((r) => differences[r.key]));
  return h(
    'div',
    {
      class: 'iv iv-diff',
      role: 'table',
      'aria-label': 'Canary − baseline of each rate with its 95 % interval',
    },
    RATES.map(({ key, label }) => {
      const d = differences[key];
      const verdict = differenceVerdict(d);
      const whisker = h('span', { class: 'iv-whisker' });
      whisker.style.left = `${offset(d.low, max)}%`;
      whisker.style.width = `${offset(d.high, max) - offset(d.low, max)}%`;
      const dot = h('span', { class: 'iv-dot' });
      dot.style.left = `${offset(d.value, max)}%`;
      return h(
        'div',
        { class: `iv-row iv-${verdict}`, role: 'row', 'data-rate': key, 'data-verdict': verdict },
        h('span', { class: 'iv-label', role: 'rowheader' }, label),
        h(
          'span',
          { class: 'iv-plot', role: 'cell' },
          h(
            'span',
            { class: 'iv-track', 'aria-hidden': 'true' },
            h('span', { class: 'iv-zero' }),
            whisker,
            dot,
          ),
        ),
        h(
          'span',
          { class: 'iv-text', role: 'cell' },
          h('strong', {}, formatPoints(d.value)),
          ' ',
          h('span', { class: 'muted' }, formatDifferenceInterval(d)),
          h('span', { class: 'iv-detail muted' }, VERDICT_TEXT[verdict]),
        ),
      );
    }),
    h(
      'div',
      { class: 'iv-row iv-scale', 'aria-hidden': 'true' },
      h('span', {}),
      h(
        'span',
        { class: 'iv-ticks' },
        [points(-max), '0', `+${points(max)} points`].map((label) => h('span', {}, label)),
      ),
      h('span', {}),
    ),
  );
}
