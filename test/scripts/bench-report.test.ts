import { describe, expect, it } from 'vitest';
import { type BenchResults, countLabel, renderTable } from '../../bench/report.ts';

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
      check_warm: figures(750),
      check_cold: figures(200),
      artifact_1mib: figures(50),
      telemetry: figures(100),
    },
    check_by_releases: { '1': { rps: 800 }, '10': { rps: 790 }, '100': { rps: 760 }, '1000': { rps: 700 } },
    telemetry_events_per_s: 25_000,
    bundle_gzip_bytes: 120 * 1024,
    health_query_ms_1m: 80,
    ...overrides,
  };
}

const rowOf = (table: string, label: string) =>
  table.split('\n').find((line) => line.startsWith(`| ${label}`));

describe('the BENCHMARKS.md table', () => {
  it('judges every figure against the same run: ratios to hello-world and the targets', () => {
    const table = renderTable(results());
    expect(rowOf(table, 'hello-world Worker')).toContain('1.00 × hello');
    expect(rowOf(table, 'check, isolate cache warm')).toMatch(
      /0\.75 × hello \| ≥ 0\.70 × hello \| \*\*pass\*\*/,
    );
    expect(rowOf(table, 'check by releases')).toMatch(/1000 ÷ 1 = 0\.88 .*\*\*pass\*\*/);
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
});
