// One strict number grammar for every text data file fedmm reads: an optional sign, digits with an optional
// fraction (or a fraction alone), an optional exponent. No hex, no 'Infinity'/'NaN', no empty fields, no
// whitespace inside, nothing JavaScript's Number() would also accept; values must be finite float32.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const FLOAT32_MAX = 3.4028234663852886e38;

/** The value of a decimal token that fits float32, or null when the token breaks the grammar or the range. */
export function parseStrictDecimal(token: string): number | null {
  if (!DECIMAL.test(token)) return null;
  const v = Number(token);
  return Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX ? v : null;
}

/** The value of a decimal integer token (a safe integer), or null. */
export function parseStrictInteger(token: string): number | null {
  if (!INTEGER.test(token)) return null;
  const v = Number(token);
  return Number.isSafeInteger(v) ? v : null;
}
