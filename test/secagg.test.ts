// Secure aggregation: Shamir sharing, fixed-point encoding, the SecAgg+ graph, and whole protocol rounds
// with dropouts at both phases, aborts below the threshold, tampering, and the uniformity of masked vectors.
import { diffieHellman, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { decodeFixedSum, encodeFixed, fixedPoint } from '../src/secagg/fixed-point.js';
import { defaultNeighbors, defaultThreshold, secAggGraph } from '../src/secagg/graph.js';
import { expandMask } from '../src/secagg/prg.js';
import { SecAggClient, SecAggServer, x25519KeyPair } from '../src/secagg/protocol.js';
import { SecAggSession } from '../src/secagg/session.js';
import { FIELD_PRIME, combineShares, splitSecret } from '../src/secagg/shamir.js';

describe('Shamir sharing over GF(2^521 − 1)', () => {
  const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

  it('any t of n shares recover the secret, in any order', () => {
    const shares = splitSecret(secret, 3, [1, 2, 3, 4, 5]);
    for (const pick of [[0, 1, 2], [4, 2, 0], [1, 3, 4], [3, 4, 0, 1]]) {
      expect(combineShares(pick.map((k) => shares[k]), 3, 32)).toEqual(secret);
    }
  });

  it('t − 1 shares do not determine the secret; threshold 1 is the secret itself', () => {
    const shares = splitSecret(secret, 4, [10, 20, 30, 40]);
    expect(combineShares(shares.slice(0, 3), 3, 66)).not.toEqual(Uint8Array.from([...new Uint8Array(34), ...secret]));
    expect(() => combineShares(shares.slice(0, 3), 4, 32)).toThrow(/3 shares cannot recover a secret that needs 4/);
    const plain = splitSecret(secret, 1, [7, 8]);
    expect(plain[0].y).toBe(plain[1].y);
    for (const s of shares) expect(s.y < FIELD_PRIME).toBe(true);
  });

  it('refuses bad thresholds and points', () => {
    expect(() => splitSecret(secret, 0, [1, 2])).toThrow(/threshold must be an integer in \[1, 2\]/);
    expect(() => splitSecret(secret, 2, [1, 1])).toThrow(/distinct/);
    expect(() => splitSecret(secret, 1, [0])).toThrow(/\[1, 65535\]/);
  });
});

describe('fixed point in Z_2^32', () => {
  it('uses the largest power-of-two scale whose n-fold sum cannot wrap', () => {
    const fp = fixedPoint(1, 100);
    expect(Math.log2(fp.scale) % 1).toBe(0);
    expect(100 * fp.scale).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(200 * fp.scale).toBeGreaterThan(2 ** 31 - 1);
  });

  it('the decoded sum of encoded values is the sum of the rounded values, even at ±range', () => {
    const n = 50;
    const fp = fixedPoint(0.5, n);
    const sum = new Uint32Array(3);
    const q = new Uint32Array(3);
    for (let k = 0; k < n; k++) {
      encodeFixed(Float32Array.from([0.5, -0.5, 0.123456]), fp, q);
      for (let i = 0; i < 3; i++) sum[i] += q[i];
    }
    const out = decodeFixedSum(sum, fp, new Float32Array(3));
    expect(out[0]).toBe(Math.fround(25));
    expect(out[1]).toBe(Math.fround(-25));
    expect(Math.abs(out[2] - n * 0.123456)).toBeLessThanOrEqual(n / (2 * fp.scale) + 1e-6);
  });

  it('clips values outside the range and counts them; refuses non-finite values', () => {
    const fp = fixedPoint(1, 4);
    const q = new Uint32Array(3);
    expect(encodeFixed(Float32Array.from([2, -3, 0.5]), fp, q)).toBe(2);
    expect(decodeFixedSum(q, fp, new Float32Array(3))).toEqual(Float32Array.from([1, -1, 0.5]));
    expect(() => encodeFixed(Float32Array.from([0, NaN, 0]), fp, q)).toThrow(/non-finite value at index 1/);
  });
});

describe('SecAgg+ graph', () => {
  it('is symmetric with degree k, and complete when k ≥ n − 1', () => {
    const g = secAggGraph(50, 12, new Rng(3));
    g.forEach((nb, u) => {
      expect(nb.length).toBe(12);
      for (const v of nb) expect(g[v]).toContain(u);
      expect(nb).not.toContain(u);
    });
    const full = secAggGraph(6, 9, new Rng(3));
    expect([...full[2]]).toEqual([0, 1, 3, 4, 5]);
    expect(defaultNeighbors(10)).toBe(9);
    expect(defaultNeighbors(1000)).toBe(30);
    expect(defaultThreshold(30)).toBe(16);
  });
});

/** A cohort's fixed-point inputs and their plain sum mod 2^32. */
function inputs(n: number, P: number, seed: number): { encoded: Uint32Array[]; fp: ReturnType<typeof fixedPoint> } {
  const rng = new Rng(seed);
  const fp = fixedPoint(1, n);
  const encoded = Array.from({ length: n }, () => {
    const x = Float32Array.from({ length: P }, () => rng.uniform(-1.2, 1.2));
    const q = new Uint32Array(P);
    encodeFixed(x, fp, q);
    return q;
  });
  return { encoded, fp };
}

function plainSum(encoded: Uint32Array[], members: Iterable<number>): Uint32Array {
  const sum = new Uint32Array(encoded[0].length);
  for (const u of members) for (let i = 0; i < sum.length; i++) sum[i] += encoded[u][i];
  return sum;
}

describe('SecAgg rounds', () => {
  const P = 257;

  it('complete graph: the unmasked sum equals the plain fixed-point sum exactly with 0 … n − t dropouts', () => {
    const n = 9;
    const threshold = 5;
    const { encoded } = inputs(n, P, 1);
    for (let dropped = 0; dropped <= n - threshold; dropped++) {
      const session = new SecAggSession({ parties: n, length: P, neighbors: n - 1, threshold, rng: new Rng(dropped) });
      const members = new Rng(100 + dropped).permutation(n).slice(dropped);
      for (const u of members) session.submit(u, encoded[u]);
      expect(session.finish()).toEqual(plainSum(encoded, members));
    }
  });

  it('dropouts after masking (silent in unmasking) are still summed; one dropout too many aborts clearly', () => {
    const n = 9;
    const threshold = 5;
    const { encoded } = inputs(n, P, 2);
    const session = new SecAggSession({ parties: n, length: P, neighbors: n - 1, threshold, rng: new Rng(1) });
    for (let u = 0; u < 7; u++) session.submit(u, encoded[u]); // 7 and 8 drop before masking
    expect(session.finish(new Set([0, 1]))).toEqual(plainSum(encoded, [0, 1, 2, 3, 4, 5, 6]));

    const short = new SecAggSession({ parties: n, length: P, neighbors: n - 1, threshold, rng: new Rng(1) });
    for (let u = 0; u < threshold - 1; u++) short.submit(u, encoded[u]);
    expect(() => short.finish()).toThrow(/secure aggregation aborted: only 4 parties sent masked inputs, fewer than the threshold 5/);

    const silent = new SecAggSession({ parties: n, length: P, neighbors: n - 1, threshold, rng: new Rng(1) });
    for (let u = 0; u < 6; u++) silent.submit(u, encoded[u]);
    expect(() => silent.finish(new Set([0, 1]))).toThrow(/only 4 parties answered the unmasking round, fewer than the threshold 5/);
  });

  it('SecAgg+ (n = 60, k = 12): exact with 25% dropouts at both phases; a neighbourhood below t aborts', () => {
    const n = 60;
    const { encoded } = inputs(n, P, 3);
    const session = new SecAggSession({ parties: n, length: P, neighbors: 12, rng: new Rng(4) });
    expect(session.params.threshold).toBe(7);
    const order = new Rng(5).permutation(n);
    const members = [...order.slice(8)];
    for (const u of members) session.submit(u, encoded[u]);
    const silent = new Set([...order.slice(8, 15)]);
    expect(session.finish(silent)).toEqual(plainSum(encoded, members));

    // Silence 7 of party 0's 13 holders (itself excluded): only 6 remain for its self-mask.
    const starved = new SecAggSession({ parties: n, length: P, neighbors: 12, rng: new Rng(4) });
    for (let u = 0; u < n; u++) starved.submit(u, encoded[u]);
    const quiet = new Set([...starved.params.graph[0].slice(0, 7)]);
    expect(() => starved.finish(quiet)).toThrow(/only 6 of party 0's 13 share holders answered, fewer than the threshold 7: its self-mask cannot be removed/);
  });

  it('a single masked vector is uniform in Z_2^32 (χ² of its top and bottom bytes)', () => {
    const n = 5;
    const len = 1 << 16;
    const session = new SecAggSession({ parties: n, length: len, neighbors: 4, rng: new Rng(6) });
    const zeros = new Uint32Array(len);
    const server = (session as unknown as { server: SecAggServer }).server;
    let seen: Uint32Array | null = null;
    const add = server.addMaskedInput.bind(server);
    server.addMaskedInput = (from, y) => {
      seen ??= Uint32Array.from(y);
      add(from, y);
    };
    session.submit(0, zeros);
    const y = seen!;
    for (const shift of [24, 0]) {
      const counts = new Float64Array(256);
      for (let i = 0; i < len; i++) counts[(y[i] >>> shift) & 0xff]++;
      const expected = len / 256;
      let chi2 = 0;
      for (const c of counts) chi2 += ((c - expected) ** 2) / expected;
      expect(chi2).toBeLessThan(350); // 255 degrees of freedom: P(χ² > 350) ≈ 1e−4
      expect(chi2).toBeGreaterThan(170); // and not suspiciously flat
    }
  });

  it('the ChaCha20 mask expansion is deterministic per seed and differs across seeds', () => {
    const a = expandMask(new Uint8Array(32).fill(1), new Uint32Array(1000));
    const b = expandMask(new Uint8Array(32).fill(1), new Uint32Array(1000));
    const c = expandMask(new Uint8Array(32).fill(2), new Uint32Array(1000));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(() => expandMask(new Uint8Array(16), new Uint32Array(4))).toThrow(/32 bytes/);
  });

  it('X25519 key pairs: the public key derived from d matches RFC 7748 §6.1; fresh pairs agree with generateKeyPairSync keys', () => {
    const alice = x25519KeyPair(Uint8Array.from(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex')));
    const x = Buffer.from(alice.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
    expect(x).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    const bob = x25519KeyPair(Uint8Array.from(Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex')));
    const shared = diffieHellman({ privateKey: alice.privateKey, publicKey: bob.publicKey }).toString('hex');
    expect(shared).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
    const fresh = x25519KeyPair();
    const reference = generateKeyPairSync('x25519');
    expect(diffieHellman({ privateKey: fresh.privateKey, publicKey: reference.publicKey }))
      .toEqual(diffieHellman({ privateKey: reference.privateKey, publicKey: fresh.publicKey }));
    expect(fresh.publicKey.export({ format: 'jwk' }).x).not.toBe(x25519KeyPair().publicKey.export({ format: 'jwk' }).x);
  });

  it('clients refuse tampered shares and a request that names a party both survivor and dropped', () => {
    const graph = secAggGraph(3, 2, new Rng(1));
    const params = { n: 3, graph, threshold: 2, length: 4, roundSalt: new Uint8Array(32) };
    const clients = [0, 1, 2].map((id) => new SecAggClient(id, params));
    const server = new SecAggServer(params);
    const rosters = server.collectAdvertisements(clients.map((c) => c.advertise()));
    const out = clients.map((c) => c.shareKeys(rosters.get(c.id)!));
    const inbox = server.routeShares(out);
    const forged = inbox.get(1)!.map((m) => ({ ...m, ciphertext: Uint8Array.from(m.ciphertext, (b, i) => (i === 10 ? b ^ 1 : b)) }));
    expect(() => clients[1].receiveShares(forged)).toThrow(/failed authentication/);
    clients[0].receiveShares(inbox.get(0)!);
    clients[0].maskedInput(new Uint32Array(4));
    expect(() => clients[0].unmask({ survivors: [0, 1, 2], dropped: [1] })).toThrow(/both survivor and dropped/);
  });
});
