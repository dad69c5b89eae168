// t-of-n Shamir secret sharing over the prime field GF(p), p = 2^521 − 1 (a Mersenne prime), so any
// 32-byte secret (a ChaCha20 seed, an X25519 private key) is one field element. A share is (x, f(x)) for a
// random polynomial f of degree t − 1 with f(0) = secret; any t shares give f(0) by Lagrange interpolation
// at 0, fewer reveal nothing. Coefficients come from node:crypto's CSPRNG.
import { randomBytes } from 'node:crypto';

export const FIELD_PRIME = (1n << 521n) - 1n;
/** Bytes of one field element on the wire (521 bits). */
export const FIELD_BYTES = 66;

export interface Share {
  /** Evaluation point, 1 … 65535 (never 0: f(0) is the secret). */
  readonly x: number;
  readonly y: bigint;
}

/** a mod p; for p = 2^521 − 1, 2^521 ≡ 1 folds the high bits onto the low ones (no division). */
function mod(a: bigint): bigint {
  if (a < 0n) {
    const r = a % FIELD_PRIME;
    return r === 0n ? 0n : r + FIELD_PRIME;
  }
  let r = a;
  while (r > FIELD_PRIME) r = (r & FIELD_PRIME) + (r >> 521n);
  return r === FIELD_PRIME ? 0n : r;
}

/** a^−1 mod p by the extended Euclidean algorithm. */
function invert(a: bigint): bigint {
  let [oldR, r] = [mod(a), FIELD_PRIME];
  let [oldS, s] = [1n, 0n];
  if (oldR === 0n) throw new Error('shamir: zero has no inverse (two shares with the same x?)');
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  return mod(oldS);
}

/** A uniform field element (rejection: the 521-bit value p itself is redrawn). */
function randomElement(): bigint {
  for (;;) {
    const bytes = randomBytes(FIELD_BYTES);
    bytes[0] &= 0x01; // keep 521 bits
    const v = bytesToBigint(bytes);
    if (v < FIELD_PRIME) return v;
  }
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Big-endian, exactly `length` bytes (refuses values that do not fit). */
export function bigintToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n || value >> BigInt(8 * length) !== 0n) throw new Error(`shamir: value does not fit in ${length} bytes`);
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Shares of `secret` (bytes, at most 65) at the points `xs`, any `threshold` of which recover it. */
export function splitSecret(secret: Uint8Array, threshold: number, xs: readonly number[]): Share[] {
  if (secret.length > FIELD_BYTES - 1) throw new Error(`shamir: a secret holds at most ${FIELD_BYTES - 1} bytes, got ${secret.length}`);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) {
    throw new Error(`shamir: threshold must be an integer in [1, ${xs.length}] (the number of shares), got ${threshold}`);
  }
  if (new Set(xs).size !== xs.length || xs.some((x) => !Number.isInteger(x) || x < 1 || x > 65535)) {
    throw new Error('shamir: share points must be distinct integers in [1, 65535]');
  }
  const coefficients = [bytesToBigint(secret)];
  for (let k = 1; k < threshold; k++) coefficients.push(randomElement());
  return xs.map((x) => {
    // Horner: f(x) = c0 + x(c1 + x(c2 + …)).
    const bx = BigInt(x);
    let y = 0n;
    for (let k = coefficients.length - 1; k >= 0; k--) y = mod(y * bx + coefficients[k]);
    return { x, y };
  });
}

/** f(0) from at least `threshold` shares (extra shares are ignored), as `length` bytes. */
export function combineShares(shares: readonly Share[], threshold: number, length: number): Uint8Array {
  if (shares.length < threshold) throw new Error(`shamir: ${shares.length} shares cannot recover a secret that needs ${threshold}`);
  const used = shares.slice(0, threshold);
  if (new Set(used.map((s) => s.x)).size !== used.length) throw new Error('shamir: duplicate share points');
  let secret = 0n;
  for (let i = 0; i < used.length; i++) {
    // Lagrange basis at 0: Π_{j≠i} x_j / (x_j − x_i).
    let num = 1n;
    let den = 1n;
    const xi = BigInt(used[i].x);
    for (let j = 0; j < used.length; j++) {
      if (j === i) continue;
      const xj = BigInt(used[j].x);
      num = mod(num * xj);
      den = mod(den * (xj - xi));
    }
    secret = mod(secret + used[i].y * num % FIELD_PRIME * invert(den));
  }
  return bigintToBytes(secret, length);
}
