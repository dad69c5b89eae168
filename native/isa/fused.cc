// Fused layer kernels (shapes and equations as in src/backend/kernels.ts, where each has its TypeScript
// reference in src/backend/js): Conv1d → ReLU → MaxPool1d → dropout mask; Linear → activation → dropout
// mask; FedMultimodal's attention fusion; softmax cross-entropy and BCE with logits; dropout masks from
// xoshiro128**. Each runs its GEMMs through this variant's gemm and keeps intermediates in thread scratch;
// the conv block runs one GEMM over the whole batch (im2col of every sample side by side).
#include <cmath>

#include "simd.h"
#include "table.h"

namespace fedmm {
namespace FEDMM_ISA_NS {

void gemm_entry(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* a,
                const float* b, float beta, float* c);

namespace {

enum Act : int { kNone = 0, kRelu = 1, kTanh = 2 };

static inline float relu(float v) { return v > 0.0f || v != v ? v : 0.0f; }

// Output steps lo whose input position lo·stride + k − padding lies in [0, L), as [first, end).
void valid_steps(size_t k, size_t L, size_t Lout, size_t stride, size_t padding, size_t* first, size_t* end) {
  const long shift = (long)k - (long)padding;
  long f = shift >= 0 ? 0 : (-shift + (long)stride - 1) / (long)stride;
  const long lastPos = (long)L - 1 - shift;
  long e = lastPos < 0 ? 0 : lastPos / (long)stride + 1;
  if (e > (long)Lout) e = (long)Lout;
  if (f > e) f = e;
  *first = (size_t)f;
  *end = (size_t)e;
}

// The whole batch's im2col: col[Cin·K, B·Lout], col[(ci,k), b·Lout + lo] = x[b, ci, lo·stride + k − padding]
// (0 in the padding), so that one GEMM of N = B·Lout columns serves every sample.
void im2col_batch(const float* x, float* col, size_t B, size_t Cin, size_t L, size_t K, size_t Lout, size_t stride,
                  size_t padding) {
  const size_t N = B * Lout;
  for (size_t ci = 0; ci < Cin; ci++)
    for (size_t k = 0; k < K; k++) {
      float* row = col + (ci * K + k) * N;
      size_t first, end;
      valid_steps(k, L, Lout, stride, padding, &first, &end);
      for (size_t b = 0; b < B; b++) {
        const float* src = x + (b * Cin + ci) * L + first * stride + k - padding;
        float* dst = row + b * Lout;
        for (size_t lo = 0; lo < first; lo++) dst[lo] = 0.0f;
        if (stride == 1) for (size_t lo = first; lo < end; lo++) dst[lo] = src[lo - first];
        else for (size_t lo = first; lo < end; lo++) dst[lo] = src[(lo - first) * stride];
        for (size_t lo = end; lo < Lout; lo++) dst[lo] = 0.0f;
      }
    }
}

// gx[b, ci, lo·stride + k − padding] += gcol[(ci,k), b·Lout + lo] (gx zeroed first)
void col2im_batch(const float* gcol, float* gx, size_t B, size_t Cin, size_t L, size_t K, size_t Lout, size_t stride,
                  size_t padding) {
  const size_t N = B * Lout;
  for (size_t i = 0; i < B * Cin * L; i++) gx[i] = 0.0f;
  for (size_t ci = 0; ci < Cin; ci++)
    for (size_t k = 0; k < K; k++) {
      const float* row = gcol + (ci * K + k) * N;
      size_t first, end;
      valid_steps(k, L, Lout, stride, padding, &first, &end);
      for (size_t b = 0; b < B; b++) {
        float* dst = gx + (b * Cin + ci) * L + first * stride + k - padding;
        const float* src = row + b * Lout;
        if (stride == 1) for (size_t lo = first; lo < end; lo++) dst[lo - first] += src[lo];
        else for (size_t lo = first; lo < end; lo++) dst[(lo - first) * stride] += src[lo];
      }
    }
}

// Windows of 2 with stride 2 (the encoders' pooling) over one row, p in [p0, P): e = relu(zr[2p]),
// o = relu(zr[2p+1]); the odd one is taken when (o > e or o is NaN) and e is not NaN (first maximum wins, a
// NaN wins and stays); pooled[p], argmax[p] = 2p or 2p+1.
static inline void pool2_scalar(const float* zr, float* pooled, int32_t* argmax, size_t p0, size_t P) {
  for (size_t p = p0; p < P; p++) {
    const float e = relu(zr[2 * p]), o = relu(zr[2 * p + 1]);
    const bool take = (o > e || o != o) && e == e;
    pooled[p] = take ? o : e;
    argmax[p] = (int32_t)(2 * p) + (take ? 1 : 0);
  }
}

// pool2_scalar's equations a vector of windows at a time (the same selects, so the same bits); returns the
// first p left for the scalar tail.
#if defined(__AVX512F__)
static inline __m512 relu_v(__m512 v) {
  const __mmask16 keep = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  return _mm512_maskz_mov_ps(keep, v);
}
static size_t pool2_vector(const float* zr, float* pooled, int32_t* argmax, size_t P) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  size_t p = 0;
  for (; p + 16 <= P; p += 16) {
    const __m512 lo = _mm512_loadu_ps(zr + 2 * p), hi = _mm512_loadu_ps(zr + 2 * p + 16);
    const __m512 e = relu_v(_mm512_permutex2var_ps(lo, evens, hi));
    const __m512 o = relu_v(_mm512_permutex2var_ps(lo, odds, hi));
    const __mmask16 take = (_mm512_cmp_ps_mask(o, e, _CMP_GT_OQ) | _mm512_cmp_ps_mask(o, o, _CMP_UNORD_Q)) &
                           _mm512_cmp_ps_mask(e, e, _CMP_ORD_Q);
    _mm512_storeu_ps(pooled + p, _mm512_mask_blend_ps(take, e, o));
    const __m512i base = _mm512_add_epi32(evens, _mm512_set1_epi32((int32_t)(2 * p)));
    _mm512_storeu_si512(argmax + p, _mm512_mask_add_epi32(base, take, base, _mm512_set1_epi32(1)));
  }
  return p;
}
#elif defined(__AVX2__)
static inline __m256 relu_v(__m256 v) {
  const __m256 keep = _mm256_or_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  return _mm256_and_ps(keep, v);
}
static size_t pool2_vector(const float* zr, float* pooled, int32_t* argmax, size_t P) {
  const __m256i steps = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  size_t p = 0;
  for (; p + 8 <= P; p += 8) {
    const __m256 lo = _mm256_loadu_ps(zr + 2 * p), hi = _mm256_loadu_ps(zr + 2 * p + 8);
    // shuffle_ps works per 128-bit lane: [l0 l2 h0 h2 | l4 l6 h4 h6] → permute the 64-bit pairs into order
    const __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    const __m256 od = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    const __m256 e = relu_v(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0))));
    const __m256 o = relu_v(_mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(od), _MM_SHUFFLE(3, 1, 2, 0))));
    const __m256 take = _mm256_and_ps(_mm256_or_ps(_mm256_cmp_ps(o, e, _CMP_GT_OQ), _mm256_cmp_ps(o, o, _CMP_UNORD_Q)),
                                      _mm256_cmp_ps(e, e, _CMP_ORD_Q));
    _mm256_storeu_ps(pooled + p, _mm256_blendv_ps(e, o, take));
    const __m256i base = _mm256_add_epi32(steps, _mm256_set1_epi32((int32_t)(2 * p)));
    const __m256i one = _mm256_and_si256(_mm256_castps_si256(take), _mm256_set1_epi32(1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(argmax + p), _mm256_add_epi32(base, one));
  }
  return p;
}
#else
static size_t pool2_vector(const float*, float*, int32_t*, size_t) { return 0; }
#endif

// One row of relu → max pooling → mask: pooled[p] = max over the window of relu(z) (first maximum wins; a NaN
// wins and stays), argmax[p] its index, out[p] = pooled[p]·mask[p] (mask null: pooled[p]). Selects, not
// branches (the data is random).
void pool_row(const float* zr, const float* mask, float* pooled, int32_t* argmax, float* out, size_t poolK,
              size_t poolS, size_t P) {
  if (poolK == 2 && poolS == 2) {
    pool2_scalar(zr, pooled, argmax, pool2_vector(zr, pooled, argmax, P), P);
  } else {
    for (size_t p = 0; p < P; p++) {
      const size_t start = p * poolS;
      size_t best = start;
      float bv = relu(zr[start]);
      for (size_t k = 1; k < poolK; k++) {
        const float v = relu(zr[start + k]);
        const bool take = (v > bv || v != v) && bv == bv;
        bv = take ? v : bv;
        best = take ? start + k : best;
      }
      pooled[p] = bv;
      argmax[p] = (int32_t)best;
    }
  }
  if (mask) for (size_t p = 0; p < P; p++) out[p] = pooled[p] * mask[p];
  else if (out != pooled) for (size_t p = 0; p < P; p++) out[p] = pooled[p];
}

// pool_row without the argmax (forward only): the same pooled bits, in a loop that vectorizes.
void pool_row_forward_only(const float* zr, const float* mask, float* pooled, float* out, size_t poolK, size_t poolS,
                           size_t P) {
  if (poolK == 2 && poolS == 2) {
    // max of the two relus; a NaN pair member wins as in pool_row: e0 + o0 is e0 when e0 is NaN, else o0
    // (IEEE returns the NaN operand, the first when both are). Written as selects so the loop vectorizes.
    for (size_t p = 0; p < P; p++) {
      const float e0 = zr[2 * p], o0 = zr[2 * p + 1];
      const float e = e0 > 0.0f ? e0 : 0.0f, o = o0 > 0.0f ? o0 : 0.0f;
      const float m = o > e ? o : e;
      pooled[p] = (e0 != e0) | (o0 != o0) ? e0 + o0 : m;
    }
  } else {
    for (size_t p = 0; p < P; p++) {
      const float* win = zr + p * poolS;
      float bv = relu(win[0]);
      for (size_t k = 1; k < poolK; k++) {
        const float v = relu(win[k]);
        bv = (v > bv || v != v) && bv == bv ? v : bv;
      }
      pooled[p] = bv;
    }
  }
  if (mask) for (size_t p = 0; p < P; p++) out[p] = pooled[p] * mask[p];
  else if (out != pooled) for (size_t p = 0; p < P; p++) out[p] = pooled[p];
}

// z[Cout, B·Lout] = w[Cout, Cin·K] · col + bias → r = relu(z) → pooled/argmax over windows → out = pooled ⊙ mask
// (argmax null: forward only)
// Floats of col and z per chunk of samples: the batch runs in chunks whose im2col and conv output stay in L2
// (each column of the GEMM is computed alone, so chunking does not change a bit).
constexpr size_t kConvChunkFloats = 96 * 1024;

void conv_block_forward(const float* x, const float* w, const float* bias, const float* mask, float* pooled,
                        int32_t* argmax, float* out, size_t B, size_t Cin, size_t L, size_t Cout, size_t K,
                        size_t stride, size_t padding, size_t Lout, size_t poolK, size_t poolS, size_t P) {
  const size_t CK = Cin * K;
  const size_t S = imin(B, imin<size_t>(1, B) + kConvChunkFloats / ((CK + Cout) * Lout));
  float* col = scratch_floats(2, CK * S * Lout + 1);
  float* z = scratch_floats(8, Cout * S * Lout + 1);
  for (size_t b0 = 0; b0 < B; b0 += S) {
    const size_t Bc = imin(S, B - b0), N = Bc * Lout;
    im2col_batch(x + b0 * Cin * L, col, Bc, Cin, L, K, Lout, stride, padding);
    if (bias)
      for (size_t co = 0; co < Cout; co++)
        for (size_t j = 0; j < N; j++) z[co * N + j] = bias[co];
    gemm_entry(false, false, Cout, N, CK, 1.0f, w, col, bias ? 1.0f : 0.0f, z);
    for (size_t b = 0; b < Bc; b++)
      for (size_t co = 0; co < Cout; co++) {
        const size_t r = ((b0 + b) * Cout + co) * P;
        const float* mr = mask ? mask + r : nullptr;
        if (argmax) pool_row(z + co * N + b * Lout, mr, pooled + r, argmax + r, out + r, poolK, poolS, P);
        else pool_row_forward_only(z + co * N + b * Lout, mr, pooled + r, out + r, poolK, poolS, P);
      }
  }
}

// One row of the pooling's backward for windows of 2 with stride 2: gr[Lout] = gOut ⊙ mask routed to each
// window's argmax where pooled > 0, 0 elsewhere (every element written; + 0 turns −0 into +0, as adding into a
// zeroed row does). A vector of windows at a time; returns false, writing nothing, when some argmax is not
// 2p or 2p + 1 (then the caller scatters).
// The windows [p, P) of unpool2_vector one at a time, and the zeros after the last window.
static inline void unpool2_rest(const float* pooled, const int32_t* argmax, const float* mask, const float* gOut, float* gr,
                                size_t p, size_t P, size_t Lout) {
  for (; p < P; p++) {
    const float g = pooled[p] > 0.0f ? (mask ? gOut[p] * mask[p] : gOut[p]) : 0.0f;
    const bool odd = (argmax[p] & 1) != 0;
    gr[2 * p] = (odd ? 0.0f : g) + 0.0f;
    gr[2 * p + 1] = (odd ? g : 0.0f) + 0.0f;
  }
  for (size_t j = 2 * P; j < Lout; j++) gr[j] = 0.0f;
}

#if defined(__AVX512F__)
static bool unpool2_vector(const float* pooled, const int32_t* argmax, const float* mask, const float* gOut, float* gr,
                           size_t P, size_t Lout) {
  const __m512i steps = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i evenBits = _mm512_set1_epi32(~1);
  size_t p = 0;
  for (; p + 16 <= P; p += 16) {
    const __m512i am = _mm512_loadu_si512(argmax + p);
    const __m512i base = _mm512_add_epi32(steps, _mm512_set1_epi32((int32_t)(2 * p)));
    if (_mm512_cmpneq_epi32_mask(_mm512_and_si512(am, evenBits), base) != 0) return false;
  }
  for (size_t q = p; q < P; q++) if ((argmax[q] & ~1) != (int32_t)(2 * q)) return false;
  const __m512 zero = _mm512_setzero_ps();
  const __m512i interleaveLo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i interleaveHi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (p = 0; p + 16 <= P; p += 16) {
    __m512 g = _mm512_loadu_ps(gOut + p);
    if (mask) g = _mm512_mul_ps(g, _mm512_loadu_ps(mask + p));
    const __mmask16 valid = _mm512_cmp_ps_mask(_mm512_loadu_ps(pooled + p), zero, _CMP_GT_OQ);
    const __mmask16 odd = _mm512_test_epi32_mask(_mm512_loadu_si512(argmax + p), _mm512_set1_epi32(1));
    const __m512 ge = _mm512_add_ps(_mm512_maskz_mov_ps(valid & ~odd, g), zero);
    const __m512 go = _mm512_add_ps(_mm512_maskz_mov_ps(valid & odd, g), zero);
    _mm512_storeu_ps(gr + 2 * p, _mm512_permutex2var_ps(ge, interleaveLo, go));
    _mm512_storeu_ps(gr + 2 * p + 16, _mm512_permutex2var_ps(ge, interleaveHi, go));
  }
  unpool2_rest(pooled, argmax, mask, gOut, gr, p, P, Lout);
  return true;
}
#elif defined(__AVX2__)
static bool unpool2_vector(const float* pooled, const int32_t* argmax, const float* mask, const float* gOut, float* gr,
                           size_t P, size_t Lout) {
  const __m256i steps = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i evenBits = _mm256_set1_epi32(~1), one = _mm256_set1_epi32(1);
  size_t p = 0;
  for (; p + 8 <= P; p += 8) {
    const __m256i am = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(argmax + p));
    const __m256i base = _mm256_add_epi32(steps, _mm256_set1_epi32((int32_t)(2 * p)));
    if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(_mm256_and_si256(am, evenBits), base)) != -1) return false;
  }
  for (size_t q = p; q < P; q++) if ((argmax[q] & ~1) != (int32_t)(2 * q)) return false;
  const __m256 zero = _mm256_setzero_ps();
  for (p = 0; p + 8 <= P; p += 8) {
    __m256 g = _mm256_loadu_ps(gOut + p);
    if (mask) g = _mm256_mul_ps(g, _mm256_loadu_ps(mask + p));
    const __m256 valid = _mm256_cmp_ps(_mm256_loadu_ps(pooled + p), zero, _CMP_GT_OQ);
    const __m256i am = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(argmax + p));
    const __m256 odd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(am, one), one));
    const __m256 gv = _mm256_and_ps(valid, g);
    const __m256 ge = _mm256_add_ps(_mm256_andnot_ps(odd, gv), zero);
    const __m256 go = _mm256_add_ps(_mm256_and_ps(odd, gv), zero);
    const __m256 lo = _mm256_unpacklo_ps(ge, go), hi = _mm256_unpackhi_ps(ge, go);
    _mm256_storeu_ps(gr + 2 * p, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(gr + 2 * p + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
  }
  unpool2_rest(pooled, argmax, mask, gOut, gr, p, P, Lout);
  return true;
}
#else
static bool unpool2_vector(const float*, const int32_t*, const float*, const float*, float*, size_t, size_t) {
  return false;
}
#endif

// Σ x[n] in VW lane sums (lane i mod VW over whole vectors), then the lanes and the tail in order: a row sum
// that vectorizes (a single running float sum is a serial chain of adds).
static inline float row_sum(const float* x, size_t n) {
  vf acc = vzero();
  size_t i = 0;
  for (; i + VW <= n; i += VW) acc = vadd(acc, vload(x + i));
  alignas(64) float lanes[VW];
  vstore(lanes, acc);
  float s = 0.0f;
  for (int l = 0; l < VW; l++) s += lanes[l];
  for (; i < n; i++) s += x[i];
  return s;
}

// Σ x[n]·y[n] in the same lane order as row_sum.
static inline float dot(const float* x, const float* y, size_t n) {
  vf acc = vzero();
  size_t i = 0;
  for (; i + VW <= n; i += VW) acc = vfmadd(vload(x + i), vload(y + i), acc);
  alignas(64) float lanes[VW];
  vstore(lanes, acc);
  float s = 0.0f;
  for (int l = 0; l < VW; l++) s += lanes[l];
  for (; i < n; i++) s += x[i] * y[i];
  return s;
}

// gz[Cout, B·Lout] = scatter of gOut ⊙ mask where pooled > 0; gBias = row sums; gw = gz · colᵀ; gcol = wᵀ · gz → gx
void conv_block_backward(const float* x, const float* w, const float* pooled, const int32_t* argmax,
                         const float* mask, const float* gOut, float* gx, float* gw, float* gBias, size_t B,
                         size_t Cin, size_t L, size_t Cout, size_t K, size_t stride, size_t padding, size_t Lout,
                         size_t P) {
  const size_t CK = Cin * K, N = B * Lout;
  float* gz = scratch_floats(8, Cout * N + 1);
  for (size_t b = 0; b < B; b++)
    for (size_t co = 0; co < Cout; co++) {
      float* gr = gz + co * N + b * Lout;
      const size_t r = b * Cout + co;
      if (2 * P <= Lout &&
          unpool2_vector(pooled + r * P, argmax + r * P, mask ? mask + r * P : nullptr, gOut + r * P, gr, P, Lout))
        continue;
      for (size_t j = 0; j < Lout; j++) gr[j] = 0.0f;
      for (size_t p = 0; p < P; p++) {
        const size_t i = r * P + p;
        if (pooled[i] > 0.0f) gr[argmax[i]] += mask ? gOut[i] * mask[i] : gOut[i];
      }
    }
  if (gBias)
    for (size_t co = 0; co < Cout; co++) gBias[co] = row_sum(gz + co * N, N);
  if (gw) {
    float* col = scratch_floats(2, CK * N + 1);
    im2col_batch(x, col, B, Cin, L, K, Lout, stride, padding);
    gemm_entry(false, true, Cout, CK, N, 1.0f, gz, col, 0.0f, gw);
  }
  if (gx) {
    float* gcol = scratch_floats(3, CK * N + 1);
    gemm_entry(true, false, CK, N, Cout, 1.0f, w, gz, 0.0f, gcol);
    col2im_batch(gcol, gx, B, Cin, L, K, Lout, stride, padding);
  }
}

void apply_act(float* y, size_t n, int act) {
  if (act == kRelu) {
    for (size_t i = 0; i < n; i++) y[i] = relu(y[i]);
  } else if (act == kTanh) {
    for (size_t i = 0; i < n; i++) y[i] = tanhf_(y[i]);
  }
}

void linear_forward(const float* x, const float* w, const float* bias, int act, const float* mask, float* y,
                    float* out, size_t M, size_t N, size_t K) {
  if (bias)
    for (size_t m = 0; m < M; m++)
      for (size_t j = 0; j < N; j++) y[m * N + j] = bias[j];
  gemm_entry(false, true, M, N, K, 1.0f, x, w, bias ? 1.0f : 0.0f, y);
  apply_act(y, M * N, act);
  if (mask) for (size_t i = 0; i < M * N; i++) out[i] = y[i] * mask[i];
  else if (out != y) for (size_t i = 0; i < M * N; i++) out[i] = y[i];
}

// gz = gOut ⊙ mask ⊙ act'(y); gx = gz·w + betaGx·gx; gw = gzᵀ·x; gBias = Σ_m gz
void linear_backward_into(const float* x, const float* w, const float* y, int act, const float* mask,
                          const float* gOut, float* gx, float betaGx, float* gw, float* gBias, size_t M, size_t N,
                          size_t K) {
  float* gz = scratch_floats(6, M * N + 1);
  for (size_t i = 0; i < M * N; i++) {
    float g = mask ? gOut[i] * mask[i] : gOut[i];
    if (act == kRelu) g = y[i] > 0.0f ? g : 0.0f;
    else if (act == kTanh) g *= 1.0f - y[i] * y[i];
    gz[i] = g;
  }
  if (gx) gemm_entry(false, false, M, K, N, 1.0f, gz, w, betaGx, gx);
  if (gw) gemm_entry(true, false, N, K, M, 1.0f, gz, x, 0.0f, gw);
  if (gBias) {
    for (size_t j = 0; j < N; j++) gBias[j] = 0.0f;
    for (size_t m = 0; m < M; m++)
      for (size_t j = 0; j < N; j++) gBias[j] += gz[m * N + j];
  }
}

void linear_backward(const float* x, const float* w, const float* y, int act, const float* mask, const float* gOut,
                     float* gx, float* gw, float* gBias, size_t M, size_t N, size_t K) {
  linear_backward_into(x, w, y, act, mask, gOut, gx, 0.0f, gw, gBias, M, N, K);
}

constexpr float kMaskedScore = -1e5f;

// Samples [b0, b1) of the attention after the scores s[B·T, heads]: masked softmax over time per head into
// a[b, k, ·], then out[b, k·D + j] = Σ_t a[b,k,t]·h[b,t,j].
void attend(const float* h, const float* mask, const float* s, float* a, float* out, size_t b0, size_t b1, size_t T,
            size_t D, size_t heads) {
  for (size_t b = b0; b < b1; b++) {
    for (size_t k = 0; k < heads; k++) {
      float* ak = a + (b * heads + k) * T;
      float m = -__builtin_inff();
      for (size_t t = 0; t < T; t++) {
        const float v = mask[b * T + t] == 0.0f ? kMaskedScore : s[(b * T + t) * heads + k];
        ak[t] = v;
        m = v > m ? v : m;
      }
      float sum = 0.0f;
      for (size_t t = 0; t < T; t++) {
        ak[t] = fast_expf(ak[t] - m);
        sum += ak[t];
      }
      const float inv = 1.0f / sum;
      for (size_t t = 0; t < T; t++) ak[t] *= inv;
      float* o = out + (b * heads + k) * D;
      for (size_t j = 0; j < D; j++) o[j] = 0.0f;
      for (size_t t = 0; t < T; t++) {
        const float at = ak[t];
        const float* hr = h + (b * T + t) * D;
        for (size_t j = 0; j < D; j++) o[j] += at * hr[j];
      }
    }
  }
}

// Rows of the scoring MLP per pass when u is not kept: u's chunk [~kAttentionRows, hidden] stays in L2.
constexpr size_t kAttentionRows = 256;

// (u null: forward only; the MLP and the softmax then run over chunks of whole samples, their u in scratch
// and their h still in cache, with the same bits per row)
void attention_forward(const float* h, const float* mask, const float* w1, const float* b1, const float* w2,
                       const float* b2, float* u, float* a, float* out, size_t B, size_t T, size_t D, size_t hidden,
                       size_t heads) {
  const size_t rows = B * T;
  float* s = scratch_floats(5, rows * heads + 1);
  if (u) {
    linear_forward(h, w1, b1, kTanh, nullptr, u, u, rows, hidden, D);
    linear_forward(u, w2, b2, kNone, nullptr, s, s, rows, heads, hidden);
    attend(h, mask, s, a, out, 0, B, T, D, heads);
    return;
  }
  const size_t S = imin(B, T < kAttentionRows ? kAttentionRows / T : 1);
  float* uc = scratch_floats(7, S * T * hidden + 1);
  for (size_t b0 = 0; b0 < B; b0 += S) {
    const size_t bEnd = imin(B, b0 + S), r0 = b0 * T, n = (bEnd - b0) * T;
    linear_forward(h + r0 * D, w1, b1, kTanh, nullptr, uc, uc, n, hidden, D);
    linear_forward(uc, w2, b2, kNone, nullptr, s + r0 * heads, s + r0 * heads, n, heads, hidden);
    attend(h, mask, s, a, out, b0, bEnd, T, D, heads);
  }
}

void attention_backward(const float* h, const float* mask, const float* w1, const float* w2, const float* u,
                        const float* a, const float* gOut, float* gh, float* gw1, float* gb1, float* gw2, float* gb2,
                        size_t B, size_t T, size_t D, size_t hidden, size_t heads) {
  const size_t rows = B * T;
  float* gS = scratch_floats(5, rows * heads + 1);
  if (gh) for (size_t i = 0; i < rows * D; i++) gh[i] = 0.0f;
  for (size_t b = 0; b < B; b++) {
    for (size_t k = 0; k < heads; k++) {
      const float* ak = a + (b * heads + k) * T;
      const float* go = gOut + (b * heads + k) * D;
      float aDotG = 0.0f;
      for (size_t t = 0; t < T; t++) {
        const float* hr = h + (b * T + t) * D;
        const float acc = dot(go, hr, D);
        if (gh) {
          float* gr = gh + (b * T + t) * D;
          const float at = ak[t];
          for (size_t j = 0; j < D; j++) gr[j] += at * go[j];
        }
        gS[(b * T + t) * heads + k] = acc;  // gA for now
        aDotG += ak[t] * acc;
      }
      for (size_t t = 0; t < T; t++) {
        float& g = gS[(b * T + t) * heads + k];
        g = mask[b * T + t] == 0.0f ? 0.0f : ak[t] * (g - aDotG);
      }
    }
  }
  float* gu = scratch_floats(7, rows * hidden + 1);
  linear_backward_into(u, w2, nullptr, kNone, nullptr, gS, gu, 0.0f, gw2, gb2, rows, heads, hidden);
  linear_backward_into(h, w1, u, kTanh, nullptr, gu, gh, 1.0f, gw1, gb1, rows, hidden, D);
}

double cross_entropy_forward(const float* x, const int32_t* targets, float* probs, size_t N, size_t C) {
  double total = 0.0;
  for (size_t n = 0; n < N; n++) {
    const float* row = x + n * C;
    float* pr = probs + n * C;
    double m = -__builtin_inf();
    for (size_t c = 0; c < C; c++) m = row[c] > m ? row[c] : m;
    double s = 0.0;
    for (size_t c = 0; c < C; c++) {
      const double e = std::exp((double)row[c] - m);
      pr[c] = (float)e;
      s += (double)pr[c];
    }
    for (size_t c = 0; c < C; c++) pr[c] = (float)((double)pr[c] / s);
    total += m + std::log(s) - (double)row[targets[n]];
  }
  return total / (double)N;
}

void cross_entropy_backward(const float* probs, const int32_t* targets, double scale, float* gx, size_t N, size_t C) {
  for (size_t i = 0; i < N * C; i++) gx[i] = (float)((double)probs[i] * scale);
  for (size_t n = 0; n < N; n++) gx[n * C + targets[n]] = (float)((double)gx[n * C + targets[n]] - scale);
}

double bce_forward(const float* x, const float* y, size_t n) {
  double total = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    total += (v > 0.0 ? v : 0.0) - v * (double)y[i] + std::log1p(std::exp(-std::fabs(v)));
  }
  return total / (double)n;
}

void bce_backward(const float* x, const float* y, double scale, float* gx, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    const double sig = v >= 0.0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
    gx[i] = (float)((sig - (double)y[i]) * scale);
  }
}

static inline uint32_t rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

// The draws go through a small buffer: the generator's loop carries only its integer recurrence, and the
// compare-and-select over the buffer vectorizes. draw < threshold for an integer draw ⇔ draw < ⌈threshold⌉.
void dropout_mask(uint32_t* state, double threshold, float scale, float* mask, size_t n) {
  uint32_t s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
  const double limit = std::ceil(threshold);
  const bool dropAll = limit >= 4294967296.0;
  const uint32_t below = limit <= 0.0 ? 0u : dropAll ? 0u : (uint32_t)limit;
  constexpr size_t kChunk = 256;
  alignas(64) uint32_t draws[kChunk];
  for (size_t i0 = 0; i0 < n; i0 += kChunk) {
    const size_t m = n - i0 < kChunk ? n - i0 : kChunk;
    for (size_t i = 0; i < m; i++) {
      draws[i] = rotl32(s1 * 5u, 7) * 9u;
      const uint32_t t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl32(s3, 11);
    }
    float* out = mask + i0;
    if (dropAll) for (size_t i = 0; i < m; i++) out[i] = 0.0f;
    else for (size_t i = 0; i < m; i++) out[i] = draws[i] < below ? 0.0f : scale;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
}

}  // namespace

void fill_fused(KernelTable& t) {
  t.conv_block_forward = conv_block_forward;
  t.conv_block_backward = conv_block_backward;
  t.linear_forward = linear_forward;
  t.linear_backward = linear_backward;
  t.attention_forward = attention_forward;
  t.attention_backward = attention_backward;
  t.cross_entropy_forward = cross_entropy_forward;
  t.cross_entropy_backward = cross_entropy_backward;
  t.bce_forward = bce_forward;
  t.bce_backward = bce_backward;
  t.dropout_mask = dropout_mask;
}

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
