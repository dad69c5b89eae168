// Per-window z-normalisation as FedMultimodal's extractors write it in numpy:
// (x − mean(x, axis=0)) / (std(x, axis=0) + 1e-5), population std, computed in float64.

/** Normalises each of the D columns of a [T, D] float64 window; writes float32 [T, D] into `out`. */
export function zNormalizeColumns(x: Float64Array, T: number, D: number, out: Float32Array): void {
  for (let d = 0; d < D; d++) {
    let sum = 0;
    for (let t = 0; t < T; t++) sum += x[t * D + d];
    const mean = sum / T;
    let ss = 0;
    for (let t = 0; t < T; t++) ss += (x[t * D + d] - mean) ** 2;
    const std = Math.sqrt(ss / T) + 1e-5;
    for (let t = 0; t < T; t++) out[t * D + d] = (x[t * D + d] - mean) / std;
  }
}
