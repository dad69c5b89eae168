// Fused optimizer updates over one flat float32 buffer, in place. The float64 arithmetic follows
// src/backend/js/optim.ts step for step (same operation order, no contraction), so results are
// bit-identical to the TypeScript reference.
#include "simd.h"
#include "table.h"

namespace fedmm {
namespace FEDMM_ISA_NS {

namespace {

// PyTorch SGD: d = g + wd·p; buf = hasBuf ? μ·buf + (1−dampening)·d : d; d = nesterov ? d + μ·buf : buf; p −= lr·d
void sgd_step(float* __restrict p, const float* __restrict g, float* __restrict buf, size_t n, double lr,
              double momentum, double dampening, bool nesterov, double wd, bool hasBuf) {
  if (momentum == 0.0) {
    if (wd == 0.0) for (size_t i = 0; i < n; i++) p[i] = (float)((double)p[i] - lr * (double)g[i]);
    else for (size_t i = 0; i < n; i++) {
      const double d = (double)g[i] + wd * (double)p[i];
      p[i] = (float)((double)p[i] - lr * d);
    }
    return;
  }
  const double keep = 1.0 - dampening;
  for (size_t i = 0; i < n; i++) {
    double d = g[i];
    if (wd != 0.0) d += wd * (double)p[i];
    const double b = hasBuf ? momentum * (double)buf[i] + keep * d : d;
    buf[i] = (float)b;
    d = nesterov ? d + momentum * b : b;
    p[i] = (float)((double)p[i] - lr * d);
  }
}

// PyTorch Adam / AdamW: g += l2·p; p *= decay; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g·g;
// p −= stepSize·m / (√v / sqrtBc2 + eps)   (m, v used unrounded, as the reference does)
void adam_step(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, size_t n,
               double beta1, double beta2, double eps, double stepSize, double sqrtBc2, double decay, double l2) {
  const double c1 = 1.0 - beta1, c2 = 1.0 - beta2;
  for (size_t i = 0; i < n; i++) {
    double pi = p[i];
    const double gi = (double)g[i] + l2 * pi;
    pi *= decay;
    const double mi = beta1 * (double)m[i] + c1 * gi;
    const double vi = beta2 * (double)v[i] + c2 * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)(pi - (stepSize * mi) / (__builtin_sqrt(vi) / sqrtBc2 + eps));
  }
}

// x[rows,L] → out[rows,Lout], argmax[rows,Lout]: first maximum of each window; a NaN wins and stops the scan.
void maxpool1d_forward(const float* __restrict x, float* __restrict out, int32_t* __restrict argmax, size_t rows,
                       size_t L, size_t kernel, size_t stride) {
  const size_t Lout = (L - kernel) / stride + 1;
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * L;
    for (size_t o = 0; o < Lout; o++) {
      const size_t start = o * stride;
      size_t best = start;
      float bv = xr[start];
      for (size_t k = 1; k < kernel && bv == bv; k++) {
        const float v = xr[start + k];
        if (v > bv || v != v) { bv = v; best = start + k; }
      }
      out[r * Lout + o] = bv;
      argmax[r * Lout + o] = (int32_t)best;
    }
  }
}

// gx[rows,L] = 0, then gx[r, argmax[r,o]] += gOut[r,o] in window order.
void maxpool1d_backward(const float* __restrict gOut, const int32_t* __restrict argmax, float* __restrict gx,
                        size_t rows, size_t L, size_t Lout) {
  for (size_t i = 0; i < rows * L; i++) gx[i] = 0.0f;
  for (size_t r = 0; r < rows; r++)
    for (size_t o = 0; o < Lout; o++) gx[r * L + argmax[r * Lout + o]] += gOut[r * Lout + o];
}

}  // namespace

void fill_optim(KernelTable& t) {
  t.sgd_step = sgd_step;
  t.adam_step = adam_step;
  t.maxpool1d_forward = maxpool1d_forward;
  t.maxpool1d_backward = maxpool1d_backward;
}

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
