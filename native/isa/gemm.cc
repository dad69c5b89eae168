// SGEMM: c[M,N] = alpha·op(a)[M,K]·op(b)[K,N] + beta·c, single-threaded.
// Goto/BLIS structure: for each NC-wide block of columns and KC-deep slice of K, op(b) is packed into
// NR-wide column panels (Bp[kc][NR] each, KC·NR·4 bytes = L1-resident); for each MC-tall block of rows,
// alpha·op(a) is packed into MR-tall row panels (Ap[kc][MR], the block L2-resident). A register-tiled
// MR×NR micro-kernel (MR rows × 2 vectors, FMA) then sweeps the panels. Packing absorbs the transpose
// flags and zero-pads ragged edges; an edge tile runs the micro-kernel instance for its own row count (and
// one vector of columns when that covers them), through a small stack tile when it is narrower than NR, so no
// padding row is computed. The first KC slice overwrites c when beta = 0 (NaNs in c are not propagated).
// a·bᵀ with few columns (transB, N ≤ max(8, one vector)) skips the packing: one vectorized dot product per element.
#include <cstdlib>
#include <cstring>
#include <utility>

#include "simd.h"
#include "table.h"

namespace fedmm {
namespace FEDMM_ISA_NS {

namespace {

#if defined(__AVX512F__)
constexpr int MR = 12;  // 24 zmm accumulators + 2 b vectors + 1 broadcast of 32 registers
#else
constexpr int MR = 6;   // 12 accumulators + 2 + 1 of 16 registers
#endif
constexpr int NR = 2 * VW;
constexpr size_t KC = 256;
constexpr size_t MC = MR * 16;
constexpr size_t NC = 2048;

// c[R, NV·VW] (row stride ldc) = or += the product of one packed A panel [kc][MR] (its first R rows) and B
// panel [kc][NR] (its first NV vectors). R = MR, NV = 2 is the full tile; the smaller instances serve the ragged
// edges without computing the zero padding.
template <int R, int NV>
static inline void micro_kernel(size_t kc, const float* __restrict ap, const float* __restrict bp,
                                float* __restrict c, size_t ldc, bool overwrite) {
  vf acc0[R], acc1[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) { acc0[r] = vzero(); acc1[r] = vzero(); }
  for (size_t k = 0; k < kc; k++) {
    const vf b0 = vload(bp);
    const vf b1 = NV == 2 ? vload(bp + VW) : vzero();
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      const vf a = vbroadcast(ap + r);
      acc0[r] = vfmadd(a, b0, acc0[r]);
      if (NV == 2) acc1[r] = vfmadd(a, b1, acc1[r]);
    }
    ap += MR;
    bp += NR;
  }
  if (overwrite) {
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      vstore(c + r * ldc, acc0[r]);
      if (NV == 2) vstore(c + r * ldc + VW, acc1[r]);
    }
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
      vstore(c + r * ldc, vadd(vload(c + r * ldc), acc0[r]));
      if (NV == 2) vstore(c + r * ldc + VW, vadd(vload(c + r * ldc + VW), acc1[r]));
    }
  }
}

typedef void (*MicroKernel)(size_t, const float*, const float*, float*, size_t, bool);

template <int NV, int... Rs>
static constexpr MicroKernel kernel_for_rows(int rows, std::integer_sequence<int, Rs...>) {
  MicroKernel k = nullptr;
  ((k = (rows == Rs + 1 ? &micro_kernel<Rs + 1, NV> : k)), ...);
  return k;
}

// The micro-kernel for a tile of `rows` (1..MR) rows and `vectors` (1 or 2) vectors of columns.
static inline MicroKernel micro_kernel_for(size_t rows, int vectors) {
  return vectors == 2 ? kernel_for_rows<2>((int)rows, std::make_integer_sequence<int, MR>{})
                      : kernel_for_rows<1>((int)rows, std::make_integer_sequence<int, MR>{});
}

// Bp = op(b)[k0:k0+kc, j0:j0+nc] as ceil(nc/NR) panels of [kc][NR], zero-padded past nc.
void pack_b(bool transB, const float* b, size_t N, size_t K, size_t k0, size_t kc, size_t j0, size_t nc,
            float* __restrict bp) {
  for (size_t jp = 0; jp < nc; jp += NR) {
    const size_t nr = imin<size_t>(NR, nc - jp);
    if (!transB) {
      for (size_t k = 0; k < kc; k++) {
        const float* src = b + (k0 + k) * N + j0 + jp;
        size_t j = 0;
        for (; j < nr; j++) bp[j] = src[j];
        for (; j < (size_t)NR; j++) bp[j] = 0.0f;
        bp += NR;
      }
    } else {
      // b is [N,K]: row j of b is column j of op(b)
      for (size_t j = 0; j < (size_t)NR; j++) {
        if (j < nr) {
          const float* src = b + (j0 + jp + j) * K + k0;
          for (size_t k = 0; k < kc; k++) bp[k * NR + j] = src[k];
        } else {
          for (size_t k = 0; k < kc; k++) bp[k * NR + j] = 0.0f;
        }
      }
      bp += kc * NR;
    }
  }
}

// Ap = alpha·op(a)[i0:i0+mc, k0:k0+kc] as ceil(mc/MR) panels of [kc][MR], zero-padded past mc.
void pack_a(bool transA, const float* a, size_t M, size_t K, size_t i0, size_t mc, size_t k0, size_t kc,
            float alpha, float* __restrict ap) {
  for (size_t ip = 0; ip < mc; ip += MR) {
    const size_t mr = imin<size_t>(MR, mc - ip);
    if (!transA) {
      for (size_t i = 0; i < (size_t)MR; i++) {
        if (i < mr) {
          const float* src = a + (i0 + ip + i) * K + k0;
          for (size_t k = 0; k < kc; k++) ap[k * MR + i] = alpha * src[k];
        } else {
          for (size_t k = 0; k < kc; k++) ap[k * MR + i] = 0.0f;
        }
      }
    } else {
      // a is [K,M]: row k of a holds column k of op(a), contiguous in i
      for (size_t k = 0; k < kc; k++) {
        const float* src = a + (k0 + k) * M + i0 + ip;
        size_t i = 0;
        for (; i < mr; i++) ap[k * MR + i] = alpha * src[i];
        for (; i < (size_t)MR; i++) ap[k * MR + i] = 0.0f;
      }
    }
    ap += kc * MR;
  }
}

// Floats in op(b)[K,N] packed whole: every (NC column block, KC slice) pair in loop order.
size_t packed_b_size(size_t N, size_t K) {
  size_t total = 0;
  for (size_t j0 = 0; j0 < N; j0 += NC) {
    const size_t panels = (imin(NC, N - j0) + NR - 1) / NR;
    total += panels * NR * K;
  }
  return total;
}

// c[M,N] (+)= alpha·a[M,K]·b[N,K]ᵀ for N ≤ kSmallN (a layer with few outputs: attention scores, class logits,
// the first convolution's weight gradient):
// each element one dot product over contiguous rows of a and b, VW lanes then a lane sum, instead of packing
// a whole A for a tile that would be mostly padding. `overwrite` as in the micro-kernel.
constexpr size_t kSmallN = VW > 8 ? VW : 8;  // accumulators kept in registers
template <int N>
void gemm_small_n_nt(size_t M, size_t K, float alpha, const float* a, const float* b, float* c, bool overwrite) {
  for (size_t m = 0; m < M; m++) {
    const float* ar = a + m * K;
    vf acc[N];
#pragma GCC unroll 16
    for (int n = 0; n < N; n++) acc[n] = vzero();
    size_t k = 0;
    for (; k + VW <= K; k += VW) {
      const vf av = vload(ar + k);
#pragma GCC unroll 16
      for (int n = 0; n < N; n++) acc[n] = vfmadd(av, vload(b + n * K + k), acc[n]);
    }
    for (int n = 0; n < N; n++) {
      alignas(64) float lanes[VW];
      vstore(lanes, acc[n]);
      float s = 0.0f;
      for (int l = 0; l < VW; l++) s += lanes[l];
      for (size_t kk = k; kk < K; kk++) s += ar[kk] * b[n * K + kk];
      const float v = alpha * s;
      c[m * N + n] = overwrite ? v : c[m * N + n] + v;
    }
  }
}

typedef void (*SmallNKernel)(size_t, size_t, float, const float*, const float*, float*, bool);

template <int... Ns>
static constexpr SmallNKernel small_n_kernel(size_t n, std::integer_sequence<int, Ns...>) {
  SmallNKernel k = nullptr;
  ((k = (n == (size_t)Ns + 1 ? &gemm_small_n_nt<Ns + 1> : k)), ...);
  return k;
}

// The GEMM loops; `prepacked` (or null) holds op(b) already packed by pack_b_all.
void gemm_impl(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* a, const float* b,
               const float* prepacked, float beta, float* c) {
  if (M == 0 || N == 0) return;
  if (beta == 0.0f) {
    if (K == 0) { std::memset(c, 0, M * N * sizeof(float)); return; }
  } else if (beta != 1.0f) {
    for (size_t i = 0; i < M * N; i++) c[i] *= beta;
  }
  if (K == 0) return;
  if (!transA && transB && !prepacked && N <= kSmallN) {
    small_n_kernel(N, std::make_integer_sequence<int, kSmallN>{})(M, K, alpha, a, b, c, beta == 0.0f);
    return;
  }
  float* scratch_b = prepacked ? nullptr : scratch_floats(0, KC * (NC + NR));
  float* ap = scratch_floats(1, KC * (MC + MR));
  alignas(64) float tile[MR * NR];
  const float* next_packed = prepacked;
  for (size_t j0 = 0; j0 < N; j0 += NC) {
    const size_t nc = imin(NC, N - j0);
    const size_t panels = (nc + NR - 1) / NR;
    for (size_t k0 = 0; k0 < K; k0 += KC) {
      const size_t kc = imin(KC, K - k0);
      const bool overwrite = (k0 == 0 && beta == 0.0f);
      const float* bp;
      if (prepacked) {
        bp = next_packed;
        next_packed += panels * NR * kc;
      } else {
        pack_b(transB, b, N, K, k0, kc, j0, nc, scratch_b);
        bp = scratch_b;
      }
      for (size_t i0 = 0; i0 < M; i0 += MC) {
        const size_t mc = imin(MC, M - i0);
        pack_a(transA, a, M, K, i0, mc, k0, kc, alpha, ap);
        for (size_t jr = 0; jr < nc; jr += NR) {
          const size_t nr = imin<size_t>(NR, nc - jr);
          const float* bpanel = bp + (jr / NR) * kc * NR;
          for (size_t ir = 0; ir < mc; ir += MR) {
            const size_t mr = imin<size_t>(MR, mc - ir);
            const float* apanel = ap + (ir / MR) * kc * MR;
            float* cij = c + (i0 + ir) * N + j0 + jr;
            if (mr == (size_t)MR && nr == (size_t)NR) {
              micro_kernel<MR, 2>(kc, apanel, bpanel, cij, N, overwrite);
            } else if (nr == (size_t)NR) {
              micro_kernel_for(mr, 2)(kc, apanel, bpanel, cij, N, overwrite);
            } else {
              micro_kernel_for(mr, nr <= (size_t)VW ? 1 : 2)(kc, apanel, bpanel, tile, NR, true);
              for (size_t r = 0; r < mr; r++) {
                float* crow = cij + r * N;
                const float* trow = tile + r * NR;
                if (overwrite) for (size_t j = 0; j < nr; j++) crow[j] = trow[j];
                else for (size_t j = 0; j < nr; j++) crow[j] += trow[j];
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

void gemm_entry(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* a,
                const float* b, float beta, float* c) {
  gemm_impl(transA, transB, M, N, K, alpha, a, b, nullptr, beta, c);
}

size_t gemm_packed_b_size(size_t N, size_t K) { return packed_b_size(N, K); }

void gemm_pack_b(bool transB, const float* b, size_t N, size_t K, float* bp) {
  for (size_t j0 = 0; j0 < N; j0 += NC) {
    const size_t nc = imin(NC, N - j0);
    const size_t panels = (nc + NR - 1) / NR;
    for (size_t k0 = 0; k0 < K; k0 += KC) {
      const size_t kc = imin(KC, K - k0);
      pack_b(transB, b, N, K, k0, kc, j0, nc, bp);
      bp += panels * NR * kc;
    }
  }
}

void gemm_prepacked_b(bool transA, size_t M, size_t N, size_t K, float alpha, const float* a, const float* bp,
                      float beta, float* c) {
  gemm_impl(transA, false, M, N, K, alpha, a, nullptr, bp, beta, c);
}

float* scratch_floats(int slot, size_t n) {
  static thread_local float* buffers[kScratchSlots] = {};
  static thread_local size_t sizes[kScratchSlots] = {};
  if (sizes[slot] < n) {
    std::free(buffers[slot]);
    const size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    buffers[slot] = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!buffers[slot]) { sizes[slot] = 0; std::abort(); }  // out of memory: nothing sensible to return
    sizes[slot] = n;
  }
  return buffers[slot];
}

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
