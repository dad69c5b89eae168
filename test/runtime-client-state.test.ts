import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientStateStore, deserializeVectors, serializeVectors } from '../src/runtime/client-state.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fedmm-state-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const vec = (id: number, n = 100) => ({ c: Float32Array.from({ length: n }, (_, i) => id + i / 8) });

describe('client-state store', () => {
  it('serializes named vectors losslessly and rejects truncated files', () => {
    const v = { c: Float32Array.from([1, -2, 3.5]), longer_name: Float32Array.from([NaN, 0]) };
    const back = deserializeVectors(serializeVectors(v), 'x');
    expect(Array.from(back.c)).toEqual([1, -2, 3.5]);
    expect(Number.isNaN(back.longer_name[0])).toBe(true);
    expect(() => deserializeVectors(serializeVectors(v).subarray(0, 10), 'of client 3')).toThrow('client state of client 3: truncated');
  });

  it('stages until commit, discards on a repeated round', () => {
    const s = new ClientStateStore({ dir: null });
    s.stage(3, vec(3));
    expect(s.get(3)).toBeNull();
    s.commit();
    expect(s.get(3)!.c[1]).toBe(3.125);
    s.stage(3, vec(9));
    s.discard();
    expect(s.get(3)!.c[0]).toBe(3);
    expect(s.stats()).toEqual({ clients: 1, inMemory: 1, bytesInMemory: 400, spilled: 0 });
  });

  it('spills past its memory budget and reads spilled states back', () => {
    const dir = tmp();
    const s = new ClientStateStore({ dir: join(dir, 'cs'), budgetBytes: 1000 });
    for (let id = 0; id < 20; id++) s.stage(id, vec(id));
    s.commit();
    const st = s.stats();
    expect(st.clients).toBe(20);
    expect(st.bytesInMemory).toBeLessThanOrEqual(1000);
    expect(st.spilled).toBeGreaterThanOrEqual(17);
    for (let id = 0; id < 20; id++) expect(s.get(id)!.c[2]).toBe(id + 0.25);
    expect(readdirSync(join(dir, 'cs', 'pending'))).toEqual([]);
  });

  it('snapshots and restores, unaffected by later updates', () => {
    const dir = tmp();
    const s = new ClientStateStore({ dir: join(dir, 'cs'), budgetBytes: 800 });
    for (let id = 0; id < 5; id++) s.stage(id, vec(id));
    s.commit();
    s.snapshot(join(dir, 'snap'));
    for (let id = 0; id < 5; id++) s.stage(id, vec(100 + id));
    s.commit();
    const r = new ClientStateStore({ dir: join(dir, 'cs2'), budgetBytes: 800 });
    r.restore(join(dir, 'snap'));
    for (let id = 0; id < 5; id++) expect(r.get(id)!.c[0]).toBe(id);
    expect(r.get(7)).toBeNull();
    const m = new ClientStateStore({ dir: null, budgetBytes: 10_000 });
    m.restore(join(dir, 'snap'));
    expect(m.get(4)!.c[0]).toBe(4);
  });

  it('refuses to exceed the budget without a spill directory', () => {
    const s = new ClientStateStore({ dir: null, budgetBytes: 100 });
    expect(() => s.stage(1, vec(1))).toThrow(/400 bytes exceed the 100-byte budget and no spill directory is set/);
  });
});
