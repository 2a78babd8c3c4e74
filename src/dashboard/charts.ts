/**
 * uPlot time-series charts for the release page: adoption (share of active clients per version) and
 * active clients per bucket, with cursors kept in sync. Colours come from the CSS custom properties,
 * so the charts follow the light and dark themes. Each chart draws its own legend as HTML: the
 * value of every series at the cursor, or at the latest point when the cursor is away.
 */
import rcompare from 'semver/functions/rcompare.js';
import uPlot from 'uplot';
import { formatFraction, NO_DATA } from '../protocol/format.ts';
import { h } from './dom.ts';
import { count } from './format.ts';
import type { AdoptionView } from './types.ts';

export interface Chart {
  element: HTMLElement;
  /** Creates the plot once the element is in the document (it needs its width). */
  mount(): void;
  destroy(): void;
}

const SYNC_KEY = 'release';
const FONT =
  '12px -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value === '' ? fallback : value;
}

/** A colour per version: the page's own version in the accent colour, the others from a calm palette. */
function versionColors(versions: readonly string[], current: string): Map<string, string> {
  const palette = [1, 2, 3, 4, 5, 6].map((i) => cssVar(`--series-${i}`, '#6b7a8f'));
  const colors = new Map<string, string>();
  let next = 0;
  for (const version of versions) {
    if (version === current) colors.set(version, cssVar('--accent', '#2f6fdb'));
    else colors.set(version, palette[next++ % palette.length] ?? '#6b7a8f');
  }
  return colors;
}

function axes(yValues: (u: uPlot, values: number[]) => string[]): uPlot.Axis[] {
  const muted = cssVar('--text-muted', '#5b6474');
  const grid = cssVar('--grid', '#e8ebf0');
  return [
    {
      stroke: muted,
      font: FONT,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
      values: (_u, splits) => splits.map(timeTick),
    },
    {
      stroke: muted,
      font: FONT,
      size: 52,
      grid: { stroke: grid, width: 1 },
      ticks: { show: false },
      values: yValues,
    },
  ];
}

/** A chart in `container` that follows its width. */
function plot(container: HTMLElement, height: number, build: (width: number) => uPlot): Chart['destroy'] {
  const width = () => Math.max(240, Math.floor(container.clientWidth));
  const u = build(width());
  const observer = new ResizeObserver(() => {
    if (Math.abs(u.width - width()) > 1) u.setSize({ width: width(), height });
  });
  observer.observe(container);
  return () => {
    observer.disconnect();
    u.destroy();
  };
}

interface LegendEntry {
  label: string;
  color: string;
  emphasis?: boolean;
  /** Version labels are set in the monospace face. */
  mono?: boolean;
  value: (idx: number) => string;
}

/** The HTML legend: one item per series with its value at `idx`; returns an updater. */
function legend(
  entries: readonly LegendEntry[],
  heading: HTMLElement,
): {
  element: HTMLElement;
  show(idx: number): void;
} {
  const values = entries.map(() => h('span', { class: 'legend-value' }));
  const element = h(
    'ul',
    { class: 'legend', 'aria-live': 'off' },
    entries.map((entry, i) => {
      const swatch = h('span', { class: 'legend-swatch', 'aria-hidden': 'true' });
      swatch.style.background = entry.color;
      return h(
        'li',
        { class: entry.emphasis ? 'legend-item legend-current' : 'legend-item' },
        swatch,
        h('span', { class: entry.mono ? 'legend-label mono' : 'legend-label' }, entry.label),
        values[i],
      );
    }),
  );
  return {
    element,
    show(idx) {
      entries.forEach((entry, i) => {
        const value = values[i];
        if (value) value.textContent = entry.value(idx);
      });
      heading.dataset.idx = String(idx);
    },
  };
}

/** Share of active clients on each version, per hour or day; the page's version is emphasised. */
export function adoptionChart(view: AdoptionView, current: string): Chart {
  const points = view.points;
  const versions = [...new Set(points.flatMap((p) => Object.keys(p.versions)))].sort(rcompare);
  if (!versions.includes(current)) versions.unshift(current);
  const colors = versionColors(versions, current);
  const xs = points.map((p) => Date.parse(p.at) / 1000);
  // A version's line starts where it first appears, rather than as a run of zeros before its release.
  const series = versions.map((v) => {
    const first = points.findIndex((p) => (p.versions[v] ?? 0) > 0);
    return points.map((p, i) => (p.clients > 0 && first !== -1 && i >= first ? (p.versions[v] ?? 0) : null));
  });
  const data: uPlot.AlignedData = [xs, ...series];
  const last = latestActive(view);

  const when = h('span', { class: 'legend-when' });
  const stamp = (idx: number) => {
    const at = points[idx]?.at;
    when.textContent = at
      ? `${bucketLabel(at, view.interval)} · ${count(points[idx]?.clients ?? 0)} active clients`
      : '';
  };
  const entries: LegendEntry[] = versions.map((v, i) => ({
    label: v,
    color: colors.get(v) ?? '',
    emphasis: v === current,
    mono: true,
    value: (idx) => {
      const value = series[i]?.[idx];
      return value === null || value === undefined ? NO_DATA : formatFraction(value);
    },
  }));
  const key = legend(entries, when);
  const plotArea = h('div', {
    class: 'chart-plot',
    role: 'img',
    'aria-label': adoptionSummary(view, current),
  });
  const element = h(
    'div',
    { class: 'chart', 'data-chart': 'adoption' },
    h('div', { class: 'chart-legend' }, when, key.element),
    plotArea,
  );
  let destroy = () => {};
  return {
    element,
    mount() {
      const fillAlpha = cssVar('--accent-fill', 'rgba(47,111,219,0.12)');
      destroy = plot(plotArea, 260, (width) => {
        const u = new uPlot(
          {
            width,
            height: 260,
            legend: { show: false },
            cursor: { sync: { key: SYNC_KEY }, drag: { x: false, y: false }, points: { size: 7 } },
            scales: { x: { time: true }, y: { range: [0, 1] } },
            axes: axes((_u, values) => values.map((v) => formatFraction(v))),
            series: [
              {},
              ...versions.map(
                (v): uPlot.Series => ({
                  label: v,
                  stroke: colors.get(v),
                  width: v === current ? 2.5 : 1.5,
                  fill: v === current ? fillAlpha : undefined,
                  points: { show: points.length < 3 },
                  spanGaps: false,
                }),
              ),
            ],
            hooks: {
              setCursor: [
                (self) => {
                  const idx = self.cursor.idx ?? last;
                  key.show(idx);
                  stamp(idx);
                },
              ],
            },
          },
          data,
          plotArea,
        );
        return u;
      });
      key.show(last);
      stamp(last);
    },
    destroy: () => destroy(),
  };
}

/** Active clients per bucket, as bars, synced with the adoption chart's cursor. */
export function clientsChart(view: AdoptionView): Chart {
  const points = view.points;
  const xs = points.map((p) => Date.parse(p.at) / 1000);
  const clients = points.map((p) => p.clients);
  const last = latestActive(view);
  const color = cssVar('--series-clients', '#7b8ba3');
  const when = h('span', { class: 'legend-when' });
  const key = legend(
    [
      {
        label: view.interval === 'hour' ? 'active clients per hour' : 'active clients per day',
        color,
        value: (idx) => count(clients[idx] ?? 0),
      },
    ],
    when,
  );
  const stamp = (idx: number) => {
    const at = points[idx]?.at;
    when.textContent = at ? bucketLabel(at, view.interval) : '';
  };
  const peak = Math.max(0, ...clients);
  const plotArea = h('div', {
    class: 'chart-plot',
    role: 'img',
    'aria-label': `Active clients per ${view.interval}: at most ${count(peak)}, ${count(clients[last] ?? 0)} in the latest one.`,
  });
  const element = h(
    'div',
    { class: 'chart', 'data-chart': 'clients' },
    h('div', { class: 'chart-legend' }, when, key.element),
    plotArea,
  );
  let destroy = () => {};
  return {
    element,
    mount() {
      const bars = uPlot.paths.bars?.({ size: [0.65, 64], gap: 1 });
      destroy = plot(
        plotArea,
        140,
        (width) =>
          new uPlot(
            {
              width,
              height: 140,
              legend: { show: false },
              cursor: { sync: { key: SYNC_KEY }, drag: { x: false, y: false }, points: { show: false } },
              scales: {
                x: { time: true },
                y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] },
              },
              axes: axes((_u, values) => values.map((v) => (Number.isInteger(v) ? count(v) : ''))),
              series: [
                {},
                {
                  label: 'clients',
                  stroke: color,
                  fill: color,
                  width: 0,
                  paths: bars,
                  points: { show: false },
                },
              ],
              hooks: {
                setCursor: [
                  (self) => {
                    const idx = self.cursor.idx ?? last;
                    key.show(idx);
                    stamp(idx);
                  },
                ],
              },
            },
            [xs, clients],
            plotArea,
          ),
      );
      key.show(last);
      stamp(last);
    },
    destroy: () => destroy(),
  };
}

/**
 * The index the legends show when the cursor is away: the newest bucket with active clients that
 * the window does not cut short (the current hour or day is still filling up), else the newest
 * with any.
 */
function latestActive(view: AdoptionView): number {
  const size = view.interval === 'hour' ? 3_600_000 : 86_400_000;
  const end = Date.parse(view.window.to);
  let fallback = view.points.length - 1;
  for (let i = view.points.length - 1; i >= 0; i--) {
    const point = view.points[i];
    if (!point || point.clients === 0) continue;
    if (Date.parse(point.at) + size <= end) return i;
    if (fallback === view.points.length - 1) fallback = i;
  }
  return fallback;
}

const tickDate = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric' });
const tickTime = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** Time axis ticks: the date at midnight ("Nov 19"), the time of day elsewhere ("12:00"). */
function timeTick(seconds: number): string {
  const date = new Date(seconds * 1000);
  return date.getHours() === 0 && date.getMinutes() === 0 ? tickDate.format(date) : tickTime.format(date);
}

function bucketLabel(at: string, interval: 'hour' | 'day'): string {
  const date = new Date(at);
  const options: Intl.DateTimeFormatOptions =
    interval === 'hour'
      ? {
          weekday: 'short',
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        }
      : { weekday: 'short', month: 'short', day: 'numeric' };
  return new Intl.DateTimeFormat('en', options).format(date);
}

function adoptionSummary(view: AdoptionView, current: string): string {
  const latest = view.points[latestActive(view)];
  if (!latest) return 'Adoption over time: no data.';
  const share = latest.versions[current] ?? 0;
  return `Adoption over time, per ${view.interval}. In the latest ${view.interval}, ${formatFraction(share)} of ${count(latest.clients)} active clients ran ${current}.`;
}
