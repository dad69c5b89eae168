// Aggregation kernels over flat float32 buffers (streaming mean, robust statistics, norms, NaN scan,
// server optimizers, SCAFFOLD control variates, wire quantization). Arithmetic mirrors the TypeScript
// reference in src/aggregate/reference.ts operation for operation in float64 (no contraction: the build
// passes -ffp-contract=off), so results are bit-identical except where a comment says otherwise.
#include <cstring>

#include "simd.h"
#include "table.h"

namespace fedmm {
namespace FEDMM_ISA_NS {

namespace {

constexpr uint32_t kExpMask = 0x7f800000u;
constexpr size_t kScanBlock = 256;

static inline uint32_t bits_of(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
static inline float float_of(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// Largest exponent field in x[n] (vectorizes); equals kExpMask iff some value is Inf or NaN.
static inline uint32_t max_exponent(const float* __restrict x, size_t n) {
  uint32_t m = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t e = bits_of(x[i]) & kExpMask;
    m = m > e ? m : e;
  }
  return m;
}

static inline int64_t first_nonfinite_in(const float* x, size_t n, size_t offset) {
  for (size_t i = 0; i < n; i++) if ((bits_of(x[i]) & kExpMask) == kExpMask) return (int64_t)(offset + i);
  return -1;
}

double sum(const float* __restrict x, size_t n) {
  // 32 independent float64 partial sums (four vector chains on AVX-512) so the loop runs at load
  // bandwidth, not add latency: the read-only baseline the streaming mean is measured against.
  double s[32] = {};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int j = 0; j < 32; j++) s[j] += (double)x[i + j];
  for (; i < n; i++) s[0] += (double)x[i];
  for (int j = 1; j < 32; j++) s[0] += s[j];
  return s[0];
}

int64_t find_nonfinite(const float* x, size_t n) {
  for (size_t i0 = 0; i0 < n; i0 += kScanBlock) {
    const size_t len = imin(kScanBlock, n - i0);
    if (max_exponent(x + i0, len) == kExpMask) return first_nonfinite_in(x + i0, len, i0);
  }
  return -1;
}

int64_t copy_check(const float* __restrict src, float* __restrict dst, size_t n) {
  for (size_t i0 = 0; i0 < n; i0 += kScanBlock) {
    const size_t len = imin(kScanBlock, n - i0);
    uint32_t m = 0;
    for (size_t i = 0; i < len; i++) {
      const float v = src[i0 + i];
      dst[i0 + i] = v;
      const uint32_t e = bits_of(v) & kExpMask;
      m = m > e ? m : e;
    }
    if (m == kExpMask) return first_nonfinite_in(src + i0, len, i0);
  }
  return -1;
}

void fold(double* __restrict acc, const float* const* u, const double* w, size_t G, size_t n) {
  // P-tiles of 1024 float64 (8 KiB, L1-resident): acc is read and written once per tile for all G updates,
  // and each element still receives its G additions in order.
  constexpr size_t T = 1024;
  for (size_t i0 = 0; i0 < n; i0 += T) {
    const size_t len = imin(T, n - i0);
    double* __restrict a = acc + i0;
    for (size_t g = 0; g < G; g++) {
      const float* __restrict x = u[g] + i0;
      const double wg = w[g];
      for (size_t i = 0; i < len; i++) a[i] += wg * (double)x[i];
    }
  }
}

void finish_mean(const double* __restrict acc, double totalW, float* __restrict out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = (float)(acc[i] / totalW);
}

double sum_squares(const float* __restrict x, size_t n) {
  // Eight partial sums (a different summation order from the reference's sequential sum: the results
  // agree to float64 rounding, ~n·2⁻⁵³ relative).
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) { const double v = x[i + j]; s[j] += v * v; }
  for (; i < n; i++) { const double v = x[i]; s[0] += v * v; }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

void scale(float* __restrict x, float s, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] *= s;
}

// Ascending sort of v[n]: insertion sort for small n, heap sort above (both give the same order as any
// correct sort, so sums over the sorted values match the reference exactly).
void sort_floats(float* v, size_t n) {
  if (n <= 32) {
    for (size_t i = 1; i < n; i++) {
      const float x = v[i];
      size_t j = i;
      while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
      v[j] = x;
    }
    return;
  }
  auto sift = [v](size_t root, size_t end) {
    while (2 * root + 1 < end) {
      size_t child = 2 * root + 1;
      if (child + 1 < end && v[child] < v[child + 1]) child++;
      if (!(v[root] < v[child])) return;
      const float t = v[root]; v[root] = v[child]; v[child] = t;
      root = child;
    }
  };
  for (size_t s = n / 2; s-- > 0;) sift(s, n);
  for (size_t end = n - 1; end > 0; end--) {
    const float t = v[0]; v[0] = v[end]; v[end] = t;
    sift(0, end);
  }
}

void median(const float* const* u, size_t K, size_t P, float* __restrict out, float* scratch) {
  for (size_t i = 0; i < P; i++) {
    for (size_t k = 0; k < K; k++) scratch[k] = u[k][i];
    sort_floats(scratch, K);
    out[i] = (K & 1) ? scratch[K / 2] : (float)(((double)scratch[K / 2 - 1] + (double)scratch[K / 2]) / 2.0);
  }
}

void trimmed_mean(const float* const* u, size_t K, size_t P, size_t trim, float* __restrict out, float* scratch) {
  const double kept = (double)(K - 2 * trim);
  for (size_t i = 0; i < P; i++) {
    for (size_t k = 0; k < K; k++) scratch[k] = u[k][i];
    sort_floats(scratch, K);
    double s = 0;
    for (size_t k = trim; k < K - trim; k++) s += (double)scratch[k];
    out[i] = (float)(s / kept);
  }
}

void fedopt_step(int rule, float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                 size_t n, double lr, double beta1, double beta2, double tau) {
  for (size_t i = 0; i < n; i++) {
    const double gi = g[i];
    const float mi = (float)(beta1 * (double)m[i] + (1.0 - beta1) * gi);
    const double g2 = gi * gi;
    const double vo = v[i];
    double vn;
    if (rule == 0) vn = beta2 * vo + (1.0 - beta2) * g2;
    else if (rule == 1) vn = vo - (1.0 - beta2) * g2 * (vo > g2 ? 1.0 : (vo < g2 ? -1.0 : 0.0));
    else vn = vo + g2;
    const float vi = (float)vn;
    m[i] = mi;
    v[i] = vi;
    p[i] = (float)((double)p[i] - lr * (double)mi / (__builtin_sqrt((double)vi) + tau));
  }
}

void server_sgd_step(float* __restrict p, const float* __restrict g, float* __restrict m, size_t n, double lr,
                     double momentum) {
  if (momentum == 0.0 || m == nullptr) {
    for (size_t i = 0; i < n; i++) p[i] = (float)((double)p[i] - lr * (double)g[i]);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const float mi = (float)(momentum * (double)m[i] + (double)g[i]);
    m[i] = mi;
    p[i] = (float)((double)p[i] - lr * (double)mi);
  }
}

void scaffold_client(const float* __restrict ci, const float* __restrict c, const float* __restrict dw,
                     double invKlr, float* __restrict out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = (float)(((double)ci[i] - (double)c[i]) + (double)dw[i] * invKlr);
}

void scaffold_accumulate(double* __restrict acc, const float* __restrict ciNew, const float* __restrict ciOld,
                         size_t n) {
  for (size_t i = 0; i < n; i++) acc[i] += (double)ciNew[i] - (double)ciOld[i];
}

void scaffold_apply(float* __restrict c, const double* __restrict acc, double invN, size_t n) {
  for (size_t i = 0; i < n; i++) c[i] = (float)((double)c[i] + acc[i] * invN);
}

// float32 → binary16, round to nearest even, integer-only (the reference does the same steps).
static inline uint16_t half_of(float f) {
  const uint32_t x = bits_of(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);             // NaN → quiet NaN
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);             // ≥ 65520 (and Inf) → Inf
  if (ax >= 0x38800000u) {                                              // normal half (≥ 2⁻¹⁴)
    const uint32_t r = ax + 0xc8000fffu + ((ax >> 13) & 1u);            // rebias exponent by −112, round
    return (uint16_t)(sign | (r >> 13));
  }
  const uint32_t e = ax >> 23;                                          // subnormal half or zero
  if (e < 102) return (uint16_t)sign;                                   // < 2⁻²⁵ → ±0
  const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126 - e;                                       // 14..24
  uint32_t q = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) q++;
  return (uint16_t)(sign | q);
}

static inline float float_of_half(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (e == 0) {
    const float mag = (float)man * 5.9604644775390625e-8f;  // man·2⁻²⁴, exact
    return float_of(bits_of(mag) | sign);
  }
  if (e == 31) return float_of(sign | 0x7f800000u | (man << 13) | (man ? 0x400000u : 0u));
  return float_of(sign | ((e + 112u) << 23) | (man << 13));
}

void to_fp16(const float* __restrict x, uint16_t* __restrict h, size_t n) {
  for (size_t i = 0; i < n; i++) h[i] = half_of(x[i]);
}

void from_fp16(const uint16_t* __restrict h, float* __restrict x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = float_of_half(h[i]);
}

int64_t quantize_int8(const float* __restrict x, int8_t* __restrict q, float* __restrict scales, size_t n,
                      size_t block) {
  const int64_t bad = find_nonfinite(x, n);
  if (bad >= 0) return bad;
  for (size_t b = 0, i0 = 0; i0 < n; b++, i0 += block) {
    const size_t len = imin(block, n - i0);
    float amax = 0.0f;
    for (size_t i = 0; i < len; i++) {
      const float a = __builtin_fabsf(x[i0 + i]);
      amax = amax > a ? amax : a;
    }
    scales[b] = amax / 127.0f;
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (size_t i = 0; i < len; i++) {
      float r = __builtin_rintf(x[i0 + i] * inv);  // round half to even (default rounding mode)
      r = r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r);
      q[i0 + i] = (int8_t)r;
    }
  }
  return -1;
}

void dequantize_int8(const int8_t* __restrict q, const float* __restrict scales, float* __restrict x, size_t n,
                     size_t block) {
  for (size_t b = 0, i0 = 0; i0 < n; b++, i0 += block) {
    const size_t len = imin(block, n - i0);
    const float s = scales[b];
    for (size_t i = 0; i < len; i++) x[i0 + i] = (float)q[i0 + i] * s;
  }
}

}  // namespace

void fill_aggregate(KernelTable& t) {
  t.sum = sum;
  t.find_nonfinite = find_nonfinite;
  t.copy_check = copy_check;
  t.fold = fold;
  t.finish_mean = finish_mean;
  t.sum_squares = sum_squares;
  t.scale = scale;
  t.median = median;
  t.trimmed_mean = trimmed_mean;
  t.fedopt_step = fedopt_step;
  t.server_sgd_step = server_sgd_step;
  t.scaffold_client = scaffold_client;
  t.scaffold_accumulate = scaffold_accumulate;
  t.scaffold_apply = scaffold_apply;
  t.to_fp16 = to_fp16;
  t.from_fp16 = from_fp16;
  t.quantize_int8 = quantize_int8;
  t.dequantize_int8 = dequantize_int8;
}

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
