// Float vector helpers for the one ISA this translation unit is compiled for (selected by the compiler's
// own feature macros, which the per-variant cflags in binding.gyp set). Everything here has internal
// linkage or lives in the variant's namespace: nothing compiled for AVX-512 can leak into another path.
#pragma once
#include <cstddef>
#include <cstdint>

#ifndef FEDMM_ISA_NS
#error "FEDMM_ISA_NS must name the variant namespace (avx512, avx2 or baseline)"
#endif

#if defined(__AVX512F__) || defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace fedmm {
namespace FEDMM_ISA_NS {

#if defined(__AVX512F__)
constexpr int VW = 16;
typedef __m512 vf;
static inline vf vzero() { return _mm512_setzero_ps(); }
static inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
static inline void vstore(float* p, vf x) { _mm512_storeu_ps(p, x); }
static inline vf vbroadcast(const float* p) { return _mm512_set1_ps(*p); }
static inline vf vfmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int VW = 8;
typedef __m256 vf;
static inline vf vzero() { return _mm256_setzero_ps(); }
static inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
static inline void vstore(float* p, vf x) { _mm256_storeu_ps(p, x); }
static inline vf vbroadcast(const float* p) { return _mm256_broadcast_ss(p); }
static inline vf vfmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
#elif defined(__SSE2__) && !defined(FEDMM_PORTABLE_SIMD)
constexpr int VW = 4;
typedef __m128 vf;
static inline vf vzero() { return _mm_setzero_ps(); }
static inline vf vload(const float* p) { return _mm_loadu_ps(p); }
static inline void vstore(float* p, vf x) { _mm_storeu_ps(p, x); }
static inline vf vbroadcast(const float* p) { return _mm_set1_ps(*p); }
static inline vf vfmadd(vf a, vf b, vf c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
static inline vf vadd(vf a, vf b) { return _mm_add_ps(a, b); }
#else
// Portable 4-wide vectors (GCC/Clang vector extensions; NEON on arm64).
constexpr int VW = 4;
typedef float vf __attribute__((vector_size(16)));
typedef float vf_u __attribute__((vector_size(16), aligned(4), may_alias));
static inline vf vzero() { return vf{0, 0, 0, 0}; }
static inline vf vload(const float* p) { return *reinterpret_cast<const vf_u*>(p); }
static inline void vstore(float* p, vf x) { *reinterpret_cast<vf_u*>(p) = x; }
static inline vf vbroadcast(const float* p) { float s = *p; return vf{s, s, s, s}; }
static inline vf vfmadd(vf a, vf b, vf c) { return a * b + c; }
static inline vf vadd(vf a, vf b) { return a + b; }
#endif

template <typename T> static inline T imin(T a, T b) { return a < b ? a : b; }

// GEMM with op(b) packed once and reused across calls (the GRU's recurrent weights):
// gemm_pack_b writes gemm_packed_b_size(N, K) floats; gemm_prepacked_b is gemm with that b.
size_t gemm_packed_b_size(size_t N, size_t K);
void gemm_pack_b(bool transB, const float* b, size_t N, size_t K, float* bp);
void gemm_prepacked_b(bool transA, size_t M, size_t N, size_t K, float alpha, const float* a, const float* bp,
                      float beta, float* c);

// Grow-only 64-byte-aligned scratch owned by the calling thread (no allocation once warm).
// Slots: 0–1 GEMM packing, 2–3 conv1d, 4 GRU, 5–8 fused layers (fused.cc).
constexpr int kScratchSlots = 9;
float* scratch_floats(int slot, size_t n);

// expf within 1 ulp of the correctly rounded result over [−87.3, 88.7] (Cephes polynomial), branch-free
// so the gate loops vectorize (the build passes -fno-trapping-math for that; IEEE results are unchanged).
// NaN propagates; large arguments saturate to Inf and 0.
static inline float fast_expf(float x0) {
  const float hi = 88.7228f, lo = -87.3365f;
  float x = x0 < hi ? x0 : hi;
  x = x > lo ? x : lo;  // NaN → lo here, restored at the end
  const float t = x * 1.44269504088896341f + 0.5f;
#if defined(__SSE4_1__) || !(defined(__x86_64__) || defined(__i386__))
  const float fn = __builtin_floorf(t);
#else
  float fn = (float)(int32_t)t;  // |t| < 129: exact truncation, then floor (SSE2 has no vector floor)
  fn = fn > t ? fn - 1.0f : fn;
#endif
  float r = x - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as two factors, so n = 128 (x near 88.72) does not overflow the exponent field
  const int32_t n = (int32_t)fn;
  const int32_t n1 = n >> 1;
  const float s1 = __builtin_bit_cast(float, (n1 + 127) << 23);
  const float s2 = __builtin_bit_cast(float, (n - n1 + 127) << 23);
  float y = p * s1 * s2;
  y = x0 > hi ? __builtin_inff() : y;
  y = x0 < lo ? 0.0f : y;
  return x0 == x0 ? y : x0;
}

static inline float sigmoidf_(float x) { return 1.0f / (1.0f + fast_expf(-x)); }
// tanh(x) = 1 − 2/(e^{2x} + 1): absolute error ~1e-7, exact ±1 saturation
static inline float tanhf_(float x) { return 1.0f - 2.0f / (fast_expf(2.0f * x) + 1.0f); }

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
