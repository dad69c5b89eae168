// fedmm report in a real browser: the HTML opens in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) with no network, its charts render with data, and its numbers match result.json.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { fedmmAsync } from './cli-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const dir = mkdtempSync(join(tmpdir(), 'fedmm-cli-report-'));
let browser: BrowserContext | null = null;

beforeAll(async () => {
  if (!haveChromium) return;
  // A fresh profile: playwright passes it to Chromium as --user-data-dir.
  browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveChromium)(`fedmm report in Chromium${haveChromium ? '' : ' (skipped: /usr/bin/chromium is absent; apt-get install -y chromium)'}`, () => {
  test('the report of a grid renders its charts offline and shows the numbers of result.json', { timeout: 180_000 }, async () => {
    const out = join(dir, 'grid');
    const grid = await fedmmAsync(['grid', 'smoke', '--out', out, '--workers', '0', '--quiet', '--no-report']);
    expect(grid.code, grid.stderr).toBe(0);
    const r = await fedmmAsync(['report', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = join(out, 'report.html');
    expect(r.stdout.trim()).toBe(`report: ${html}`);
    expect(readFileSync(html, 'utf8')).not.toMatch(/(src|href)=["']?(https?:)?\/\//);

    const page = await browser!.newPage();
    const requests: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(html).href);
    expect(requests).toEqual([pathToFileURL(html).href]);
    expect(errors).toEqual([]);

    const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => {
      const box = s.getBoundingClientRect();
      return { kind: s.getAttribute('data-chart'), title: s.getAttribute('aria-label'), width: box.width, height: box.height,
        lines: Array.from(s.querySelectorAll('polyline')).map((p) => (p as SVGPolylineElement).points.numberOfItems),
        bars: s.querySelectorAll('rect.bar').length };
    }));
    const cells = ['fedavg', 'fedavg_mm0.3', 'fedopt'];
    for (const c of cells) {
      const curve = charts.find((x) => x.title === `${c}: macro-f1 per round`);
      expect(curve, c).toBeDefined();
      expect(curve!.width).toBeGreaterThan(100);
      expect(curve!.height).toBeGreaterThan(100);
      // dev is evaluated every round; test only in the rounds where dev improved (the default protocol)
      const rounds = readFileSync(join(out, c, 'seed-0', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(curve!.lines).toEqual([rounds.filter((r) => r.dev).length, rounds.filter((r) => r.test).length]);
    }
    const robustness = charts.find((x) => x.title?.includes('vs missing modality rate'));
    expect(robustness?.lines).toEqual([2]);
    const clients = charts.filter((x) => x.title?.endsWith('training samples per client by label'));
    expect(clients.length).toBeGreaterThan(0);
    expect(clients.every((x) => x.bars > 0 && x.height > 100)).toBe(true);
    const phases = charts.find((x) => x.title?.startsWith('mean milliseconds per round by phase'));
    expect(phases?.bars).toBeGreaterThan(0);
    const communication = charts.find((x) => x.title?.includes('vs cumulative bytes exchanged'));
    expect(communication?.lines).toEqual([2, 2, 2]);
    const timeToAccuracy = charts.find((x) => x.title?.includes('vs virtual time (time to accuracy)'));
    expect(timeToAccuracy?.lines).toEqual([2, 2, 2]);

    const shown = await page.$$eval('#summary td.test-metric', (tds) => tds.map((td) => ({ name: td.getAttribute('data-experiment'), text: td.textContent, value: Number(td.getAttribute('data-value')) })));
    expect(shown.map((s) => s.name)).toEqual(cells);
    for (const s of shown) {
      const result = JSON.parse(readFileSync(join(out, s.name!, 'result.json'), 'utf8'));
      expect(s.value).toBe(result.mean['macro-f1']);
      expect(s.text).toBe((100 * result.mean['macro-f1']).toFixed(2));
    }
    const compare = await page.$$eval('#comparison tbody tr', (rows) => rows.map((r) => Array.from(r.cells).map((c) => c.textContent)));
    const fedopt = JSON.parse(readFileSync(join(out, 'fedopt', 'result.json'), 'utf8'));
    expect(compare).toEqual([['UCI-HAR', 'macro-f1', 'α 5', expect.any(String), (100 * fedopt.mean['macro-f1']).toFixed(2)]]);
    const embedded = await page.$eval('#fedmm-data', (s) => JSON.parse(s.textContent ?? '{}'));
    expect(embedded.experiments.map((e: { name: string }) => e.name)).toEqual(cells);

    await page.click('#summary th:nth-child(1)');
    await page.click('#summary th:nth-child(1)');
    const sorted = await page.$$eval('#summary td.test-metric', (tds) => tds.map((td) => td.getAttribute('data-experiment')));
    expect(sorted).toEqual([...cells].reverse());
    await page.close();
  });
});
