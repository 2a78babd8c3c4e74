import { describe, expect, it } from 'vitest';
import {
  type BenchResults,
  countLabel,
  renderBenchmarksMd,
  renderPeerTable,
  renderTable,
} from '../../bench/report.ts';

const machine = {
  cpu: 'test cpu',
  cores: 2,
  memory_gib: 24,
  node: 'v22.0.0',
  workerd: '1.0.0',
  load_1m_at_start: 0.1,
};
const figures = (rps: number) => ({ rps, p50_ms: 1, p99_ms: 2 });

function results(overrides: Partial<BenchResults> = {}): BenchResults {
  return {
    date: '2026-11-21T00:00:00.000Z',
    machine,
    scenarios: {
      hello: figures(1000),
      check_warm: figures(850),
      check_cold: figures(200),
      artifact_1mib: figures(50),
      telemetry: figures(100),
    },
    check_by_releases: { '1': { rps: 800 }, '10': { rps: 790 }, '100': { rps: 780 }, '1000': { rps: 760 } },
    telemetry_events_per_s: 25_000,
    bundle_gzip_bytes: 120 * 1024,
    health_query_ms_1m: 80,
    ...overrides,
  };
}

/** A run with `--peer hot-updater` whose levels measured these figures. */
const withPeer = (levels: NonNullable<BenchResults['peer']>['levels']) =>
  results({
    peer: {
      name: 'hot-updater',
      package: '@hot-updater/cloudflare',
      version: '0.35.8',
      load_1m_at_start: 0.2,
      levels,
    },
  });

const rowOf = (table: string, label: string) =>
  table.split('\n').find((line) => line.startsWith(`| ${label}`));

describe('the BENCHMARKS.md table', () => {
  it('judges every figure against the same run: ratios to hello-world and the targets', () => {
    const table = renderTable(results());
    expect(rowOf(table, 'hello-world Worker')).toContain('1.00 × hello');
    expect(rowOf(table, 'check, isolate cache warm')).toMatch(
      /0\.85 × hello \| ≥ 0\.80 × hello \| \*\*pass\*\*/,
    );
    expect(rowOf(table, 'check by releases')).toMatch(/1000 ÷ 1 = 0\.95 .*\*\*pass\*\*/);
    expect(rowOf(table, 'telemetry end to end')).toContain('**pass**');
    expect(rowOf(table, 'release health over 1m events')).toContain('**pass**');
    expect(rowOf(table, 'Worker bundle')).toContain('**pass**');
  });

  it('marks each missed target as a miss', () => {
    const table = renderTable(
      results({
        scenarios: { hello: figures(1000), check_warm: figures(690) },
        check_by_releases: { '1': { rps: 1000 }, '1000': { rps: 790 } },
        telemetry_events_per_s: 19_999,
        bundle_gzip_bytes: 150 * 1024,
        health_query_ms_1m: 100,
      }),
    );
    for (const label of [
      'check, isolate cache warm',
      'check by releases',
      'telemetry end to end',
      'release health',
      'Worker bundle',
    ]) {
      expect(rowOf(table, label), label).toContain('**miss**');
    }
    expect(rowOf(table, 'check, isolate cache off')).toContain('not measured');
  });

  it('does not judge what a quick run measures on a smaller scale', () => {
    const quick: BenchResults = {
      ...results(),
      check_by_releases: { '1': { rps: 800 }, '100': { rps: 100 } },
    };
    delete quick.health_query_ms_1m;
    quick.health_query_ms_100k = 500;
    const table = renderTable(quick);
    expect(rowOf(table, 'check by releases')).toContain('not judged (quick run)');
    expect(rowOf(table, 'release health over 100k events')).toContain('not judged (quick run)');
  });

  it('labels event counts as the results keys do', () => {
    expect(countLabel(1_000_000)).toBe('1m');
    expect(countLabel(100_000)).toBe('100k');
    expect(countLabel(1234)).toBe('1234');
  });

  it("sets Updraft's check beside the peer's, judging the ratios at 5 and 1,000 bundles", () => {
    const level = (updraft: number, peer: number) => ({
      updraft: figures(updraft),
      peer: figures(peer),
      ratio: Math.round((updraft / peer) * 100) / 100,
    });
    const table = renderPeerTable(
      withPeer({ '1000': level(700, 40), '1': level(800, 100), '5': level(790, 80), '100': level(760, 60) }),
    );
    const lines = table.split('\n');
    expect(lines[0]).toBe(
      '| bundles in the channel | Updraft check | hot-updater check | Updraft ÷ hot-updater | target |  |',
    );
    // Levels in numeric order, each with both checks' figures of the same round.
    expect(lines.slice(2).map((line) => line.split(' | ')[0])).toEqual(['| 1', '| 5', '| 100', '| 1,000']);
    expect(rowOf(table, '1 ')).toBe(
      '| 1 | 800 req/s · p50 1 ms · p99 2 ms | 100 req/s · p50 1 ms · p99 2 ms | 8.00 × |  |  |',
    );
    expect(rowOf(table, '5 ')).toMatch(/\| 9\.88 × \| ≥ 10 × \| \*\*miss\*\* \|$/);
    expect(rowOf(table, '100 ')).toMatch(/\| 12\.67 × \| {2}\| {2}\|$/);
    expect(rowOf(table, '1,000 ')).toMatch(/\| 17\.50 × \| ≥ 20 × \| \*\*miss\*\* \|$/);

    const met = renderPeerTable(withPeer({ '5': level(1000, 100), '1000': level(900, 45) }));
    expect(rowOf(met, '5 ')).toContain('| ≥ 10 × | **pass** |');
    expect(rowOf(met, '1,000 ')).toContain('| ≥ 20 × | **pass** |');
  });

  it('says a quick peer run does not judge the level it did not measure, and renders nothing without a peer', () => {
    const levels = { '1': { updraft: figures(800), peer: figures(100), ratio: 8 } };
    const table = renderPeerTable(withPeer(levels));
    expect(rowOf(table, '5 ')).toBe('| 5 | not measured |  |  | ≥ 10 × | not judged (quick run) |');
    expect(rowOf(table, '1,000 ')).toBe('| 1,000 | not measured |  |  | ≥ 20 × | not judged (quick run) |');
    expect(renderPeerTable(results())).toBe('');
    expect(renderTable(results())).not.toContain('hot-updater');
  });

  it('rewrites the peer block of BENCHMARKS.md only in runs with a peer, keeping the text around it', () => {
    const doc = [
      'written above',
      '<!-- bench:results:start -->',
      'old run',
      '<!-- bench:results:end -->',
      'written between',
      '<!-- bench:peer:start -->',
      'old peer run',
      '<!-- bench:peer:end -->',
      'written below',
    ].join('\n');
    const plain = renderBenchmarksMd(doc, results());
    expect(plain).not.toContain('old run');
    expect(plain).toContain('old peer run');
    const levels = { '5': { updraft: figures(800), peer: figures(100), ratio: 8 } };
    const peered = renderBenchmarksMd(doc, withPeer(levels));
    expect(peered).not.toContain('old peer run');
    expect(peered).toContain('`@hot-updater/cloudflare@0.35.8` from the npm registry; load average 0.2');
    expect(peered).toContain('| 5 | 800 req/s');
    for (const kept of ['written above', 'written between', 'written below']) expect(peered).toContain(kept);
  });
});
