// Argument checks shared by the layers: one clear line naming the layer and the argument.

/** Throws unless `value` is a positive integer. */
export function checkSize(layer: string, what: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`${layer}: ${what} must be a positive integer, got ${value}`);
}

/** Throws unless `value` is a non-negative integer. */
export function checkNonNegative(layer: string, what: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 0)) throw new Error(`${layer}: ${what} must be a non-negative integer, got ${value}`);
}
