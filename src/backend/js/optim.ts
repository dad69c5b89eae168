import type { AdamOptions, FloatArray, SgdOptions } from '../kernels.js';

/**
 * PyTorch's SGD over one flat buffer [n]:
 *   d = grad + wd·param;  buf = first step ? d : momentum·buf + (1 − dampening)·d;
 *   d = nesterov ? d + momentum·buf : buf;  param −= lr·d.
 */
export function sgdStep(param: FloatArray, grad: FloatArray, momentumBuf: FloatArray | null, o: SgdOptions): void {
  const { lr, momentum, dampening, nesterov, weightDecay, hasMomentumBuffer } = o;
  const n = param.length;
  if (momentum !== 0 && !momentumBuf) throw new Error('sgdStep: momentum needs a momentum buffer');
  for (let i = 0; i < n; i++) {
    let d = grad[i];
    if (weightDecay !== 0) d += weightDecay * param[i];
    if (momentum !== 0) {
      const buf = hasMomentumBuffer ? momentum * momentumBuf![i] + (1 - dampening) * d : d;
      momentumBuf![i] = buf;
      d = nesterov ? d + momentum * buf : buf;
    }
    param[i] -= lr * d;
  }
}

/**
 * PyTorch's Adam / AdamW over one flat buffer [n]:
 *   AdamW: param *= 1 − lr·wd;  Adam: g = grad + wd·param;
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;
 *   param −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps).
 */
export function adamStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, o: AdamOptions): void {
  const { lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, step } = o;
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, step));
  const decay = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
  const l2 = decoupledWeightDecay ? 0 : weightDecay;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    let p = param[i];
    const g = grad[i] + l2 * p;
    p *= decay;
    const m = (expAvg[i] = beta1 * expAvg[i] + (1 - beta1) * g);
    const v = (expAvgSq[i] = beta2 * expAvgSq[i] + (1 - beta2) * g * g);
    param[i] = p - (stepSize * m) / (Math.sqrt(v) / sqrtBc2 + eps);
  }
}
