// The self-contained HTML report: inline CSS, inline SVG charts and a few lines of inline JavaScript (table
// sorting). Nothing is fetched when it is opened. The numbers shown come from each experiment's
// result.json (test metric at the best dev round, mean ± std over runs) and metrics.jsonl.
import { getDataset } from '../../data/registry.js';
import { pct, pctMeanStd } from '../format.js';
import { conditionOf, type ExperimentResult } from '../results.js';
import type { ExperimentData, PartitionFile, RunData } from './collect.js';
import { barChart, esc, lineChart, PALETTE, type Series, type Stack } from './svg.js';

const PHASES = ['broadcast', 'localTrain', 'encode', 'transfer', 'decode', 'aggregate', 'serverStep', 'evaluate', 'checkpoint'] as const;
const MAX_CLIENT_BARS = 200;

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1240px;padding:0 16px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#666;font-size:12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f4f4;cursor:pointer;user-select:none}td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{background:#fff;border:1px solid #e4e4e4}
.chart .title{font-size:13px;font-weight:600}.chart .tick,.chart .legend text,.chart .axis-label{font-size:11px;fill:#444}
.chart .grid{stroke:#eee}.chart .plot{fill:none;stroke:#bbb}.chart .note{font-size:9px;fill:#c00}
.empty{color:#888}.running{color:#b35900;font-size:12px}.failed{color:#b00020;font-size:12px}code{background:#f4f4f4;padding:1px 4px;border-radius:3px}
`;

const SORT_JS = `
document.querySelectorAll('table.sortable th').forEach(function(th,col){th.addEventListener('click',function(){
var tb=th.closest('table').tBodies[0];var rows=Array.prototype.slice.call(tb.rows);var dir=th.dataset.dir==='asc'?-1:1;th.dataset.dir=dir>0?'asc':'desc';
rows.sort(function(a,b){var x=a.cells[col].dataset.value,y=b.cells[col].dataset.value;var p=x!==undefined&&y!==undefined?(+x)-(+y):a.cells[col].textContent.localeCompare(b.cells[col].textContent);return dir*p;});
rows.forEach(function(r){tb.appendChild(r);});});});
`;

function rate(x: number): string {
  return x > 0 ? String(x) : '-';
}

/** 'running: round 37 of 200' for an experiment without result.json; 'failed: <why>' for one that stopped on an error. */
export function progressOf(e: ExperimentData): string {
  if (e.failure !== null) return `failed: ${e.failure}`;
  const done = Math.max(0, ...e.result.runs.map((x) => x.completedRounds));
  return `running: ${e.result.runs.length} of ${e.config.plan.repeats.values.length} runs started, round ${done} of ${e.config.plan.rounds}`;
}

function summaryTable(exps: readonly ExperimentData[]): string {
  const head = ['experiment', 'dataset', 'method', 'α', 'missing mod.', 'missing lab.', 'label noise', 'metric', 'test % (best dev round)', 'dev %', 'accuracy %', 'best round', 'runs', 'rounds', 'ε (DP)', 'time s'];
  const rows = exps.map((e) => {
    const r = e.result;
    const n = r.runs.length;
    const devs = r.runs.map((x) => x.dev?.[r.metric]).filter((v): v is number => typeof v === 'number');
    const devMean = devs.length ? devs.reduce((a, b) => a + b, 0) / devs.length : NaN;
    const acc = r.mean.accuracy;
    const time = r.runs.reduce((a, x) => a + x.elapsedMs, 0) / 1000;
    const epsilons = r.runs.map((x) => x.epsilon).filter((v): v is number => typeof v === 'number');
    const epsilon = epsilons.length ? Math.max(...epsilons) : NaN;
    const cells = [
      `<td>${esc(e.name)}${e.finished ? '' : ` <span class="${e.failure === null ? 'running' : 'failed'}">${esc(progressOf(e))}</span>`}</td>`,
      `<td>${esc(r.dataset)}</td>`,
      `<td>${esc(r.label)}</td>`,
      `<td class="num">${r.alpha ?? '-'}</td>`,
      `<td class="num" data-value="${r.missingModality}">${rate(r.missingModality)}</td>`,
      `<td class="num" data-value="${r.missingLabel}">${rate(r.missingLabel)}</td>`,
      `<td class="num" data-value="${r.labelNoise}">${rate(r.labelNoise)}</td>`,
      `<td>${esc(r.metric)}</td>`,
      `<td class="num test-metric" data-experiment="${esc(e.name)}" data-value="${r.mean[r.metric]}" data-std="${r.std[r.metric]}">${pctMeanStd(r.mean[r.metric], r.std[r.metric], n)}</td>`,
      `<td class="num" data-value="${devMean}">${pct(devMean)}</td>`,
      `<td class="num" data-value="${acc ?? ''}">${acc === undefined ? '-' : pctMeanStd(acc, r.std.accuracy, n)}</td>`,
      `<td class="num">${r.runs.map((x) => (x.bestRound === null ? '-' : x.bestRound + 1)).join(', ')}</td>`,
      `<td class="num">${n}</td>`,
      `<td class="num">${Math.max(...r.runs.map((x) => x.completedRounds))}</td>`,
      `<td class="num" data-value="${Number.isNaN(epsilon) ? '' : epsilon}">${Number.isNaN(epsilon) ? '-' : epsilon.toFixed(2)}</td>`,
      `<td class="num" data-value="${time}">${time.toFixed(1)}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<table class="sortable" id="summary"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The paper's layout: rows = dataset and partition, columns = method; clean (uncorrupted) runs only. */
function comparisonTable(exps: readonly ExperimentData[]): string {
  const clean = exps.filter((e) => !e.result.missingModality && !e.result.missingLabel && !e.result.labelNoise);
  if (clean.length === 0) return '<p class="empty">No uncorrupted experiments to compare.</p>';
  const methods = [...new Set(clean.map((e) => e.result.label))].sort();
  const rowKey = (r: ExperimentResult) => `${r.dataset}|${r.alpha ?? 'natural'}`;
  const rowKeys = [...new Set(clean.map((e) => rowKey(e.result)))];
  const rows = rowKeys.map((k) => {
    const [dataset, alpha] = k.split('|');
    const spec = getDataset(dataset);
    const cells = methods.map((m) => {
      const hits = clean.filter((e) => rowKey(e.result) === k && e.result.label === m);
      if (hits.length === 0) return '<td class="num">-</td>';
      const r = hits[0].result;
      return `<td class="num compare-metric" data-value="${r.mean[r.metric]}">${pctMeanStd(r.mean[r.metric], r.std[r.metric], r.runs.length)}</td>`;
    });
    return `<tr><td>${esc(spec.name)}</td><td>${esc(spec.metric)}</td><td>${esc(alpha === 'natural' ? 'natural' : `α ${alpha}`)}</td>${cells.join('')}</tr>`;
  });
  return `<table class="sortable" id="comparison"><thead><tr><th>dataset</th><th>metric</th><th>partition</th>${methods.map((m) => `<th>${esc(m)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function curves(e: ExperimentData): string {
  const metric = e.result.metric;
  const series: Series[] = [];
  e.runs.forEach((run, i) => {
    const color = PALETTE[i % PALETTE.length];
    // Test metrics exist where dev improved, plus every --test-every rounds: that curve may be sparser than dev's.
    const devRounds = run.rounds.filter((r) => r.dev);
    const testRounds = run.rounds.filter((r) => r.test);
    const suffix = e.runs.length > 1 ? ` ${run.name}` : '';
    series.push({ name: `dev${suffix}`, color, points: devRounds.map((r) => [r.round + 1, 100 * r.dev![metric]] as const) });
    series.push({ name: `test${suffix}`, color, dashed: true, points: testRounds.map((r) => [r.round + 1, 100 * r.test![metric]] as const) });
  });
  return lineChart({ title: `${e.name}: ${metric} per round`, xLabel: 'round', yLabel: `${metric} %`, series });
}

const MB = 1e6;

/** A run's cumulative bytes (down + up) after each round, in MB. */
function cumulativeMB(run: RunData): number[] {
  let total = 0;
  return run.rounds.map((r) => (total += ((r.bytesDown ?? 0) + (r.bytesUp ?? 0)) / MB));
}

/** Dev metric against cumulative bytes exchanged and against virtual time, one series per run, and the totals per run. */
function communication(exps: readonly ExperimentData[]): string {
  const runs = exps.flatMap((e) => e.runs.map((run) => ({ e, run }))).filter(({ run }) => run.rounds.some((r) => r.bytesUp !== undefined));
  if (runs.length === 0) return '<p class="empty">No byte counts in these runs\' metrics.jsonl.</p>';
  const series: Series[] = runs.map(({ e, run }, i) => {
    const mb = cumulativeMB(run);
    const metric = e.result.metric;
    return {
      name: `${e.name}${e.runs.length > 1 ? ` ${run.name}` : ''}`,
      color: PALETTE[i % PALETTE.length],
      points: run.rounds.flatMap((r, j) => (r.dev ? [[mb[j], 100 * r.dev[metric]] as const] : [])),
    };
  });
  const metrics = [...new Set(exps.map((e) => e.result.metric))].join(' / ');
  const chart = lineChart({ title: `dev ${metrics} vs cumulative bytes exchanged`, xLabel: 'MB (down + up)', yLabel: `${metrics} %`, series });
  const timed = runs.filter(({ run }) => run.rounds.some((r) => r.virtualSeconds !== undefined));
  const timeSeries: Series[] = timed.map(({ e, run }, i) => ({
    name: `${e.name}${e.runs.length > 1 ? ` ${run.name}` : ''}`,
    color: PALETTE[i % PALETTE.length],
    points: run.rounds.flatMap((r) => (r.dev && r.virtualSeconds !== undefined ? [[(r.virtualStart! + r.virtualSeconds) / 3600, 100 * r.dev[e.result.metric]] as const] : [])),
  }));
  const timeChart = timed.length === 0 ? '' : lineChart({ title: `dev ${metrics} vs virtual time (time to accuracy)`, xLabel: 'virtual hours', yLabel: `${metrics} %`, series: timeSeries });
  const body = runs.map(({ e, run }) => {
    const down = run.rounds.reduce((a, r) => a + (r.bytesDown ?? 0), 0) / MB;
    const up = run.rounds.reduce((a, r) => a + (r.bytesUp ?? 0), 0) / MB;
    const updates = run.rounds.reduce((a, r) => a + r.accepted + r.dropped, 0);
    return `<tr><td>${esc(`${e.name} ${run.name}`)}</td><td class="num" data-value="${down}">${down.toFixed(2)}</td><td class="num" data-value="${up}">${up.toFixed(2)}</td>` +
      `<td class="num">${updates ? ((up * MB) / updates / 1e3).toFixed(1) : '-'}</td></tr>`;
  });
  return chart + timeChart + `<table class="sortable" id="communication"><thead><tr><th>run</th><th>MB down</th><th>MB up</th><th>kB per update</th></tr></thead><tbody>${body.join('')}</tbody></table>`;
}

type Corruption = 'missingModality' | 'missingLabel' | 'labelNoise';
const CORRUPTIONS: { key: Corruption; title: string }[] = [
  { key: 'missingModality', title: 'missing modality rate' },
  { key: 'missingLabel', title: 'missing label rate' },
  { key: 'labelNoise', title: 'label noise rate' },
];

/** Metric vs rate for each corruption with at least one corrupted run; the clean run is the rate-0 point. */
function robustness(exps: readonly ExperimentData[]): string {
  const charts: string[] = [];
  const datasets = [...new Set(exps.map((e) => `${e.result.dataset}|${e.result.alpha ?? 'natural'}`))];
  for (const ds of datasets) {
    const inSet = exps.filter((e) => `${e.result.dataset}|${e.result.alpha ?? 'natural'}` === ds);
    for (const c of CORRUPTIONS) {
      const others = CORRUPTIONS.filter((o) => o.key !== c.key);
      const relevant = inSet.filter((e) => others.every((o) => !e.result[o.key]));
      if (!relevant.some((e) => e.result[c.key] > 0)) continue;
      const labels = [...new Set(relevant.filter((e) => e.result[c.key] > 0).map((e) => e.result.label))].sort();
      const series: Series[] = labels.map((label, i) => ({
        name: label,
        color: PALETTE[i % PALETTE.length],
        points: relevant
          .filter((e) => e.result.label === label)
          .map((e) => [e.result[c.key], 100 * e.result.mean[e.result.metric]] as const)
          .sort((a, b) => a[0] - b[0]),
      }));
      const [dataset, alpha] = ds.split('|');
      const metric = relevant[0].result.metric;
      charts.push(`<div class="robustness" data-corruption="${c.key}">${lineChart({
        title: `${dataset}${alpha === 'natural' ? '' : ` α ${alpha}`}: test ${metric} vs ${c.title}`,
        xLabel: c.title, yLabel: `test ${metric} %`, series, markers: true,
      })}</div>`);
    }
  }
  return charts.length ? `<div class="charts">${charts.join('')}</div>` : '<p class="empty">No robustness sweep here (no run with missing modalities, missing labels or label noise).</p>';
}

function partitionSection(p: PartitionFile, title: string): string {
  const clients = p.clients.slice(0, MAX_CLIENT_BARS);
  const stacks: Stack[] = p.classNames.map((name, c) => ({ name, color: PALETTE[c % PALETTE.length], values: clients.map((x) => x.labels[c] ?? 0) }));
  const notes = clients.map((x) => p.modalities.filter((_, m) => x.missing[m]).map((m) => `missing ${m}`).join(', '));
  const sizes = p.clients.map((x) => x.train);
  const summary = `${p.numClients} clients (${p.activeClients} active), train samples per client ${Math.min(...sizes)}–${Math.max(...sizes)} ` +
    `(total ${sizes.reduce((a, b) => a + b, 0)}), dev ${p.dev}, test ${p.test}` +
    (p.clients.length > MAX_CLIENT_BARS ? `; the chart shows the first ${MAX_CLIENT_BARS} clients` : '') +
    (notes.some(Boolean) ? '; × under a bar marks a client missing a modality' : '');
  return `<h3>${esc(title)}</h3><p class="meta">${esc(summary)}</p>` + barChart({
    title: `${title}: training samples per client by label`, xLabel: 'client', yLabel: 'samples',
    categories: clients.map((x) => x.name), stacks, notes,
  });
}

function partitions(exps: readonly ExperimentData[]): string {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const e of exps) {
    for (const run of e.runs) {
      if (!run.partition) continue;
      const key = JSON.stringify(run.partition.clients);
      if (seen.has(key)) continue;
      const title = `${e.name} ${run.name}`;
      seen.set(key, title);
      out.push(partitionSection(run.partition, title));
    }
  }
  return out.length ? out.join('') : '<p class="empty">No partition.json found.</p>';
}

function timings(exps: readonly ExperimentData[]): string {
  const rows: { name: string; mean: Record<string, number>; roundMs: number; updates: number; count: number }[] = [];
  for (const e of exps) {
    for (const run of e.runs) {
      if (run.rounds.length === 0) continue;
      const mean: Record<string, number> = {};
      for (const ph of PHASES) mean[ph] = run.rounds.reduce((a, r) => a + (r.phases[ph] ?? 0), 0) / run.rounds.length;
      const roundMs = run.rounds.reduce((a, r) => a + (r.phases.round ?? 0), 0) / run.rounds.length;
      const updates = run.rounds.reduce((a, r) => a + r.accepted, 0);
      rows.push({ name: `${e.name} ${run.name}`, mean, roundMs, updates, count: run.rounds.length });
    }
  }
  if (rows.length === 0) return '<p class="empty">No metrics.jsonl found.</p>';
  const stacks: Stack[] = PHASES.map((ph, i) => ({ name: ph, color: PALETTE[i % PALETTE.length], values: rows.map((r) => r.mean[ph]) }));
  const chart = barChart({ title: 'mean milliseconds per round by phase (worker phases summed over clients)', xLabel: 'ms', yLabel: '', categories: rows.map((r) => r.name), stacks, horizontal: true });
  const head = ['run', 'round ms (wall)', ...PHASES, 'client updates/s'];
  const body = rows.map((r) => {
    const totalS = (r.roundMs * r.count) / 1000;
    return `<tr><td>${esc(r.name)}</td><td class="num" data-value="${r.roundMs}">${r.roundMs.toFixed(1)}</td>${PHASES.map((ph) => `<td class="num" data-value="${r.mean[ph]}">${r.mean[ph].toFixed(1)}</td>`).join('')}<td class="num">${(r.updates / totalS).toFixed(1)}</td></tr>`;
  });
  return chart + `<table class="sortable" id="timings"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

/** The whole report page. */
export function renderReport(exps: readonly ExperimentData[], title: string, generated: Date): string {
  const data = JSON.stringify({ title, generated: generated.toISOString(), experiments: exps.map((e) => ({ name: e.name, command: e.config.command, result: e.result })) }).replace(/</g, '\\u003c');
  const conditions = [...new Set(exps.map((e) => conditionOf(e.result)))];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head><body>
<h1>${esc(title)}</h1>
<p class="meta">fedmm report · generated ${esc(generated.toISOString())} · ${exps.length} experiment${exps.length > 1 ? 's' : ''} · conditions: ${esc(conditions.join('; '))}</p>
<h2>Results</h2>
<p>Test metric at each run's best dev round (model selection on dev, as FedMultimodal), mean ± sample std over runs. Click a header to sort.${exps.some((e) => !e.finished) ? ' Experiments still running, or stopped on an error, show their best dev round so far.' : ''}</p>
${summaryTable(exps)}
<h2>Comparison across methods</h2>
${comparisonTable(exps)}
<h2>Dev and test metric per round</h2>
<div class="charts">${exps.map(curves).join('')}</div>
<h2>Communication and time</h2>
<p>Bytes of the encoded payloads (each job's download of the round's broadcast, and every update received), and the virtual clock (device speeds, bandwidths and availability; docs/runtime.md).</p>
${communication(exps)}
<h2>Robustness</h2>
${robustness(exps)}
<h2>Clients: samples and labels</h2>
${partitions(exps)}
<h2>Round phase timings</h2>
${timings(exps)}
<h2>Commands</h2>
<ul>${exps.map((e) => `<li><b>${esc(e.name)}</b>: <code>${esc(e.config.command)}</code></li>`).join('')}</ul>
<script type="application/json" id="fedmm-data">${data}</script>
<script>${SORT_JS}</script>
</body></html>
`;
}
