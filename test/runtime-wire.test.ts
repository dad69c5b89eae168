import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { decodeUpdate, encodeUpdate, WIRE_VERSION, type EncodableUpdate } from '../src/runtime/wire.js';

const P = 7;
const update = (over: Partial<EncodableUpdate> = {}): EncodableUpdate => ({
  clientId: 12, round: 3, numSamples: 40, steps: 3, loss: 0.75, metrics: { accuracy: 0.5 },
  delta: Float32Array.from({ length: P }, (_, i) => i * 0.25 - 1), extras: {}, ...over,
});
const expect3 = { round: 3, clientId: 12, numParams: P, extraNames: [] as string[], maxSamples: 1000 };

function reason(bytes: ArrayBuffer | Uint8Array, e = expect3): string {
  try {
    decodeUpdate(bytes, e);
  } catch (err) {
    return (err as { reason?: string }).reason ?? `not a WireError: ${(err as Error).message}`;
  }
  return 'accepted';
}

describe('wire format', () => {
  it('round-trips header, delta and extras, decoding the floats as views into the received buffer', () => {
    for (const header of [{}, { metrics: { accuracy: 0.5, f1: 0.25, longer_metric_name: 1 } }, { clientId: 123456 }]) {
      const u = update({ ...header, extras: { dc: Float32Array.from({ length: P }, (_, i) => -i), aux: new Float32Array(P).fill(2) } });
      const buf = encodeUpdate(u);
      const d = decodeUpdate(buf, { ...expect3, clientId: u.clientId, extraNames: ['aux', 'dc'] });
      expect(d.copied).toBe(false);
      expect(d.delta.buffer).toBe(buf);
      expect(d.delta.byteOffset % 4).toBe(0);
      expect(d.extras.dc.buffer).toBe(buf);
      expect(Array.from(d.delta)).toEqual(Array.from(u.delta));
      expect(Array.from(d.extras.dc)).toEqual(Array.from(u.extras.dc));
      expect(Array.from(d.extras.aux)).toEqual(Array.from(u.extras.aux));
      expect({ c: d.clientId, r: d.round, n: d.numSamples, s: d.steps, l: d.loss, m: d.metrics }).toEqual({ c: u.clientId, r: 3, n: 40, s: 3, l: 0.75, m: u.metrics });
    }
  });

  it('copies (and says so) only when the floats are misaligned in memory', () => {
    const buf = new Uint8Array(encodeUpdate(update()));
    const shifted = new Uint8Array(buf.length + 1);
    shifted.set(buf, 1);
    const d = decodeUpdate(shifted.subarray(1), expect3);
    expect(d.copied).toBe(true);
    expect(Array.from(d.delta)).toEqual(Array.from(update().delta));
  });

  it('rejects bad updates with a one-line reason', () => {
    const good = encodeUpdate(update());
    expect(reason(good)).toBe('accepted');
    expect(reason(good, { ...expect3, clientId: 5 })).toBe('update names client 12, expected 5');
    expect(reason(good, { ...expect3, round: 4 })).toBe('update is for round 3, expected 4');
    expect(reason(good, { ...expect3, numParams: 8 })).toBe('delta has 7 values, expected 8');
    expect(reason(good, { ...expect3, extraNames: ['dc'] })).toBe("missing extra 'dc'");
    expect(reason(encodeUpdate(update({ extras: { dc: new Float32Array(P) } })))).toBe("unexpected extra 'dc'");
    const nan = update().delta.slice();
    nan[4] = NaN;
    expect(reason(encodeUpdate(update({ delta: nan })))).toBe('delta[4] is NaN');
    const inf = update().delta.slice();
    inf[0] = -Infinity;
    expect(reason(encodeUpdate(update({ delta: inf })))).toBe('delta[0] is -Infinity');
    expect(reason(encodeUpdate(update({ loss: Number.NaN })))).toBe('loss is NaN');
    expect(reason(encodeUpdate(update({ numSamples: 0 })))).toBe("header 'n' must be an integer ≥ 1, got 0");
    expect(reason(encodeUpdate(update({ metrics: { f1: Infinity } })))).toBe("metric 'f1' is Infinity");
    expect(reason(Uint8Array.of(0xc1))).toMatch(/^not msgpack: /);
    expect(reason(Uint8Array.of(0x93, 0xc0, 0xc0, 0xc0))).toBe('header is not a map');
    expect(reason(encode({ v: 1 }))).toBe('message is not a 3-element array [header, delta, extras]');
    const header = { v: WIRE_VERSION, client: 12, round: 3, n: 4, steps: 1, loss: 0, metrics: {} };
    expect(reason(encode([{ ...header, v: 2 }, null, {}]))).toBe(`format version 2, this build reads ${WIRE_VERSION}`);
    expect(reason(encode([{ ...header, extra: 1 }, null, {}]))).toBe("header has unknown field 'extra'");
    const { loss: _dropped, ...noLoss } = header;
    expect(reason(encode([noLoss, null, {}]))).toBe("header lacks 'loss'");
    expect(reason(encode([header, new Uint8Array(28), {}]))).toBe('delta is not a vector extension (types 17–21)');
    const badPad = new Uint8Array(good);
    const at = badPad.indexOf(0xc9);
    badPad[at + 6] = 9;
    expect(reason(badPad)).toBe('float32 payload padding 9 (must be 0..3)');
  });
});
