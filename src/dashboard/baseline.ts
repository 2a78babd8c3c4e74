/**
 * The release page's "vs baseline" panel (docs/protocol.md §6): the release and its baseline side by side, and
 * for each rate the difference canary − baseline drawn as its 95 % interval (Newcombe) on a scale
 * centred on 0, the estimate as a dot. An interval wholly right of 0 says the canary is clearly
 * worse; one that straddles 0 says the data cannot tell yet.
 */

import type { ComparisonDifferences, ReleaseComparison, ReleaseHealth } from '../protocol/admin-api.ts';
import { formatFraction, NO_DATA } from '../protocol/format.ts';
import {
  differenceVerdict,
  formatDifferenceInterval,
  formatPoints,
  points,
  VERDICT_TEXT,
} from '../protocol/format-difference.ts';
import type { RateDifference } from '../protocol/wilson.ts';
import { card, crashFreeCell, emptyState, rateCell } from './components.ts';
import { h, srOnly } from './dom.ts';
import { count } from './format.ts';
import { niceMax } from './intervals.ts';

// Higher is worse for all four: the crash rows are the crash rates (1 − crash-free), as in the API.
const RATES = [
  { key: 'failure_rate', label: 'Failure rate' },
  { key: 'rollback_rate', label: 'Rollback rate' },
  { key: 'crashed_sessions', label: 'Crashed sessions' },
  { key: 'crashed_users', label: 'Crashed users' },
] as const;

export interface DifferenceRow {
  key: (typeof RATES)[number]['key'];
  label: string;
  difference: RateDifference;
}

/** The rows the plot draws, in order: every rate with a difference (a server before the crash comparison gives two). */
export function differenceRows(differences: ComparisonDifferences): DifferenceRow[] {
  return RATES.flatMap(({ key, label }) => {
    const difference = differences[key];
    return difference ? [{ key, label, difference }] : [];
  });
}

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
      row('Sessions', (r) => (r.sessions ? count(r.sessions.total) : NO_DATA)),
      row('Crash-free sessions', (r) => crashFreeCell(r.crash_free_sessions, r.sessions?.total)),
      row('Crash-free users', (r) => crashFreeCell(r.crash_free_users, r.sessions?.clients)),
    ),
  );
}

function differencePlot(differences: ComparisonDifferences): HTMLElement {
  const rows = differenceRows(differences);
  const max = differenceMax(rows.map((r) => r.difference));
  return h(
    'div',
    {
      class: 'iv iv-diff',
      role: 'table',
      'aria-label': 'Canary − baseline of each rate with its 95 % interval',
    },
    rows.map(({ key, label, difference: d }) => {
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
