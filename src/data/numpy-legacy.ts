// numpy's legacy random generator (np.random.seed / RandomState: MT19937 with the legacy samplers), enough of it
// to reproduce FedMultimodal's partitions exactly: seed, random_sample, shuffle, standard_normal,
// standard_gamma and dirichlet. Each method follows numpy's C source (mt19937.c, distributions.c,
// legacy-distributions.c, mtrand.pyx) step for step, including its float64 operation order.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class NumpyLegacyRandom {
  private readonly key = new Uint32Array(N);
  private pos = N;
  private hasGauss = false;
  private gaussValue = 0;

  constructor(seed: number) {
    this.seed(seed);
  }

  /** np.random.seed(seed) for an integer seed (mt19937_seed; resets the cached normal). */
  seed(seed: number): void {
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new Error(`numpy seed must be an integer in [0, 2^32), got ${seed}`);
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      this.key[i] = s;
      s = (Math.imul(1812433253, (s ^ (s >>> 30)) >>> 0) + i + 1) >>> 0;
    }
    this.pos = N;
    this.hasGauss = false;
    this.gaussValue = 0;
  }

  /** The first words of the MT19937 key, as np.random.get_state()[1]. */
  stateWords(count: number): number[] {
    return Array.from(this.key.subarray(0, count));
  }

  private generate(): void {
    const k = this.key;
    let i = 0;
    for (; i < N - M; i++) {
      const y = (k[i] & UPPER_MASK) | (k[i + 1] & LOWER_MASK);
      k[i] = k[i + M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    for (; i < N - 1; i++) {
      const y = (k[i] & UPPER_MASK) | (k[i + 1] & LOWER_MASK);
      k[i] = k[i + (M - N)] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    const y = (k[N - 1] & UPPER_MASK) | (k[0] & LOWER_MASK);
    k[N - 1] = k[M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    this.pos = 0;
  }

  /** Next tempered 32-bit output. */
  nextU32(): number {
    if (this.pos === N) this.generate();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** random_sample(): (a >> 5, b >> 6) → 53-bit double in [0, 1). */
  randomSample(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

  /** random_interval(max): uniform in [0, max] by masked rejection on 32-bit draws. */
  randomInterval(max: number): number {
    if (max === 0) return 0;
    if (max > 0xffffffff) throw new Error('randomInterval: max above 2^32 - 1 is not supported');
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    while ((v = (this.nextU32() & mask) >>> 0) > max);
    return v;
  }

  /** RandomState.shuffle of a 1-D array, in place. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i >= 1; i--) {
      const j = this.randomInterval(i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** legacy_gauss: polar Box-Muller keeping the second value. */
  standardNormal(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const g = this.gaussValue;
      this.gaussValue = 0;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2.0 * this.randomSample() - 1.0;
      x2 = 2.0 * this.randomSample() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    const f = Math.sqrt((-2.0 * Math.log(r2)) / r2);
    this.gaussValue = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /** legacy_standard_exponential. */
  standardExponential(): number {
    return -Math.log(1.0 - this.randomSample());
  }

  /** legacy_standard_gamma(shape). */
  standardGamma(shape: number): number {
    if (shape === 1.0) return this.standardExponential();
    if (shape === 0.0) return 0.0;
    if (shape < 1.0) {
      for (;;) {
        const U = this.randomSample();
        const V = this.standardExponential();
        if (U <= 1.0 - shape) {
          const X = powLibm(U, 1.0 / shape);
          if (X <= V) return X;
        } else {
          const Y = -Math.log((1 - U) / shape);
          const X = powLibm(1.0 - shape + shape * Y, 1.0 / shape);
          if (X <= V + Y) return X;
        }
      }
    }
    const b = shape - 1.0 / 3.0;
    const c = 1.0 / Math.sqrt(9 * b);
    for (;;) {
      let X: number;
      let V: number;
      do {
        X = this.standardNormal();
        V = 1.0 + c * X;
      } while (V <= 0.0);
      V = V * V * V;
      const U = this.randomSample();
      if (U < 1.0 - 0.0331 * (X * X) * (X * X)) return b * V;
      if (Math.log(U) < 0.5 * X * X + b * (1.0 - V + Math.log(V))) return b * V;
    }
  }

  /** RandomState.dirichlet(alpha) for one draw. */
  dirichlet(alpha: ArrayLike<number>): Float64Array {
    const k = alpha.length;
    const out = new Float64Array(k);
    let acc = 0.0;
    for (let j = 0; j < k; j++) {
      out[j] = this.standardGamma(alpha[j]);
      acc = acc + out[j];
    }
    const invacc = 1 / acc;
    for (let j = 0; j < k; j++) out[j] = out[j] * invacc;
    return out;
  }
}

const SPLIT = 134217729; // 2^27 + 1, Veltkamp splitting

/** a·b as an unevaluated sum [hi, lo] (Dekker). */
function twoProd(a: number, b: number): [number, number] {
  const p = a * b;
  const ca = SPLIT * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLIT * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

/** Double-double product, renormalised. */
function ddMul(x: [number, number], y: [number, number]): [number, number] {
  const [p, e] = twoProd(x[0], y[0]);
  const err = e + (x[0] * y[1] + x[1] * y[0]);
  const hi = p + err;
  return [hi, err - (hi - p)];
}

/**
 * pow as C's libm gives it (correctly rounded in all but rare halfway cases): JavaScript's Math.pow may be
 * 1 ulp off, which moves a Dirichlet cut. Integer exponents (1/α for α = 0.1, 0.5, 0.25, …) go through
 * double-double exponentiation by squaring and one final rounding; other exponents use Math.pow.
 */
export function powLibm(x: number, y: number): number {
  if (!(Number.isInteger(y) && y >= 0 && y <= 1024) || !(x > 0 && x < 1e300)) return Math.pow(x, y);
  let result: [number, number] = [1, 0];
  let base: [number, number] = [x, 0];
  for (let n = y; n > 0; n >>= 1) {
    if (n & 1) result = ddMul(result, base);
    base = ddMul(base, base);
  }
  return result[0] + result[1];
}

/** numpy's pairwise summation of a float64 array (np.sum / ndarray.sum on a contiguous 1-D array). */
export function numpySum(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0.0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = a[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return numpySum(a, start, n2) + numpySum(a, start + n2, n - n2);
}
