// Step arenas: float32 buffers of a step come from one reused block after the first step, zeroed, and
// nothing persistent (leaf gradients, parameters, constructed tensors) is carved from it.
import { describe, expect, it } from 'vitest';
import { Arena, withArena } from '../src/tensor/arena.js';
import { allocFloat, Tensor } from '../src/tensor/index.js';
import { Linear } from '../src/nn/linear.js';
import { crossEntropy } from '../src/nn/losses.js';
import { Rng } from '../src/random.js';

describe('Arena', () => {
  it('takes zeroed, aligned slices of one block from the second step on, and sizes the block from the first', () => {
    const arena = new Arena();
    const first = withArena(arena, () => [allocFloat('float32', 10), allocFloat('float32', 3)]);
    expect(first.map((a) => a.buffer.byteLength)).toEqual([40, 12]);
    expect(arena.capacity).toBe(0);
    first[0].fill(5);
    const second = withArena(arena, () => {
      const a = allocFloat('float32', 10) as Float32Array;
      a.fill(7);
      const b = allocFloat('float32', 3) as Float32Array;
      return [a, b];
    });
    expect(arena.capacity).toBe(32);
    expect(second[0].buffer).toBe(second[1].buffer);
    expect(second[1].byteOffset).toBe(64);
    const third = withArena(arena, () => allocFloat('float32', 10));
    expect(third.buffer).toBe(second[0].buffer);
    expect([...third]).toEqual(new Array(10).fill(0));
    expect(withArena(arena, () => allocFloat('float64', 4))).toBeInstanceOf(Float64Array);
    expect(() => withArena(arena, () => withArena(arena, () => 0))).toThrow(/already active/);
  });

  it('a training step in an arena gives the same gradients as without, and leaves nothing of the arena behind', () => {
    const rng = new Rng(1);
    const layer = new Linear(5, 3, { rng });
    layer.flatten();
    const x = Tensor.randn([4, 5], { rng });
    const y = Int32Array.of(0, 2, 1, 2);
    const step = () => {
      layer.zeroGrad();
      const loss = crossEntropy(layer.forward(x), y);
      loss.backward();
      return loss.item();
    };
    const plainLoss = step();
    const plain = Float32Array.from(layer.flatGradients());
    const arena = new Arena();
    for (let i = 0; i < 3; i++) {
      expect(withArena(arena, step)).toBe(plainLoss);
      expect([...layer.flatGradients()]).toEqual([...plain]);
    }
    expect(arena.capacity).toBeGreaterThan(0);
    const leaf = Tensor.randn([4, 5], { rng }).requiresGrad_();
    const g = withArena(arena, () => {
      leaf.mul(2).sum().backward();
      return Tensor.zeros([2]);
    });
    withArena(arena, () => allocFloat('float32', 64).fill(9));
    expect([...leaf.grad!.data]).toEqual(new Array(20).fill(2));
    expect([...g.data]).toEqual([0, 0]);
  });
});
