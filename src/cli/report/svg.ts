// Inline SVG charts for the HTML report: line charts (metric per round, robustness curves) and stacked bar
// charts (per-client label counts, phase timings). Plain strings, no dependencies; every mark carries a
// <title> so hovering shows its value.

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

function tickLabel(v: number): string {
  return Math.abs(v) >= 1000 ? v.toFixed(0) : String(+v.toPrecision(4));
}

export interface Series {
  readonly name: string;
  /** [x, y] pairs, in x order. */
  readonly points: readonly (readonly [number, number])[];
  readonly color: string;
  readonly dashed?: boolean;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
  /** Fixed y range; default: the data's range padded. */
  readonly yRange?: readonly [number, number];
  /** Draw a marker on every point (few points, e.g. robustness curves). */
  readonly markers?: boolean;
}

const M = { left: 56, right: 16, top: 28, bottom: 44 };

function frame(w: number, h: number, title: string, xLabel: string, yLabel: string, kind: string, body: string): string {
  return `<svg class="chart" data-chart="${kind}" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">` +
    `<text class="title" x="${w / 2}" y="16" text-anchor="middle">${esc(title)}</text>` +
    `<text class="axis-label" x="${M.left + (w - M.left - M.right) / 2}" y="${h - 6}" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text class="axis-label" transform="translate(12 ${M.top + (h - M.top - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>` +
    body + '</svg>';
}

export function lineChart(o: LineChartOptions): string {
  const w = o.width ?? 560;
  const h = o.height ?? 300;
  const all = o.series.flatMap((s) => s.points);
  if (all.length === 0) return `<p class="empty">${esc(o.title)}: no data</p>`;
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  let [y0, y1] = o.yRange ?? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (!o.yRange) {
    const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.1 || 1;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const pw = w - M.left - M.right;
  const ph = h - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => M.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line class="grid" x1="${M.left}" x2="${M.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"/>` +
      `<text class="tick" x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1, 6)) {
    parts.push(`<text class="tick" x="${sx(t).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  parts.push(`<rect class="plot" x="${M.left}" y="${M.top}" width="${pw}" height="${ph}"/>`);
  o.series.forEach((s) => {
    const pts = s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="series" data-series="${esc(s.name)}" data-points="${s.points.length}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts}"><title>${esc(s.name)}</title></polyline>`);
    if (o.markers || s.points.length === 1) {
      for (const p of s.points) {
        parts.push(`<circle class="marker" cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3.2" fill="${s.color}"><title>${esc(s.name)}: ${tickLabel(p[0])} → ${p[1].toFixed(2)}</title></circle>`);
      }
    }
  });
  const legend = o.series.map((s, i) => {
    const y = M.top + 6 + 14 * i;
    return `<g class="legend"><line x1="${M.left + 8}" x2="${M.left + 26}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>` +
      `<text x="${M.left + 30}" y="${y + 4}">${esc(s.name)}</text></g>`;
  });
  return frame(w, h, o.title, o.xLabel, o.yLabel, 'line', parts.join('') + legend.join(''));
}

export interface Stack {
  readonly name: string;
  readonly color: string;
  /** One value per category. */
  readonly values: readonly number[];
}

export interface BarChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly stacks: readonly Stack[];
  readonly width?: number;
  readonly height?: number;
  /** Bars drawn left to right (vertical) or top to bottom (horizontal, category labels on the left). */
  readonly horizontal?: boolean;
  /** Per category, a short mark drawn under its bar (e.g. missing modalities). */
  readonly notes?: readonly string[];
}

export function barChart(o: BarChartOptions): string {
  const n = o.categories.length;
  if (n === 0) return `<p class="empty">${esc(o.title)}: no data</p>`;
  const totals = o.categories.map((_, i) => o.stacks.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const max = Math.max(...totals, 1e-12);
  const ticks = niceTicks(0, max);
  const yTop = Math.max(max, ticks[ticks.length - 1]);
  const parts: string[] = [];
  if (o.horizontal) {
    const left = 150;
    const w = o.width ?? 640;
    const band = 22;
    const ly = M.top + band * n + 30;
    const h = o.height ?? ly + 14 * Math.ceil(o.stacks.length / 4) + 4;
    const pw = w - left - M.right;
    const sx = (v: number) => left + (v / yTop) * pw;
    for (const t of ticks) {
      parts.push(`<line class="grid" x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${M.top}" y2="${M.top + band * n}"/>` +
        `<text class="tick" x="${sx(t).toFixed(1)}" y="${M.top + band * n + 14}" text-anchor="middle">${tickLabel(t)}</text>`);
    }
    o.categories.forEach((c, i) => {
      let acc = 0;
      const y = M.top + band * i + 3;
      parts.push(`<text class="tick" x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(c.length > 24 ? `${c.slice(0, 23)}…` : c)}</text>`);
      for (const s of o.stacks) {
        const v = s.values[i] ?? 0;
        if (v > 0) parts.push(`<rect class="bar" x="${sx(acc).toFixed(1)}" y="${y}" width="${(sx(acc + v) - sx(acc)).toFixed(1)}" height="${band - 6}" fill="${s.color}"><title>${esc(c)} · ${esc(s.name)}: ${tickLabel(v)}</title></rect>`);
        acc += v;
      }
    });
    o.stacks.forEach((s, i) => {
      const x = left + (i % 4) * 120;
      const y = ly + 14 * Math.floor(i / 4);
      parts.push(`<g class="legend"><rect x="${x}" y="${y - 8}" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="${y + 1}">${esc(s.name)}</text></g>`);
    });
    return frame(w, h, o.title, o.xLabel, o.yLabel, 'bars', parts.join(''));
  }
  const w = o.width ?? Math.max(560, Math.min(1200, M.left + M.right + 9 * n));
  const perRow = Math.max(1, Math.floor((w - M.left - M.right) / 150));
  const legendRows = Math.ceil(o.stacks.length / perRow);
  const top = M.top + 14 * legendRows;
  const h = o.height ?? 280 + 14 * legendRows;
  const pw = w - M.left - M.right;
  const ph = h - top - M.bottom;
  const band = pw / n;
  const sy = (v: number) => top + ph - (v / yTop) * ph;
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${M.left}" x2="${M.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"/>` +
      `<text class="tick" x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  o.categories.forEach((c, i) => {
    let acc = 0;
    const x = M.left + band * i + band * 0.1;
    const bw = Math.max(1, band * 0.8);
    for (const s of o.stacks) {
      const v = s.values[i] ?? 0;
      if (v > 0) parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${sy(acc + v).toFixed(1)}" width="${bw.toFixed(1)}" height="${(sy(acc) - sy(acc + v)).toFixed(1)}" fill="${s.color}"><title>${esc(c)} · ${esc(s.name)}: ${tickLabel(v)}</title></rect>`);
      acc += v;
    }
    const note = o.notes?.[i];
    if (note) parts.push(`<text class="note" x="${(x + bw / 2).toFixed(1)}" y="${top + ph + 10}" text-anchor="middle"><title>${esc(c)}: ${esc(note)}</title>×</text>`);
  });
  o.stacks.forEach((s, i) => {
    const x = M.left + (i % perRow) * 150;
    const y = M.top + 4 + 14 * Math.floor(i / perRow);
    parts.push(`<g class="legend"><rect x="${x}" y="${y - 8}" width="9" height="9" fill="${s.color}"/><text x="${x + 12}" y="${y}">${esc(s.name.length > 20 ? `${s.name.slice(0, 19)}…` : s.name)}<title>${esc(s.name)}</title></text></g>`);
  });
  return frame(w, h, o.title, o.xLabel, o.yLabel, 'bars', parts.join(''));
}
