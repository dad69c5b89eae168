// Log-space arithmetic the RDP accountant needs: log(e^a + e^b), log(e^a − e^b) and log(erfc(x)) accurate
// in the far tails (erfc(40) ≈ 1e−697 underflows a double; its logarithm does not).

/** log(e^a + e^b), with −∞ as the log of zero. */
export function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (hi === -Infinity) return -Infinity;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log(e^a − e^b) for a ≥ b (b = −∞ allowed); a < b is refused. */
export function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a < b) throw new Error(`logSub: log(e^${a} − e^${b}) is the log of a negative number`);
  if (a === b) return -Infinity;
  return a + Math.log(-Math.expm1(b - a));
}

const SQRT_PI = Math.sqrt(Math.PI);

/** erf(x) for |x| < 2 from the positive series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)) (no cancellation). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/** log(√π·e^(x²)·erfc(x)) for x ≥ 2 by the continued fraction 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) (modified Lentz). */
function logScaledErfcTail(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -Math.log(f);
}

/** log(erfc(x)) for every real x, to about 1e−15 relative precision. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.LN2;
  if (x >= 2) return -x * x - Math.log(SQRT_PI) + logScaledErfcTail(x);
  if (x >= 0) return Math.log1p(-erfSeries(x));
  if (x > -2) return Math.log1p(erfSeries(-x));
  // erfc(x) = 2 − erfc(−x) with erfc(−x) < 4.7e−3.
  return Math.log(2 - Math.exp(-x * x - Math.log(SQRT_PI) + logScaledErfcTail(-x)));
}
