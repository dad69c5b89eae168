// Fused losses with hand-written gradients: cross-entropy, negative log-likelihood, BCE with logits.
// All reduce by the mean, PyTorch's default reduction.
import { kernels } from '../backend/index.js';
import { addGrad, allocFloat, allocKernelOutput, makeOutput, Tensor } from '../tensor/tensor.js';
import { shapeString } from '../tensor/shape.js';

/** Checks logits/logProbs [N, C] against targets[N] with every class index in [0, C). */
function checkClassTargets(op: string, x: Tensor, targets: Int32Array): [number, number] {
  if (x.ndim !== 2) throw new Error(`${op}: expected input [N, C], got ${shapeString(x.shape)}`);
  const [N, C] = x.shape;
  if (!(targets instanceof Int32Array)) throw new Error(`${op}: targets must be an Int32Array of class indices`);
  if (targets.length !== N) throw new Error(`${op}: ${targets.length} targets for a batch of ${N}`);
  if (N === 0) throw new Error(`${op}: empty batch`);
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    if (t < 0 || t >= C) throw new Error(`${op}: target ${t} at position ${n} is out of range [0, ${C})`);
  }
  return [N, C];
}

/**
 * loss = (1/N) Σ_n (log Σ_c exp x[n,c] − x[n, t_n]) — torch.nn.functional.cross_entropy, equal to
 * nllLoss(logSoftmax(x)). Gradient: (softmax(x) − onehot(t)) / N.
 */
export function crossEntropy(logits: Tensor, targets: Int32Array): Tensor {
  const [N, C] = checkClassTargets('crossEntropy', logits, targets);
  const x = logits.data;
  const probs = allocKernelOutput(logits.dtype, x.length);
  const k = kernels();
  const out = allocFloat(logits.dtype, 1);
  out[0] = k.crossEntropyForward(x, targets, probs, N, C);
  return makeOutput(out, [], [logits], (g) => {
    const gx = allocKernelOutput(logits.dtype, x.length);
    k.crossEntropyBackward(probs, targets, g[0] / N, gx, N, C);
    addGrad(logits, gx, true);
  });
}

/** loss = −(1/N) Σ_n logProbs[n, t_n] — torch.nn.functional.nll_loss. */
export function nllLoss(logProbs: Tensor, targets: Int32Array): Tensor {
  const [N, C] = checkClassTargets('nllLoss', logProbs, targets);
  const x = logProbs.data;
  let total = 0;
  for (let n = 0; n < N; n++) total -= x[n * C + targets[n]];
  const out = allocFloat(logProbs.dtype, 1);
  out[0] = total / N;
  return makeOutput(out, [], [logProbs], (g) => {
    const gx = allocFloat(logProbs.dtype, x.length);
    for (let n = 0; n < N; n++) gx[n * C + targets[n]] = -g[0] / N;
    addGrad(logProbs, gx, true);
  });
}

/**
 * loss = (1/n) Σ_i max(x_i, 0) − x_i·y_i + log(1 + exp(−|x_i|)) — torch's binary_cross_entropy_with_logits,
 * stable for any x. Targets (same number of elements, any values in [0, 1]) may be a plain array or a tensor;
 * a tensor that requires grad receives ∂/∂y = −x / n. ∂/∂x = (σ(x) − y) / n.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Float32Array | Float64Array | Tensor): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const y = targets instanceof Tensor ? targets.data : targets;
  if (!(y instanceof Float32Array || y instanceof Float64Array)) throw new Error(`${op}: targets must be a Float32Array, Float64Array or Tensor`);
  const n = logits.size;
  if (y.length !== n) throw new Error(`${op}: ${y.length} targets for logits of shape ${shapeString(logits.shape)}`);
  if (n === 0) throw new Error(`${op}: empty input`);
  const x = logits.data;
  const k = kernels();
  // The kernels take x and y in one dtype (float64 if either is).
  const yd = (x instanceof Float64Array) === (y instanceof Float64Array) ? y : Float64Array.from(y);
  const xd = x instanceof Float64Array || !(yd instanceof Float64Array) ? x : Float64Array.from(x);
  const out = allocFloat(logits.dtype, 1);
  out[0] = k.bceWithLogitsForward(xd, yd, n);
  const inputs = targets instanceof Tensor ? [logits, targets] : [logits];
  return makeOutput(out, [], inputs, (g) => {
    const scale = g[0] / n;
    if (logits.requiresGrad) {
      const gx = allocFloat(xd instanceof Float64Array ? 'float64' : 'float32', n);
      k.bceWithLogitsBackward(xd, yd, scale, gx, n);
      addGrad(logits, gx, true);
    }
    if (targets instanceof Tensor && targets.requiresGrad) {
      const gy = allocFloat(targets.dtype, n);
      for (let i = 0; i < n; i++) gy[i] = -x[i] * scale;
      addGrad(targets, gy, true);
    }
  });
}
