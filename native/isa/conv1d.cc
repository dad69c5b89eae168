// conv1d forward/backward as im2col + GEMM, one batch element at a time (shapes as in kernels.ts):
//   col[Cin·K, Lout] with col[(ci,k), lo] = x[b, ci, lo·stride + k − padding] (0 in the padding)
//   out[b] [Cout, Lout] = w[Cout, Cin·K] · col + bias
//   gw[Cout, Cin·K] = Σ_b gOut[b] · colᵀ;  gcol = wᵀ · gOut[b], scattered back into gx[b] (col2im);
//   gBias[co] = Σ_{b,lo} gOut[b, co, lo].
#include "simd.h"
#include "table.h"

namespace fedmm {
namespace FEDMM_ISA_NS {

void gemm_entry(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* a,
                const float* b, float beta, float* c);

namespace {

// First and last output step whose input position lo·stride + k − padding lies in [0, L), as [first, end).
static inline void valid_range(long k, long L, long Lout, long stride, long padding, long* first, long* end) {
  const long shift = k - padding;
  long f = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  long lastPos = L - 1 - shift;  // lo·stride ≤ lastPos
  long e = lastPos < 0 ? 0 : lastPos / stride + 1;
  if (e > Lout) e = Lout;
  if (f > e) f = e;
  *first = f;
  *end = e;
}

void im2col(const float* __restrict xb, float* __restrict col, long Cin, long L, long K, long Lout, long stride,
            long padding) {
  for (long ci = 0; ci < Cin; ci++) {
    const float* xr = xb + ci * L;
    for (long k = 0; k < K; k++) {
      float* row = col + (ci * K + k) * Lout;
      long first, end;
      valid_range(k, L, Lout, stride, padding, &first, &end);
      for (long lo = 0; lo < first; lo++) row[lo] = 0.0f;
      const float* src = xr + first * stride + k - padding;
      if (stride == 1) for (long lo = first; lo < end; lo++) row[lo] = src[lo - first];
      else for (long lo = first; lo < end; lo++) row[lo] = src[(lo - first) * stride];
      for (long lo = end; lo < Lout; lo++) row[lo] = 0.0f;
    }
  }
}

void col2im_add(const float* __restrict gcol, float* __restrict gxb, long Cin, long L, long K, long Lout, long stride,
                long padding) {
  for (long ci = 0; ci < Cin; ci++) {
    float* gr = gxb + ci * L;
    for (long k = 0; k < K; k++) {
      const float* row = gcol + (ci * K + k) * Lout;
      long first, end;
      valid_range(k, L, Lout, stride, padding, &first, &end);
      float* dst = gr + first * stride + k - padding;
      for (long lo = first; lo < end; lo++) dst[(lo - first) * stride] += row[lo];
    }
  }
}

void conv1d_forward(const float* x, const float* w, const float* bias, float* out, size_t B, size_t Cin, size_t L,
                    size_t Cout, size_t K, size_t stride, size_t padding, size_t Lout) {
  const size_t CK = Cin * K;
  float* col = scratch_floats(2, CK * Lout + 1);
  for (size_t b = 0; b < B; b++) {
    float* ob = out + b * Cout * Lout;
    im2col(x + b * Cin * L, col, (long)Cin, (long)L, (long)K, (long)Lout, (long)stride, (long)padding);
    if (bias) {
      for (size_t co = 0; co < Cout; co++)
        for (size_t lo = 0; lo < Lout; lo++) ob[co * Lout + lo] = bias[co];
    }
    gemm_entry(false, false, Cout, Lout, CK, 1.0f, w, col, bias ? 1.0f : 0.0f, ob);
  }
}

void conv1d_backward(const float* x, const float* w, const float* gOut, float* gx, float* gw, float* gBias,
                     size_t B, size_t Cin, size_t L, size_t Cout, size_t K, size_t stride, size_t padding,
                     size_t Lout) {
  const size_t CK = Cin * K;
  float* col = scratch_floats(2, CK * Lout + 1);
  float* gcol = scratch_floats(3, CK * Lout + 1);
  if (gBias) {
    for (size_t co = 0; co < Cout; co++) gBias[co] = 0.0f;
    for (size_t b = 0; b < B; b++)
      for (size_t co = 0; co < Cout; co++) {
        const float* g = gOut + (b * Cout + co) * Lout;
        float s = 0.0f;
        for (size_t lo = 0; lo < Lout; lo++) s += g[lo];
        gBias[co] += s;
      }
  }
  if (gw && B == 0) for (size_t i = 0; i < Cout * CK; i++) gw[i] = 0.0f;
  for (size_t b = 0; b < B; b++) {
    const float* gb = gOut + b * Cout * Lout;
    if (gw) {
      im2col(x + b * Cin * L, col, (long)Cin, (long)L, (long)K, (long)Lout, (long)stride, (long)padding);
      gemm_entry(false, true, Cout, CK, Lout, 1.0f, gb, col, b == 0 ? 0.0f : 1.0f, gw);
    }
    if (gx) {
      float* gxb = gx + b * Cin * L;
      for (size_t i = 0; i < Cin * L; i++) gxb[i] = 0.0f;
      gemm_entry(true, false, CK, Lout, Cout, 1.0f, w, gb, 0.0f, gcol);
      col2im_add(gcol, gxb, (long)Cin, (long)L, (long)K, (long)Lout, (long)stride, (long)padding);
    }
  }
}

}  // namespace

void fill_conv1d(KernelTable& t) {
  t.conv1d_forward = conv1d_forward;
  t.conv1d_backward = conv1d_backward;
}

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
