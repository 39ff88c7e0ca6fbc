/** Rows as an aligned text table: the first `leftColumns` columns left-aligned, the rest right-aligned. */
export function formatTextTable(header: string[], body: string[][], leftColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
