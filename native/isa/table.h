// The kernel table one ISA variant provides. Each native/isa/*.cc file is compiled once per variant into
// its own namespace (FEDMM_ISA_NS = avx512 | avx2 | baseline) with that variant's cflags; addon.cc picks
// a table at run time from the CPU's features. Only plain C types cross this boundary, so no inline
// library code compiled for one ISA can be linked into another variant's path.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fedmm {

// Coordinates the order-statistic kernels (median, trimmed_mean, closest_to_median_mean) sort together; their
// scratch holds K·kOrderTile int32 keys.
constexpr size_t kOrderTile = 64;

struct KernelTable {
  const char* name;

  // ---- compute kernels (shapes as in src/backend/kernels.ts) ----
  // c[M,N] = alpha·op(a)·op(b) + beta·c
  void (*gemm)(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha,
               const float* a, const float* b, float beta, float* c);
  // out[B,Cout,Lout] = conv(x[B,Cin,L], w[Cout,Cin,K]) + bias[Cout] (bias may be null)
  void (*conv1d_forward)(const float* x, const float* w, const float* bias, float* out, size_t B, size_t Cin,
                         size_t L, size_t Cout, size_t K, size_t stride, size_t padding, size_t Lout);
  // gx[B,Cin,L], gw[Cout,Cin,K], gBias[Cout] from gOut[B,Cout,Lout] (each output may be null)
  void (*conv1d_backward)(const float* x, const float* w, const float* gOut, float* gx, float* gw, float* gBias,
                          size_t B, size_t Cin, size_t L, size_t Cout, size_t K, size_t stride, size_t padding,
                          size_t Lout);
  // GRU layer forward over x[B,T,I] (lengths[B], h0[B,H], biases may be null) → out[B,T,H], hN[B,H], saved[B,T,4H]
  // (saved null: forward only)
  void (*gru_forward)(const float* x, const int32_t* lengths, const float* h0, const float* wIh, const float* wHh,
                      const float* bIh, const float* bHh, float* out, float* hN, float* saved, size_t B, size_t T,
                      size_t I, size_t H);
  // GRU backward through time (gOut, ghN and every output may be null)
  void (*gru_backward)(const float* x, const int32_t* lengths, const float* h0, const float* wIh, const float* wHh,
                       const float* out, const float* saved, const float* gOut, const float* ghN, float* gx,
                       float* gh0, float* gWih, float* gWhh, float* gbIh, float* gbHh, size_t B, size_t T, size_t I,
                       size_t H);
  // x[rows,L] → out[rows,Lout], argmax[rows,Lout]
  void (*maxpool1d_forward)(const float* x, float* out, int32_t* argmax, size_t rows, size_t L,
                            size_t kernel, size_t stride);
  // gx[rows,L] = scatter of gOut[rows,Lout] through argmax
  void (*maxpool1d_backward)(const float* gOut, const int32_t* argmax, float* gx, size_t rows, size_t L,
                             size_t Lout);
  // ---- fused layers (fused.cc) ----
  // conv1d → relu → maxpool → ⊙ mask: x[B,Cin,L] → pooled, argmax, out [B,Cout,P] (bias, mask may be null;
  // argmax null: forward only)
  void (*conv_block_forward)(const float* x, const float* w, const float* bias, const float* mask, float* pooled,
                             int32_t* argmax, float* out, size_t B, size_t Cin, size_t L, size_t Cout, size_t K,
                             size_t stride, size_t padding, size_t Lout, size_t poolK, size_t poolS, size_t P);
  // its backward from gOut[B,Cout,P] → gx, gw, gBias (each may be null)
  void (*conv_block_backward)(const float* x, const float* w, const float* pooled, const int32_t* argmax,
                              const float* mask, const float* gOut, float* gx, float* gw, float* gBias, size_t B,
                              size_t Cin, size_t L, size_t Cout, size_t K, size_t stride, size_t padding,
                              size_t Lout, size_t P);
  // y[M,N] = act(x[M,K]·w[N,K]ᵀ + bias) (act 0 none, 1 relu, 2 tanh); out = y ⊙ mask (out may be y)
  void (*linear_forward)(const float* x, const float* w, const float* bias, int act, const float* mask, float* y,
                         float* out, size_t M, size_t N, size_t K);
  // its backward from gOut[M,N] → gx[M,K], gw[N,K], gBias[N] (each may be null)
  void (*linear_backward)(const float* x, const float* w, const float* y, int act, const float* mask,
                          const float* gOut, float* gx, float* gw, float* gBias, size_t M, size_t N, size_t K);
  // fuse_base attention: h[B,T,D], mask[B,T] → u[B,T,hidden], a[B,heads,T], out[B,heads·D] (u null: forward only)
  void (*attention_forward)(const float* h, const float* mask, const float* w1, const float* b1, const float* w2,
                            const float* b2, float* u, float* a, float* out, size_t B, size_t T, size_t D,
                            size_t hidden, size_t heads);
  // its backward from gOut[B,heads·D] → gh, gw1, gb1, gw2, gb2 (each may be null)
  void (*attention_backward)(const float* h, const float* mask, const float* w1, const float* w2, const float* u,
                             const float* a, const float* gOut, float* gh, float* gw1, float* gb1, float* gw2,
                             float* gb2, size_t B, size_t T, size_t D, size_t hidden, size_t heads);
  // mean softmax cross-entropy of x[N,C] against targets[N]; probs[N,C] = row softmax
  double (*cross_entropy_forward)(const float* x, const int32_t* targets, float* probs, size_t N, size_t C);
  // gx = (probs − onehot)·scale
  void (*cross_entropy_backward)(const float* probs, const int32_t* targets, double scale, float* gx, size_t N,
                                 size_t C);
  // mean BCE with logits over [n]; gx = (σ(x) − y)·scale
  double (*bce_forward)(const float* x, const float* y, size_t n);
  void (*bce_backward)(const float* x, const float* y, double scale, float* gx, size_t n);
  // mask[n] = draw < threshold ? 0 : scale, one xoshiro128** draw per element; state[4] advances
  void (*dropout_mask)(uint32_t* state, double threshold, float scale, float* mask, size_t n);

  // PyTorch SGD over [n] in place
  void (*sgd_step)(float* param, const float* grad, float* buf, size_t n, double lr, double momentum,
                   double dampening, bool nesterov, double weightDecay, bool hasBuf);
  // PyTorch Adam/AdamW over [n] in place; the caller computes the step constants (stepSize =
  // lr/(1−β1^t), sqrtBc2 = √(1−β2^t), decay = 1−lr·wd or 1, l2 = wd or 0) so every backend rounds alike
  void (*adam_step)(float* param, const float* grad, float* m, float* v, size_t n, double beta1, double beta2,
                    double eps, double stepSize, double sqrtBc2, double decay, double l2);

  // ---- aggregation (src/aggregate) ----
  // OR of the bytes p[n] as 64-bit words (the read-bandwidth baseline: every byte loaded once)
  uint64_t (*read_bytes)(const uint8_t* p, size_t n);
  // first index i with x[i] non-finite, or -1
  int64_t (*find_nonfinite)(const float* x, size_t n);
  // accOut[n] = accIn[n] + Σ_g c[g]·u[g][n], added in g order per element (bit-identical to G separate
  // folds); returns true iff every accOut value is finite (false: some c[g]·u[g] is Inf/NaN or overflowed)
  bool (*fold_group)(const double* accIn, double* accOut, const float* const* u, const double* c, size_t G, size_t n);
  // out[n] = (float)((accIn[n] + Σ_g c[g]·u[g][n]) / totalW): fold_group then finish_mean, same bits, no
  // accumulator written (accIn null: from +0.0); returns true iff every sum is finite
  bool (*fold_finish)(const double* accIn, const float* const* u, const double* c, size_t G, double totalW, float* out,
                      size_t n);
  // out[n] = (float)(acc[n] / totalW)
  void (*finish_mean)(const double* acc, double totalW, float* out, size_t n);
  // Σ x² in float64
  double (*sum_squares)(const float* x, size_t n);
  // x[n] *= s
  void (*scale)(float* x, float s, size_t n);
  // acc[n] += g[n] (gradient accumulation in a training step)
  void (*add_into)(float* acc, const float* g, size_t n);
  // out[P] = coordinate-wise median of u[K][P] (mean of the two middle values for even K); keys[K·kOrderTile]
  void (*median)(const float* const* u, size_t K, size_t P, float* out, int32_t* keys);
  // out[P] = coordinate-wise mean after dropping `trim` smallest and `trim` largest values; keys[K·kOrderTile]
  void (*trimmed_mean)(const float* const* u, size_t K, size_t P, size_t trim, float* out, int32_t* keys);
  // out[K,K] = squared L2 distances of u[K][P] (float64, 32 lanes by i mod 32 summed in lane order);
  // lanes[K(K−1)/2 · 32] scratch
  void (*pairwise_sq_dist)(const float* const* u, size_t K, size_t P, double* out, double* lanes);
  // out[P] = per coordinate, the mean of the beta values of u[K] closest to their median; keys[K·kOrderTile]
  void (*closest_to_median_mean)(const float* const* u, size_t K, size_t P, size_t beta, float* out, int32_t* keys);
  // server optimizers (Reddi et al. 2021) over [n]: rule 0 = Adam, 1 = Yogi, 2 = Adagrad
  void (*fedopt_step)(int rule, float* param, const float* g, float* m, float* v, size_t n, double lr,
                      double beta1, double beta2, double tau);
  // server SGD with momentum: m = μ·m + g; param -= lr·m (μ = 0: plain SGD, m may be null)
  void (*server_sgd_step)(float* param, const float* g, float* m, size_t n, double lr, double momentum);
  // IEEE binary16, round to nearest even
  void (*to_fp16)(const float* x, uint16_t* h, size_t n);
  void (*from_fp16)(const uint16_t* h, float* x, size_t n);
  // per-block int8: scale[b] = max|x|/127, q = round-half-even(x·(127/max|x|)); returns first non-finite or -1
  int64_t (*quantize_int8)(const float* x, int8_t* q, float* scales, size_t n, size_t block);
  void (*dequantize_int8)(const int8_t* q, const float* scales, float* x, size_t n, size_t block);
};

namespace avx512 { const KernelTable& table(); }
namespace avx2 { const KernelTable& table(); }
namespace baseline { const KernelTable& table(); }

}  // namespace fedmm
