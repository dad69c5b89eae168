// Text formatting for the terminal: aligned tables, durations, percentages, mean ± std.

/** Left-aligned columns separated by two spaces, with a dashed rule under the header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((x, c) => (x ?? '').padEnd(widths[c])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** 1h02m, 3m05s, 12.3s, 450ms. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A fraction as a percentage with two decimals: 0.7774 → '77.74'. */
export function pct(x: number | undefined | null): string {
  return x === undefined || x === null || !Number.isFinite(x) ? '-' : (100 * x).toFixed(2);
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0 };
  const v = values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1);
  return { mean, std: Math.sqrt(v) };
}

/** 'mean ± std' in percent, or just the mean for one repeat. */
export function pctMeanStd(mean: number, std: number, n: number): string {
  return n > 1 ? `${pct(mean)} ± ${pct(std)}` : pct(mean);
}
