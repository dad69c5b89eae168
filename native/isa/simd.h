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
#elif defined(__SSE2__)
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
template <typename T> static inline T imax(T a, T b) { return a > b ? a : b; }

// Grow-only 64-byte-aligned scratch owned by the calling thread (no allocation once warm).
float* scratch_floats(int slot, size_t n);

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
