/** Plain-text tables for human output: left-aligned columns, two spaces apart, no borders. */

export type Cell = string | number | boolean | null | undefined;

/** Renders `rows` under `headers`; missing cells print as `-`. Returns the lines joined with newlines. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => headers.map((_, i) => cellText(row[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...text.map(line)].join('\n');
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  return String(cell);
}

/** An RFC 3339 timestamp shortened for a table cell: "2026-11-21 18:00:00Z". */
export function formatTime(at: string | null | undefined): string {
  if (!at) return '-';
  return at.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Bytes in a human unit: "512 B", "4.0 KiB", "27.3 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
