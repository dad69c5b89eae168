// The one strict number grammar for everything fedmm reads from text (data files, flags, grid cells).
//
// JavaScript's Number() accepts far more than a data file or a flag should hold: hex ('0x10' → 16), binary
// and octal prefixes, 'Infinity', surrounding white space and '' (→ 0). fedmm accepts only plain decimals
//   [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?
// and, where a value becomes float32, only magnitudes float32 can hold (1e39 would become Infinity).

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** The largest finite float32 (2^128 − 2^104). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The value of a plain decimal token, or null when the token is not one (or overflows float64). */
export function parseDecimal(token: string): number | null {
  if (!DECIMAL.test(token)) return null;
  const v = Number(token);
  return Number.isFinite(v) ? v : null;
}

/** The value of a plain decimal integer token (no fraction, no exponent), or null. */
export function parseDecimalInteger(token: string): number | null {
  if (!INTEGER.test(token)) return null;
  const v = Number(token);
  return Number.isSafeInteger(v) ? v : null;
}

/** Whether a finite value rounds to a finite float32. */
export function fitsFloat32(v: number): boolean {
  return Math.abs(v) <= FLOAT32_MAX || Number.isFinite(Math.fround(v));
}

/** The value of a decimal token that float32 can hold, or null. */
export function parseFloat32Decimal(token: string): number | null {
  return float32Problem(token) === null ? Number(token) : null;
}

/** Why `token` is not a float32 decimal ('not a decimal number', 'beyond the float32 range (±3.4e38)'), or null. */
export function float32Problem(token: string): string | null {
  if (!DECIMAL.test(token)) return 'not a decimal number';
  const v = Number(token);
  if (!Number.isFinite(v) || !fitsFloat32(v)) return 'beyond the float32 range (±3.4e38)';
  return null;
}
