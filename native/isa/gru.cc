// One GRU layer over a padded batch with per-sample lengths, forward and backward through time
// (PyTorch's equations and gate order r, z, n; shapes and outputs exactly as documented in kernels.ts).
// Forward: the input projection of all B·T steps is one GEMM (gi[B·T,3H] = x·W_ihᵀ + b_ih); each step then
// runs one [B,H]·W_hhᵀ GEMM and a vectorized gate loop. Backward: per-step gate gradients, one GEMM per step
// to carry dh back through W_hh, and the weight/input gradients as a few large GEMMs after the time loop.
#include "simd.h"
#include "table.h"

namespace fedmm {
namespace FEDMM_ISA_NS {

void gemm_entry(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* a,
                const float* b, float beta, float* c);

namespace {

static inline void fill(float* p, size_t n, float v) {
  for (size_t i = 0; i < n; i++) p[i] = v;
}

// m[rows, cols] = bias[cols] on every row
static inline void broadcast_rows(float* __restrict m, size_t rows, size_t cols, const float* __restrict bias) {
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) m[i * cols + j] = bias[j];
}

// sums[cols] = Σ_rows src[rows, cols]
static inline void column_sums(const float* __restrict src, size_t rows, size_t cols, float* __restrict sums) {
  fill(sums, cols, 0.0f);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) sums[j] += src[i * cols + j];
}

static inline size_t length_of(const int32_t* lengths, size_t b, size_t T) { return lengths ? (size_t)lengths[b] : T; }

// One sample's gates at one step: gir[3H] = W_i·x + b_i, ghr[3H] = W_h·h + b_h; updates h[H] in place and
// writes out[H] = h' and saved[4H] = (r, z, n, W_hn·h + b_hn).
static void gate_step(const float* __restrict gir, const float* __restrict ghr, float* __restrict hr,
                      float* __restrict orow, float* __restrict sr, size_t H) {
  for (size_t j = 0; j < H; j++) {
    const float hn = ghr[2 * H + j];
    const float r = sigmoidf_(gir[j] + ghr[j]);
    const float z = sigmoidf_(gir[H + j] + ghr[H + j]);
    const float n = tanhf_(gir[2 * H + j] + r * hn);
    const float hNew = (1.0f - z) * n + z * hr[j];
    hr[j] = hNew;
    orow[j] = hNew;
    sr[j] = r;
    sr[H + j] = z;
    sr[2 * H + j] = n;
    sr[3 * H + j] = hn;
  }
}

// gate_step without the saves (forward only): the same h' bits.
static void gate_step_forward_only(const float* __restrict gir, const float* __restrict ghr, float* __restrict hr,
                                   float* __restrict orow, size_t H) {
  for (size_t j = 0; j < H; j++) {
    const float r = sigmoidf_(gir[j] + ghr[j]);
    const float z = sigmoidf_(gir[H + j] + ghr[H + j]);
    const float n = tanhf_(gir[2 * H + j] + r * ghr[2 * H + j]);
    const float hNew = (1.0f - z) * n + z * hr[j];
    hr[j] = hNew;
    orow[j] = hNew;
  }
}

// One sample's gate gradients at one step (see gru_backward): sr[4H] saved gates, go[H] = gOut's row,
// prev[H] = h_{t−1} (zero rows stand in for absent ones). Updates dh[H] to the direct part g·z of
// dL/dh_{t−1}; writes step[3H] = (dA_r, dA_z, dA_n·r) and gi[3H] = (dA_r, dA_z, dA_n).
static void gate_step_backward(const float* __restrict sr, const float* __restrict go, const float* __restrict prev,
                               float* __restrict dhr, float* __restrict step, float* __restrict gi, size_t H) {
  for (size_t j = 0; j < H; j++) {
    const float g = dhr[j] + go[j];
    const float r = sr[j], z = sr[H + j], n = sr[2 * H + j], hn = sr[3 * H + j];
    const float hp = prev[j];
    const float dAn = g * (1.0f - z) * (1.0f - n * n);
    const float dAr = dAn * hn * r * (1.0f - r);
    const float dAz = g * (hp - n) * z * (1.0f - z);
    dhr[j] = g * z;
    step[j] = dAr;
    step[H + j] = dAz;
    step[2 * H + j] = dAn * r;
    gi[j] = dAr;
    gi[H + j] = dAz;
    gi[2 * H + j] = dAn;
  }
}

void gru_forward(const float* x, const int32_t* lengths, const float* h0, const float* wIh, const float* wHh,
                 const float* bIh, const float* bHh, float* out, float* hN, float* saved, size_t B, size_t T,
                 size_t I, size_t H) {
  const size_t G = 3 * H, S = 4 * H;
  const size_t nPacked = gemm_packed_b_size(G, H);
  float* gi = scratch_floats(4, B * T * G + B * H + B * G + nPacked + 16);
  float* h = gi + B * T * G;
  float* gh = h + B * H;
  float* whhPacked = gh + B * G;  // W_hhᵀ as the GEMM's packed b, reused by every step
  gemm_pack_b(true, wHh, G, H, whhPacked);

  // gi[B·T, 3H] = x·W_ihᵀ + b_ih, every step at once
  if (bIh) broadcast_rows(gi, B * T, G, bIh);
  gemm_entry(false, true, B * T, G, I, 1.0f, x, wIh, bIh ? 1.0f : 0.0f, gi);
  if (h0) for (size_t i = 0; i < B * H; i++) h[i] = h0[i];
  else fill(h, B * H, 0.0f);
  // zeros past each sample's length (the steps below write the rest); saved likewise (null: forward only)
  for (size_t b = 0; b < B; b++) {
    const size_t len = length_of(lengths, b, T);
    fill(out + (b * T + len) * H, (T - len) * H, 0.0f);
    if (saved) fill(saved + (b * T + len) * S, (T - len) * S, 0.0f);
  }

  for (size_t t = 0; t < T; t++) {
    // gh[B,3H] = h·W_hhᵀ + b_hh
    if (bHh) broadcast_rows(gh, B, G, bHh);
    gemm_prepacked_b(false, B, G, H, 1.0f, h, whhPacked, bHh ? 1.0f : 0.0f, gh);
    for (size_t b = 0; b < B; b++) {
      if (t >= length_of(lengths, b, T)) continue;
      if (saved) gate_step(gi + (b * T + t) * G, gh + b * G, h + b * H, out + (b * T + t) * H, saved + (b * T + t) * S, H);
      else gate_step_forward_only(gi + (b * T + t) * G, gh + b * G, h + b * H, out + (b * T + t) * H, H);
    }
  }
  for (size_t i = 0; i < B * H; i++) hN[i] = h[i];
}

void gru_backward(const float* x, const int32_t* lengths, const float* h0, const float* wIh, const float* wHh,
                  const float* out, const float* saved, const float* gOut, const float* ghN, float* gx, float* gh0,
                  float* gWih, float* gWhh, float* gbIh, float* gbHh, size_t B, size_t T, size_t I, size_t H) {
  const size_t G = 3 * H, S = 4 * H;
  const bool needInput = gx || gWih || gbIh;
  const bool needHidden = gWhh || gbHh;
  const size_t nGi = needInput ? B * T * G : 0, nGh = needHidden ? B * T * G : 0;
  const size_t nPrev = gWhh ? B * T * H : 0;
  const size_t nPacked = gemm_packed_b_size(H, G);
  float* dh = scratch_floats(4, B * H + nGi + nGh + B * G + B * H + nPrev + H + G + nPacked + 16);
  float* dGi = needInput ? dh + B * H : nullptr;
  float* dGh = needHidden ? dh + B * H + nGi : nullptr;
  float* dGhStep = dh + B * H + nGi + nGh;
  float* dhPrev = dGhStep + B * G;
  float* hPrev = dhPrev + B * H;
  float* zeros = hPrev + nPrev;  // [H]: stands in for an absent gOut row or h0
  float* sink = zeros + H;       // [3H]: receives the input-gate gradients when nobody needs them
  float* whhPacked = sink + G;    // W_hh as the GEMM's packed b, reused by every step
  fill(zeros, H, 0.0f);
  gemm_pack_b(false, wHh, H, G, whhPacked);

  if (ghN) for (size_t i = 0; i < B * H; i++) dh[i] = ghN[i];
  else fill(dh, B * H, 0.0f);
  for (size_t t = T; t-- > 0;) {
    for (size_t b = 0; b < B; b++) {
      if (t >= length_of(lengths, b, T)) {
        // a finished sample: no gradient at this step (every row below is written, by this or the gate loop)
        fill(dGhStep + b * G, G, 0.0f);
        if (dGi) fill(dGi + (b * T + t) * G, G, 0.0f);
        if (dGh) fill(dGh + (b * T + t) * G, G, 0.0f);
        continue;
      }
      const float* prev = t > 0 ? out + (b * T + t - 1) * H : (h0 ? h0 + b * H : zeros);
      gate_step_backward(saved + (b * T + t) * S, gOut ? gOut + (b * T + t) * H : zeros, prev, dh + b * H,
                         dGhStep + b * G, dGi ? dGi + (b * T + t) * G : sink, H);
      const float* step = dGhStep + b * G;
      if (dGh) {
        float* __restrict ghr = dGh + (b * T + t) * G;
        for (size_t j = 0; j < G; j++) ghr[j] = step[j];
      }
    }
    // dh_{t−1} += dGhStep[B,3H]·W_hh[3H,H] (rows of finished samples are zero)
    gemm_prepacked_b(false, B, H, G, 1.0f, dGhStep, whhPacked, 0.0f, dhPrev);
    for (size_t i = 0; i < B * H; i++) dh[i] += dhPrev[i];
  }
  if (gh0) for (size_t i = 0; i < B * H; i++) gh0[i] = dh[i];

  if (dGi) {
    if (gx) gemm_entry(false, false, B * T, I, G, 1.0f, dGi, wIh, 0.0f, gx);
    if (gWih) gemm_entry(true, false, G, I, B * T, 1.0f, dGi, x, 0.0f, gWih);
    if (gbIh) column_sums(dGi, B * T, G, gbIh);
  }
  if (dGh) {
    if (gWhh) {
      // hPrev[B,T,H]: the state each step started from (h0 or zeros at t = 0, the previous output after)
      for (size_t b = 0; b < B; b++) {
        float* base = hPrev + b * T * H;
        if (T == 0) continue;
        if (h0) for (size_t j = 0; j < H; j++) base[j] = h0[b * H + j];
        else fill(base, H, 0.0f);
        const float* ob = out + b * T * H;
        for (size_t i = 0; i < (T - 1) * H; i++) base[H + i] = ob[i];
      }
      gemm_entry(true, false, G, H, B * T, 1.0f, dGh, hPrev, 0.0f, gWhh);
    }
    if (gbHh) column_sums(dGh, B * T, G, gbHh);
  }
}

}  // namespace

void fill_gru(KernelTable& t) {
  t.gru_forward = gru_forward;
  t.gru_backward = gru_backward;
}

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
