// Aggregation kernels over flat float32 buffers (streaming mean, robust statistics, Krum distances, norms,
// NaN scan, server optimizers, wire quantization, and the read-bandwidth baseline). Arithmetic mirrors the TypeScript
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

uint64_t read_bytes(const uint8_t* p, size_t n) {
  // The machine's read bandwidth for these bytes: every 64-bit word OR-ed into eight independent chains
  // (vector loads and one OR each, as memchr does), the baseline the streaming mean is measured against.
  uint64_t s[8] = {};
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int j = 0; j < 8; j++) { uint64_t w; std::memcpy(&w, p + i + 8 * j, 8); s[j] |= w; }
  for (; i < n; i++) s[0] |= p[i];
  return ((s[0] | s[1]) | (s[2] | s[3])) | ((s[4] | s[5]) | (s[6] | s[7]));
}

int64_t find_nonfinite(const float* x, size_t n) {
  for (size_t i0 = 0; i0 < n; i0 += kScanBlock) {
    const size_t len = imin(kScanBlock, n - i0);
    if (max_exponent(x + i0, len) == kExpMask) return first_nonfinite_in(x + i0, len, i0);
  }
  return -1;
}

#if defined(__AVX512F__)
// a[0..7] (64 doubles) = in[i, i+64) (or +0.0 when in is null) + Σ_g c[g]·u[g][i, i+64), g in order: the one
// summation fold_group_block and fold_finish_block share, so both give the same bits for the same group.
__attribute__((always_inline)) static inline void sum_group_64(const double* __restrict in, const float* const* u, const double* c,
                                                               size_t G, size_t i, __m512d a[8]) {
  for (int r = 0; r < 8; r++) a[r] = in ? _mm512_loadu_pd(in + i + 8 * r) : _mm512_setzero_pd();
  for (size_t g = 0; g < G; g++) {
    const float* x = u[g] + i;
    const __m512d cg = _mm512_set1_pd(c[g]);
    for (int r = 0; r < 8; r++)
      a[r] = _mm512_add_pd(a[r], _mm512_mul_pd(cg, _mm512_cvtps_pd(_mm256_loadu_ps(x + 8 * r))));
  }
}
#endif

// accOut[n] = accIn[n] + Σ_g c[g]·u[g][n] (each element's G products added in g order, float64, no
// contraction: bit-identical to G single folds); accIn null: the sum starts from +0.0 (a first group reads
// no accumulator). Returns true iff every accOut value is finite, which holds
// iff every c[g]·u[g] is finite and nothing overflows: the NaN/Inf check rides on the fold (one
// subtraction per output element, not per input), so each update is read from memory exactly once.
#if defined(__AVX512F__)
template <bool kStream>
static void fold_group_block(const double* __restrict in, double* __restrict out, const float* const* u,
                             const double* c, size_t G, size_t begin, size_t end, __m512d& z) {
  // 64 outputs in 8 registers while every update of the group is added: accIn is read and accOut written
  // once per group, the updates stream through once. kStream: non-temporal stores (out 64-byte aligned), so
  // writing accOut does not first read it into the cache.
  for (size_t i = begin; i < end; i += 64) {
    __m512d a[8];
    sum_group_64(in, u, c, G, i, a);
    for (int r = 0; r < 8; r++) {
      z = _mm512_add_pd(z, _mm512_sub_pd(a[r], a[r]));
      if (kStream) _mm512_stream_pd(out + i + 8 * r, a[r]);
      else _mm512_storeu_pd(out + i + 8 * r, a[r]);
    }
  }
}
#endif

// The portable path over [begin, end): P-tiles of 1024 float64 (L1-resident), out written from in, then
// the G updates added in order; returns Σ (out − out), NaN iff some out value is not finite.
static double fold_group_tiles(const double* __restrict accIn, double* __restrict accOut, const float* const* u,
                               const double* c, size_t G, size_t begin, size_t end) {
  constexpr size_t T = 1024;
  double zs = 0.0;
  for (size_t i0 = begin; i0 < end; i0 += T) {
    const size_t len = imin(T, end - i0);
    double* __restrict a = accOut + i0;
    if (accIn) {
      const double* __restrict b = accIn + i0;
      for (size_t i = 0; i < len; i++) a[i] = b[i];
    } else {
      for (size_t i = 0; i < len; i++) a[i] = 0.0;
    }
    for (size_t g = 0; g < G; g++) {
      const float* __restrict x = u[g] + i0;
      const double cg = c[g];
      for (size_t i = 0; i < len; i++) a[i] += cg * (double)x[i];
    }
    double zt = 0.0;
    for (size_t i = 0; i < len; i++) zt += a[i] - a[i];
    zs += zt;
  }
  return zs;
}

bool fold_group(const double* __restrict accIn, double* __restrict accOut, const float* const* u, const double* c,
                size_t G, size_t n) {
#if defined(__AVX512F__)
  // Streaming stores once the accumulator is far larger than L2 (it then comes from memory anyway).
  constexpr size_t kStreamFrom = size_t(1) << 19;
  const size_t head = n >= kStreamFrom ? imin(n, (size_t)((64 - ((uintptr_t)accOut & 63)) & 63) / 8) : 0;
  const size_t body_end = head + ((n - head) & ~size_t(63));
  double zs = fold_group_tiles(accIn, accOut, u, c, G, 0, head);
  __m512d z = _mm512_setzero_pd();
  if (n >= kStreamFrom && ((uintptr_t)(accOut + head) & 63) == 0) {
    fold_group_block<true>(accIn, accOut, u, c, G, head, body_end, z);
    _mm_sfence();
  } else {
    fold_group_block<false>(accIn, accOut, u, c, G, head, body_end, z);
  }
  zs += _mm512_reduce_add_pd(z);
  zs += fold_group_tiles(accIn, accOut, u, c, G, body_end, n);
  return zs == 0.0;
#else
  return fold_group_tiles(accIn, accOut, u, c, G, 0, n) == 0.0;
#endif
}

// out[n] = (float)((accIn[n] + Σ_g c[g]·u[g][n]) / totalW), accIn null meaning +0.0: fold_group's sums (same
// operations, same order) divided as finish_mean divides them, without writing them; returns true iff every
// sum is finite. A round's last group: its accumulator is neither written nor read back.
#if defined(__AVX512F__)
static void fold_finish_block(const double* __restrict in, const float* const* u, const double* c, size_t G,
                              double totalW, float* __restrict out, size_t begin, size_t end, __m512d& z) {
  const __m512d w = _mm512_set1_pd(totalW);
  for (size_t i = begin; i < end; i += 64) {
    __m512d a[8];
    sum_group_64(in, u, c, G, i, a);
    for (int r = 0; r < 8; r++) {
      z = _mm512_add_pd(z, _mm512_sub_pd(a[r], a[r]));
      _mm256_storeu_ps(out + i + 8 * r, _mm512_cvtpd_ps(_mm512_div_pd(a[r], w)));
    }
  }
}
#endif

// The portable path over [begin, end): P-tiles of 1024 sums on the stack; returns Σ (sum − sum).
static double fold_finish_tiles(const double* __restrict accIn, const float* const* u, const double* c, size_t G,
                                double totalW, float* __restrict out, size_t begin, size_t end) {
  constexpr size_t T = 1024;
  double a[T];
  double zs = 0.0;
  for (size_t i0 = begin; i0 < end; i0 += T) {
    const size_t len = imin(T, end - i0);
    for (size_t i = 0; i < len; i++) a[i] = accIn ? accIn[i0 + i] : 0.0;
    for (size_t g = 0; g < G; g++) {
      const float* __restrict x = u[g] + i0;
      const double cg = c[g];
      for (size_t i = 0; i < len; i++) a[i] += cg * (double)x[i];
    }
    double zt = 0.0;
    for (size_t i = 0; i < len; i++) {
      zt += a[i] - a[i];
      out[i0 + i] = (float)(a[i] / totalW);
    }
    zs += zt;
  }
  return zs;
}

bool fold_finish(const double* __restrict accIn, const float* const* u, const double* c, size_t G, double totalW,
                 float* __restrict out, size_t n) {
#if defined(__AVX512F__)
  const size_t body_end = n & ~size_t(63);
  __m512d z = _mm512_setzero_pd();
  fold_finish_block(accIn, u, c, G, totalW, out, 0, body_end, z);
  return _mm512_reduce_add_pd(z) + fold_finish_tiles(accIn, u, c, G, totalW, out, body_end, n) == 0.0;
#else
  return fold_finish_tiles(accIn, u, c, G, totalW, out, 0, n) == 0.0;
#endif
}

void finish_mean(const double* __restrict acc, double totalW, float* __restrict out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = (float)(acc[i] / totalW);
}

double sum_squares(const float* __restrict x, size_t n) {
  // Eight partial sums, lane i mod 8 (the tail into lane 0), combined as a tree: the reference's order.
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

void add_into(float* __restrict acc, const float* __restrict g, size_t n) {
  for (size_t i = 0; i < n; i++) acc[i] += g[i];
}

// ---- order statistics per coordinate ----
// The K values of kOrderTile coordinates at a time are mapped to int32 keys ordered as the floats are by
// TypedArray.prototype.sort (−0 before +0; inputs are finite) and sorted across the K rows by Batcher's
// merge-exchange network (Knuth, TAOCP 5.2.2, Algorithm M: any K, O(K log² K) comparators): every comparator
// is a min/max over the tile's kOrderTile lanes (branch-free, vectorized), and the tile (K·kOrderTile keys)
// stays in L1/L2 while the network runs, each update being read once, kOrderTile values at a time. Sorted
// columns equal the reference's sorted values exactly, so every statistic below is bit-identical to it.
constexpr size_t TL = kOrderTile;  // lanes (coordinates) per tile

static inline int32_t order_key(float f) {
  int32_t b;
  std::memcpy(&b, &f, 4);
  return b ^ ((b >> 31) & 0x7fffffff);
}

static inline float key_float(int32_t k) {
  const int32_t b = k ^ ((k >> 31) & 0x7fffffff);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

static inline void compare_exchange(int32_t* __restrict a, int32_t* __restrict b) {
  for (size_t j = 0; j < TL; j++) {
    const int32_t x = a[j], y = b[j];
    a[j] = x < y ? x : y;
    b[j] = x < y ? y : x;
  }
}

// keys[K·TL] = the keys of u[k][i0 .. i0 + len) in row k (lanes ≥ len zero), each column then sorted
// ascending by the merge-exchange network, its comparators generated in place (no table: ISA code uses no
// library containers, whose template instances would be shared across the variants).
static void sorted_tile(const float* const* u, size_t K, size_t i0, size_t len, int32_t* __restrict keys) {
  for (size_t k = 0; k < K; k++) {
    const float* __restrict x = u[k] + i0;
    int32_t* __restrict row = keys + k * TL;
    for (size_t j = 0; j < len; j++) row[j] = order_key(x[j]);
    for (size_t j = len; j < TL; j++) row[j] = 0;
  }
  if (K < 2) return;
  size_t t = 0;
  while ((size_t(1) << t) < K) t++;
  for (size_t p = size_t(1) << (t - 1); p > 0; p >>= 1) {
    size_t q = size_t(1) << (t - 1), r = 0, d = p;
    for (;;) {
      for (size_t i = 0; i + d < K; i++)
        if ((i & p) == r) compare_exchange(keys + i * TL, keys + (i + d) * TL);
      if (q == p) break;
      d = q - p;
      q >>= 1;
      r = p;
    }
  }
}

void median(const float* const* u, size_t K, size_t P, float* __restrict out, int32_t* keys) {
  for (size_t i0 = 0; i0 < P; i0 += TL) {
    const size_t len = imin(TL, P - i0);
    sorted_tile(u, K, i0, len, keys);
    const int32_t* hi = keys + (K / 2) * TL;
    if (K & 1) {
      for (size_t j = 0; j < len; j++) out[i0 + j] = key_float(hi[j]);
    } else {
      const int32_t* lo = hi - TL;
      for (size_t j = 0; j < len; j++)
        out[i0 + j] = (float)(((double)key_float(lo[j]) + (double)key_float(hi[j])) / 2.0);
    }
  }
}

void trimmed_mean(const float* const* u, size_t K, size_t P, size_t trim, float* __restrict out, int32_t* keys) {
  const double kept = (double)(K - 2 * trim);
  for (size_t i0 = 0; i0 < P; i0 += TL) {
    const size_t len = imin(TL, P - i0);
    sorted_tile(u, K, i0, len, keys);
    double s[TL];
    for (size_t j = 0; j < TL; j++) s[j] = 0.0;
    for (size_t k = trim; k < K - trim; k++) {
      const int32_t* row = keys + k * TL;
      for (size_t j = 0; j < TL; j++) s[j] += (double)key_float(row[j]);
    }
    for (size_t j = 0; j < len; j++) out[i0 + j] = (float)(s[j] / kept);
  }
}

void pairwise_sq_dist(const float* const* u, size_t K, size_t P, double* out, double* lanes) {
  // Per pair (k < l): 32 float64 lanes, lane j summing ((double)u_k[i] − (double)u_l[i])² over i ≡ j mod 32 in
  // increasing i, then out = lane 0 + lane 1 + … + lane 31 in that order (the reference's order exactly).
  // P is cut into tiles of 2048 values so the K tiles stay in L2 while every pair reads them.
  constexpr size_t L = 32, T = 2048;
  const size_t pairs = K * (K - 1) / 2;
  for (size_t q = 0; q < pairs * L; q++) lanes[q] = 0.0;
  for (size_t i0 = 0; i0 < P; i0 += T) {
    const size_t len = imin(T, P - i0);
    const size_t body = len & ~(L - 1);
    double* lp = lanes;
    for (size_t k = 0; k < K; k++) {
      for (size_t l = k + 1; l < K; l++, lp += L) {
        const float* __restrict a = u[k] + i0;
        const float* __restrict b = u[l] + i0;
        double s[L];
        for (size_t j = 0; j < L; j++) s[j] = lp[j];
        for (size_t i = 0; i < body; i += L)
          for (size_t j = 0; j < L; j++) { const double d = (double)a[i + j] - (double)b[i + j]; s[j] += d * d; }
        for (size_t i = body; i < len; i++) { const double d = (double)a[i] - (double)b[i]; s[i & (L - 1)] += d * d; }
        for (size_t j = 0; j < L; j++) lp[j] = s[j];
      }
    }
  }
  const double* lp = lanes;
  for (size_t k = 0; k < K; k++) {
    out[k * K + k] = 0.0;
    for (size_t l = k + 1; l < K; l++, lp += L) {
      double t = lp[0];
      for (size_t j = 1; j < L; j++) t += lp[j];
      out[k * K + l] = t;
      out[l * K + k] = t;
    }
  }
}

void closest_to_median_mean(const float* const* u, size_t K, size_t P, size_t beta, float* __restrict out,
                            int32_t* keys) {
  // Bulyan's coordinate rule: per coordinate, the mean of the β values closest to the median (ties → the
  // smaller value), grown outward from the median so the chosen values are contiguous in sorted order.
  for (size_t i0 = 0; i0 < P; i0 += TL) {
    const size_t len = imin(TL, P - i0);
    sorted_tile(u, K, i0, len, keys);
    for (size_t j = 0; j < len; j++) {
      auto v = [&](size_t k) { return (double)key_float(keys[k * TL + j]); };
      const double m = (K & 1) ? v(K / 2) : (v(K / 2 - 1) + v(K / 2)) / 2.0;
      size_t lo = 0;
      while (lo < K && v(lo) < m) lo++;
      size_t hi = lo;
      for (size_t t = 0; t < beta; t++) {
        if (lo > 0 && (hi >= K || m - v(lo - 1) <= v(hi) - m)) lo--;
        else hi++;
      }
      double s = 0;
      for (size_t k = lo; k < hi; k++) s += v(k);
      out[i0 + j] = (float)(s / (double)beta);
    }
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
  t.read_bytes = read_bytes;
  t.find_nonfinite = find_nonfinite;
  t.fold_group = fold_group;
  t.fold_finish = fold_finish;
  t.finish_mean = finish_mean;
  t.sum_squares = sum_squares;
  t.add_into = add_into;
  t.scale = scale;
  t.median = median;
  t.trimmed_mean = trimmed_mean;
  t.pairwise_sq_dist = pairwise_sq_dist;
  t.closest_to_median_mean = closest_to_median_mean;
  t.fedopt_step = fedopt_step;
  t.server_sgd_step = server_sgd_step;
  t.to_fp16 = to_fp16;
  t.from_fp16 = from_fp16;
  t.quantize_int8 = quantize_int8;
  t.dequantize_int8 = dequantize_int8;
}

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
