import { describe, expect, test } from 'vitest';
import { Tensor } from '../src/tensor/index.js';
import { rowPlan } from '../src/tensor/ops/broadcast.js';
import { Rng } from '../src/random.js';
import { gradcheck, randTensor } from './helpers/gradcheck.js';

/** out[i] for a broadcast binary op, by explicit multi-index arithmetic (independent of the row plan). */
function naiveBroadcast(a: Tensor, b: Tensor, f: (x: number, y: number) => number): number[] {
  const rank = Math.max(a.ndim, b.ndim);
  const pad = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const sa = pad(a.shape);
  const sb = pad(b.shape);
  const out = sa.map((d, i) => Math.max(d, sb[i]));
  const total = out.reduce((p, d) => p * d, 1);
  const flat = (shape: number[], idx: number[]) => idx.reduce((acc, v, i) => acc * shape[i] + (shape[i] === 1 ? 0 : v), 0);
  const result: number[] = [];
  for (let k = 0; k < total; k++) {
    const idx: number[] = [];
    let rem = k;
    for (let d = rank - 1; d >= 0; d--) {
      idx.unshift(rem % out[d]);
      rem = Math.floor(rem / out[d]);
    }
    result.push(f(a.data[flat(sa, idx)], b.data[flat(sb, idx)]));
  }
  return result;
}

const CASES: [number[], number[]][] = [
  [[2, 3], [2, 3]],
  [[4, 5], [5]],
  [[4, 5], []],
  [[], [3, 2]],
  [[2, 1, 3], [4, 1]],
  [[2, 4, 3], [2, 1, 3]],
  [[3, 1], [1, 4]],
  [[2, 3, 1, 2], [3, 5, 1]],
];

describe('broadcasting binary ops', () => {
  test.each(CASES)('%j with %j: forward matches explicit indexing, gradients match finite differences', (sa, sb) => {
    const rng = new Rng(sa.length * 7 + sb.length);
    const a = randTensor(sa, rng, 0.5, 2);
    const b = randTensor(sb, rng, 0.5, 2);
    expect(a.add(b).toArray()).toEqual(naiveBroadcast(a, b, (x, y) => x + y));
    expect(a.sub(b).toArray()).toEqual(naiveBroadcast(a, b, (x, y) => x - y));
    expect(a.mul(b).toArray()).toEqual(naiveBroadcast(a, b, (x, y) => x * y));
    expect(a.div(b).toArray()).toEqual(naiveBroadcast(a, b, (x, y) => x / y));
    for (const op of ['add', 'sub', 'mul', 'div'] as const) gradcheck((x, y) => x[op](y), [a, b]);
  });

  test('row plans merge axes: same shape and scalars are one row, a bias is one row per output row', () => {
    expect(rowPlan([6, 7], [6, 7], 'add')).toMatchObject({ rows: 1, n: 42, aStride: 1, bStride: 1 });
    expect(rowPlan([6, 7], [], 'add')).toMatchObject({ rows: 1, n: 42, aStride: 1, bStride: 0 });
    expect(rowPlan([6, 7], [7], 'add')).toMatchObject({ rows: 6, n: 7, aStride: 1, bStride: 1 });
    expect(rowPlan([2, 3, 4], [2, 1, 4], 'add')).toMatchObject({ rows: 6, n: 4 });
    expect(() => rowPlan([2, 3], [4], 'add')).toThrow(/shapes \[2, 3\] and \[4\] cannot be broadcast/);
  });

  test('maskedFill broadcasts a [B, 1, T] mask over heads', () => {
    const x = Tensor.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 3]);
    const mask = Tensor.from([0, 1, 0, 1, 0, 0], [2, 1, 3]);
    expect(x.maskedFill(mask, -1).toArray()).toEqual([1, -1, 3, 4, -1, 6, -1, 8, 9, -1, 11, 12]);
    expect(() => Tensor.zeros([2, 3]).maskedFill(Tensor.zeros([4, 1, 3]), 0)).toThrow(/must broadcast to the tensor's shape/);
  });
});
