/**
 * Small interval plots: one row per release, a bar to the observed rate and a whisker across its
 * 95 % Wilson interval, on a shared scale, so a canary's rate can be read against the releases
 * before it (and a wide whisker says "too few installs to tell"). Also used for install durations
 * (a bar to p50, a lighter extension to p95).
 */

import { formatDuration, formatFraction, formatInterval, isUnknownRate } from '../protocol/format.ts';
import { type Child, h } from './dom.ts';
import { count } from './format.ts';
import type { Rate, ReleaseHealth } from './types.ts';

export interface RateRow {
  version: string;
  current: boolean;
  rate: Rate;
  /** "3 of 60 installs" */
  detail: string;
}

/** A "nice" upper end for a scale of fractions: 5 %, 10 %, 20 %, 25 %, 50 %, 100 %. */
export function niceMax(highest: number): number {
  for (const step of [0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1]) if (highest <= step) return step;
  return 1;
}

function place(element: HTMLElement, from: number, to: number, max: number): HTMLElement {
  element.style.left = `${(Math.min(from, max) / max) * 100}%`;
  element.style.width = `${(Math.max(0, Math.min(to, max) - Math.min(from, max)) / max) * 100}%`;
  return element;
}

function scaleTicks(labels: readonly string[]): HTMLElement {
  return h(
    'div',
    { class: 'iv-row iv-scale', 'aria-hidden': 'true' },
    h('span', {}),
    h(
      'span',
      { class: 'iv-ticks' },
      labels.map((label) => h('span', {}, label)),
    ),
    h('span', {}),
  );
}

export function rateIntervals(label: string, rows: readonly RateRow[]): HTMLElement {
  const known = rows.filter((r) => !isUnknownRate(r.rate));
  if (known.length === 0) {
    return h('p', { class: 'muted iv-empty' }, `${label}: no installs yet, so nothing is known.`);
  }
  const max = niceMax(Math.max(...known.map((r) => r.rate.high)));
  return h(
    'div',
    { class: 'iv', role: 'table', 'aria-label': `${label} with 95 % intervals` },
    rows.map((row) => {
      const unknown = isUnknownRate(row.rate);
      const track = h('span', { class: 'iv-track', 'aria-hidden': 'true' });
      if (!unknown) {
        track.append(
          place(h('span', { class: 'iv-bar' }), 0, row.rate.value, max),
          place(h('span', { class: 'iv-whisker' }), row.rate.low, row.rate.high, max),
        );
        const dot = h('span', { class: 'iv-dot' });
        dot.style.left = `${(Math.min(row.rate.value, max) / max) * 100}%`;
        track.append(dot);
      }
      return h(
        'div',
        { class: row.current ? 'iv-row iv-current' : 'iv-row', role: 'row' },
        h('span', { class: 'iv-label mono', role: 'rowheader' }, row.version),
        h('span', { class: 'iv-plot', role: 'cell' }, track),
        h(
          'span',
          { class: 'iv-text', role: 'cell' },
          unknown
            ? h('span', { class: 'muted' }, 'no installs yet')
            : [
                h('strong', {}, formatFraction(row.rate.value)),
                ' ',
                h('span', { class: 'muted' }, formatInterval(row.rate)),
                h('span', { class: 'iv-detail muted' }, row.detail),
              ],
        ),
      );
    }),
    scaleTicks(['0%', formatFraction(max / 2), formatFraction(max)]),
  );
}

/** Install durations per release: a bar to p50 and a lighter one on to p95. */
export function durationRanges(releases: readonly ReleaseHealth[], current: string): HTMLElement {
  const known = releases.filter((r) => r.duration_ms.p95 !== null || r.duration_ms.p50 !== null);
  if (known.length === 0) return h('p', { class: 'muted iv-empty' }, 'No successful installs yet.');
  const highest = Math.max(...known.map((r) => r.duration_ms.p95 ?? r.duration_ms.p50 ?? 0));
  const max = niceDuration(highest);
  return h(
    'div',
    { class: 'iv', role: 'table', 'aria-label': 'Install duration per release, p50 and p95' },
    releases.map((r) => {
      const { p50, p95 } = r.duration_ms;
      const track = h('span', { class: 'iv-track', 'aria-hidden': 'true' });
      if (p95 !== null) track.append(place(h('span', { class: 'iv-bar iv-bar-light' }), 0, p95, max));
      if (p50 !== null) track.append(place(h('span', { class: 'iv-bar' }), 0, p50, max));
      const text: Child =
        p50 === null && p95 === null
          ? h('span', { class: 'muted' }, 'no installs yet')
          : [
              h('strong', {}, formatDuration(p50)),
              ' ',
              h('span', { class: 'muted' }, `p95 ${formatDuration(p95)}`),
            ];
      return h(
        'div',
        { class: r.version === current ? 'iv-row iv-current' : 'iv-row', role: 'row' },
        h('span', { class: 'iv-label mono', role: 'rowheader' }, r.version),
        h('span', { class: 'iv-plot', role: 'cell' }, track),
        h('span', { class: 'iv-text', role: 'cell' }, text),
      );
    }),
    scaleTicks(['0', formatDuration(max / 2), formatDuration(max)]),
  );
}

function niceDuration(ms: number): number {
  for (const step of [1000, 2000, 5000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000]) {
    if (ms <= step) return step;
  }
  return Math.ceil(ms / 600_000) * 600_000;
}

export function failureRows(releases: readonly ReleaseHealth[], current: string): RateRow[] {
  return releases.map((r) => ({
    version: r.version,
    current: r.version === current,
    rate: r.failure_rate,
    detail: `${count(r.failures)} of ${count(r.installs + r.failures)} installs failed`,
  }));
}

export function rollbackRows(releases: readonly ReleaseHealth[], current: string): RateRow[] {
  return releases.map((r) => ({
    version: r.version,
    current: r.version === current,
    rate: r.rollback_rate,
    detail: `${count(r.rollbacks)} rollback${r.rollbacks === 1 ? '' : 's'}`,
  }));
}
