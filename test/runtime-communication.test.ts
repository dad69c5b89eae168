// Communication: byte counts from the encoded payloads, compressed updates and broadcasts in the real wire
// path, error feedback as client state. Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/random.js';
import { compressForUpload, compressVector, residualKey } from '../src/runtime/compression.js';
import { resolveRunConfig, type RunConfigInput } from '../src/runtime/config.js';
import { runFederated, type RunResult } from '../src/runtime/scheduler.js';
import { decodeBroadcast, decodeUpdate, encodeBroadcast, encodeUpdate } from '../src/runtime/wire.js';

const quiet = { log: () => {} };
const task = { kind: 'logistic', numClients: 12, features: 6, classes: 3, labelAlpha: 0.3, featureShift: 0.5, minSamples: 10, maxSamples: 50 };
const P = (6 + 1) * 3;
const base: RunConfigInput = { task, rounds: 3, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 5, evalEvery: 3, workers: 0 };
const bits = (r: RunResult) => Array.from(new Uint32Array(r.weights.buffer, r.weights.byteOffset, r.weights.length));
const sum = (r: RunResult, k: 'bytesUp' | 'bytesDown') => r.history.reduce((a, h) => a + h[k], 0);

describe('wire path of compressed vectors', () => {
  it('decodes compressed updates and broadcasts like plain ones, and rejects a broken payload in one line', () => {
    const delta = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const sent = compressVector(delta, { kind: 'int8', blockSize: 16 }, new Rng(0));
    const buf = encodeUpdate({ clientId: 2, round: 1, numSamples: 9, steps: 3, loss: 0.5, metrics: {}, delta: sent, extras: { dc: delta } });
    const d = decodeUpdate(buf, { round: 1, clientId: 2, numParams: 50, extraNames: ['dc'] });
    delta.forEach((x, i) => expect(Math.abs(d.delta[i] - x)).toBeLessThanOrEqual(1 / 127 / 2 + 1e-7));
    expect(Array.from(d.extras.dc)).toEqual(Array.from(delta));
    const broken = new Uint8Array(buf.slice(0));
    const at = broken.indexOf(19, 20) + 1; // the int8 ext type byte, then its payload: block size u32
    broken.set([0, 0, 0, 0], at);
    expect(() => decodeUpdate(broken, { round: 1, clientId: 2, numParams: 50, extraNames: ['dc'] })).toThrow('invalid client update: int8 block size 0');
    const wrongLength = encodeUpdate({ clientId: 2, round: 1, numSamples: 9, steps: 3, loss: 0.5, metrics: {}, delta: compressVector(delta.subarray(0, 40), { kind: 'fp16' }, new Rng(0)), extras: {} });
    expect(() => decodeUpdate(wrongLength, { round: 1, clientId: 2, numParams: 50, extraNames: [] })).toThrow('invalid client update: delta has 40 values, expected 50');

    const bc = encodeBroadcast(4, compressVector(delta, { kind: 'fp16' }, new Rng(0)), { c: delta });
    const b = decodeBroadcast(bc, { round: 4, numParams: 50, names: ['c'] });
    expect(Array.from(b.vectors.c)).toEqual(Array.from(delta));
    delta.forEach((x, i) => expect(Math.abs(b.global[i] - x)).toBeLessThanOrEqual(2 ** -11));
    expect(() => decodeBroadcast(bc, { round: 5, numParams: 50, names: ['c'] })).toThrow(/is not version 1, round 5$/);
    expect(() => decodeBroadcast(bc, { round: 4, numParams: 50, names: [] })).toThrow('broadcast vectors c, expected none');
  });
});

describe('error feedback', () => {
  it('keeps what top-k left out as the client residual and adds it to the next update', () => {
    const x1 = Float32Array.from([0.5, -2, 0.1, 3, -0.2, 1]);
    const first = compressForUpload({ delta: x1 }, { kind: 'topk', fraction: 0.33 }, null, new Rng(0));
    const r1 = first.residuals![residualKey('delta')];
    expect(Array.from(r1)).toEqual(Array.from(Float32Array.from([0.5, 0, 0.1, 0, -0.2, 1])));
    const x2 = Float32Array.from([0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
    const second = compressForUpload({ delta: x2 }, { kind: 'topk', fraction: 0.33 }, first.residuals, new Rng(0));
    const corrected = x2.map((v, i) => v + r1[i]);
    const r2 = second.residuals![residualKey('delta')];
    // Sent: the two largest of x2 + r1 (indices 0 and 5); the residual is the rest of x2 + r1.
    expect(Array.from(r2)).toEqual(Array.from(corrected.map((v, i) => (i === 0 || i === 5 ? 0 : v))));
    expect(() => compressForUpload({ delta: Float32Array.from([NaN, 1]) }, { kind: 'topk', fraction: 0.5 }, null, new Rng(0))).toThrow('compression: delta[0] is NaN');
    expect(compressForUpload({ delta: x1 }, { kind: 'fp16' }, null, new Rng(0)).residuals).toBeNull();
  });
});

describe('communication in a run', () => {
  it('counts the bytes of every encoded broadcast and update', async () => {
    const r = await runFederated(base, quiet);
    const broadcastBytes = encodeBroadcast(0, new Float32Array(P), {}).byteLength;
    for (const h of r.history) {
      expect(h.bytesDown).toBe(h.accepted * broadcastBytes);
      expect(h.bytesUp / h.accepted).toBeGreaterThan(4 * P);
      expect(h.bytesUp / h.accepted).toBeLessThan(4 * P + 80);
    }
    expect(r.totals.bytesUp).toBe(sum(r, 'bytesUp'));
    expect(r.totals.bytesDown).toBe(sum(r, 'bytesDown'));
  });

  it('shrinks the uplink by each scheme, deterministically with 0 or 2 workers', async () => {
    const big = { ...task, features: 200 };
    const run = (compress: string, workers = 0) => runFederated({ ...base, task: big, compress, workers }, quiet);
    const plain = await run('none');
    const ratio = async (c: string) => (await run(c)).totals.bytesUp / plain.totals.bytesUp;
    expect(await ratio('fp16')).toBeCloseTo(0.5, 1);
    expect(await ratio('int8')).toBeCloseTo(0.25 + 1 / 256, 1);
    expect(await ratio('topk:0.05')).toBeCloseTo(0.1, 1);
    expect(await ratio('qsgd:8')).toBeCloseTo(5 / 32, 1);
    for (const c of ['topk:0.05', 'qsgd:8']) {
      const a = await run(c, 0);
      const b = await run(c, 2);
      expect(bits(b)).toEqual(bits(a));
      expect(bits(a)).not.toEqual(bits(plain));
    }
    const down = await runFederated({ ...base, task: big, compressDown: 'fp16' }, quiet);
    expect(down.totals.bytesDown / plain.totals.bytesDown).toBeCloseTo(0.5, 1);
    expect(() => resolveRunConfig({ ...base, compress: 'topk' })).toThrow("config: compress: compression 'topk': topk needs a number, e.g. topk:0.01");
    expect(() => resolveRunConfig({ ...base, compressDown: 'topk:0.1' })).toThrow(/^config: compressDown must be none, fp16, int8\[:B\] or qsgd:S/);
  });

  it('checkpoints the error-feedback residuals with the client state: a resumed top-k run ends on the same bits', async () => {
    const cfg: RunConfigInput = { ...base, algorithm: 'scaffold', rounds: 4, compress: 'topk:0.2', checkpointEvery: 1, clientStateBudgetBytes: 400 };
    const a = mkdtempSync(join(tmpdir(), 'fedmm-comm-'));
    const b = mkdtempSync(join(tmpdir(), 'fedmm-comm-'));
    try {
      const full = await runFederated({ ...cfg, outDir: a }, quiet);
      await runFederated({ ...cfg, rounds: 2, outDir: b }, quiet);
      const resumed = await runFederated({ ...cfg, outDir: b, resume: true, workers: 2 }, quiet);
      expect(bits(resumed)).toEqual(bits(full));
      expect(resumed.totals).toEqual(full.totals);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});
