// Node-API bindings for the fedmm kernels. Chooses the best ISA variant this CPU runs (AVX-512 F/BW/DQ/VL,
// AVX2+FMA, or the baseline build) at load time; setVariant forces another one. Every entry point checks
// its argument types and lengths and throws a one-line error naming the function and the argument.
#include <napi.h>

#include <atomic>
#include <cstring>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include "isa/table.h"

namespace {

using fedmm::KernelTable;

struct Variant {
  const char* name;
  const KernelTable& (*table)();
  bool (*supported)();
};

#if defined(__x86_64__) || defined(__i386__)
bool cpu_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
bool cpu_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
bool cpu_any() { return true; }

const Variant kVariants[] = {
#ifdef FEDMM_HAVE_AVX512
    {"avx512", fedmm::avx512::table, cpu_avx512},
#endif
#ifdef FEDMM_HAVE_AVX2
    {"avx2", fedmm::avx2::table, cpu_avx2},
#endif
    {"baseline", fedmm::baseline::table, cpu_any},
};

// Per thread: the main thread and each worker thread that loads the addon choose their own variant.
thread_local const KernelTable* active = nullptr;

const KernelTable& T() { return *active; }

[[noreturn]] void fail(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }

template <typename T>
struct View {
  T* p;
  size_t n;
};

template <typename T, napi_typedarray_type kType>
View<T> typed(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what, const char* typeName,
              bool nullable = false) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) return {nullptr, 0};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType)
    fail(info.Env(), std::string(fn) + ": " + what + " must be a " + typeName);
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  return {a.Data(), a.ElementLength()};
}

View<float> f32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what, bool nullable = false) {
  return typed<float, napi_float32_array>(info, i, fn, what, "Float32Array", nullable);
}
View<double> f64(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what, bool nullable = false) {
  return typed<double, napi_float64_array>(info, i, fn, what, "Float64Array", nullable);
}

double num(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
  if (!info[i].IsNumber()) fail(info.Env(), std::string(fn) + ": " + what + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

size_t count(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what) {
  const double d = num(info, i, fn, what);
  if (!(d >= 0) || d != (double)(size_t)d || d > 9.0e15)
    fail(info.Env(), std::string(fn) + ": " + what + " must be a non-negative integer");
  return (size_t)d;
}

bool flag(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

// a·b·… with overflow checked (sizes come from JS numbers up to 2⁵³)
size_t prod(const Napi::CallbackInfo& info, const char* fn, std::initializer_list<size_t> factors) {
  size_t r = 1;
  for (size_t f : factors)
    if (__builtin_mul_overflow(r, f, &r)) fail(info.Env(), std::string(fn) + ": dimensions overflow");
  return r;
}

template <typename V>
void need(const Napi::CallbackInfo& info, const V& v, size_t n, const char* fn, const char* what) {
  if (v.n < n)
    fail(info.Env(), std::string(fn) + ": " + what + " has " + std::to_string(v.n) + " elements, needs " +
                         std::to_string(n));
}

// The Float32Arrays of a JS array, all of length ≥ P.
std::vector<const float*>& update_list(const Napi::CallbackInfo& info, size_t i, size_t P, const char* fn) {
  static thread_local std::vector<const float*> ptrs;
  ptrs.clear();
  if (!info[i].IsArray()) fail(info.Env(), std::string(fn) + ": updates must be an array of Float32Array");
  Napi::Array arr = info[i].As<Napi::Array>();
  const uint32_t K = arr.Length();
  for (uint32_t k = 0; k < K; k++) {
    Napi::Value v = arr.Get(k);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      fail(info.Env(), std::string(fn) + ": updates[" + std::to_string(k) + "] must be a Float32Array");
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    if (a.ElementLength() < P)
      fail(info.Env(), std::string(fn) + ": updates[" + std::to_string(k) + "] has " +
                           std::to_string(a.ElementLength()) + " elements, needs " + std::to_string(P));
    ptrs.push_back(a.Data());
  }
  return ptrs;
}

// Optional thread count argument (undefined → 1), capped at 64.
size_t thread_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info.Length() <= i || info[i].IsUndefined()) return 1;
  const size_t t = count(info, i, fn, "threads");
  return t < 1 ? 1 : (t > 64 ? 64 : t);
}

// Runs body(begin, end) over [0, n) split into up to `threads` contiguous ranges (at least 64 Ki elements
// each, boundaries on multiples of 64); the calling thread takes the first range. Element-wise bodies give
// the same bits whatever the split.
template <typename F>
void parallel_ranges(size_t n, size_t threads, F body) {
  const size_t most = n / (size_t(1) << 16);
  if (threads > most) threads = most;
  if (threads <= 1) { body(size_t(0), n); return; }
  const size_t chunk = ((n + threads - 1) / threads + 63) & ~size_t(63);
  std::vector<std::thread> pool;
  for (size_t b = chunk; b < n; b += chunk) pool.emplace_back(body, b, b + chunk < n ? b + chunk : n);
  body(size_t(0), chunk < n ? chunk : n);
  for (std::thread& t : pool) t.join();
}

// Scratch for the order-statistic kernels: K·kOrderTile int32 keys.
int32_t* order_keys(size_t K) {
  static thread_local std::vector<int32_t> s;
  if (s.size() < K * fedmm::kOrderTile) s.resize(K * fedmm::kOrderTile);
  return s.data();
}

// ---- variant control ----

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array compiled = Napi::Array::New(env), supported = Napi::Array::New(env);
  uint32_t c = 0, s = 0;
  for (const Variant& v : kVariants) {
    compiled.Set(c++, v.name);
    if (v.supported()) supported.Set(s++, v.name);
  }
  o.Set("compiled", compiled);
  o.Set("supported", supported);
  o.Set("active", T().name);
  return o;
}

Napi::Value SetVariant(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) fail(info.Env(), "setVariant: name must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  for (const Variant& v : kVariants) {
    if (name != v.name) continue;
    if (!v.supported())
      throw Napi::Error::New(info.Env(), "setVariant: this CPU does not support the '" + name + "' kernels");
    active = &v.table();
    return Napi::String::New(info.Env(), v.table().name);
  }
  throw Napi::Error::New(info.Env(), "setVariant: no '" + name + "' kernels in this build");
}

// ---- compute kernels ----

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = "gemm";
  const bool tA = flag(info, 0), tB = flag(info, 1);
  const size_t M = count(info, 2, fn, "M"), N = count(info, 3, fn, "N"), K = count(info, 4, fn, "K");
  const float alpha = (float)num(info, 5, fn, "alpha");
  auto a = f32(info, 6, fn, "a");
  auto b = f32(info, 7, fn, "b");
  const float beta = (float)num(info, 8, fn, "beta");
  auto c = f32(info, 9, fn, "c");
  need(info, a, prod(info, fn, {M, K}), fn, "a");
  need(info, b, prod(info, fn, {K, N}), fn, "b");
  need(info, c, prod(info, fn, {M, N}), fn, "c");
  T().gemm(tA, tB, M, N, K, alpha, a.p, b.p, beta, c.p);
  return info.Env().Undefined();
}

View<float> f32opt(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what, size_t n) {
  View<float> v = f32(info, i, fn, what, true);
  if (v.p) need(info, v, n, fn, what);
  return v;
}

Napi::Value Conv1dForward(const Napi::CallbackInfo& info) {
  const char* fn = "conv1dForward";
  const size_t B = count(info, 4, fn, "B"), Cin = count(info, 5, fn, "Cin"), L = count(info, 6, fn, "L");
  const size_t Cout = count(info, 7, fn, "Cout"), K = count(info, 8, fn, "K"), stride = count(info, 9, fn, "stride");
  const size_t pad = count(info, 10, fn, "padding"), Lout = count(info, 11, fn, "Lout");
  if (K < 1 || stride < 1 || L + 2 * pad < K || (L + 2 * pad - K) / stride + 1 != Lout)
    fail(info.Env(), "conv1dForward: inconsistent dims (need K ≥ 1, stride ≥ 1, Lout = floor((L + 2·padding − K)/stride) + 1)");
  prod(info, fn, {Cin, K, Lout});  // the im2col buffer
  auto x = f32(info, 0, fn, "x");
  auto w = f32(info, 1, fn, "w");
  auto bias = f32opt(info, 2, fn, "bias", Cout);
  auto out = f32(info, 3, fn, "out");
  need(info, x, prod(info, fn, {B, Cin, L}), fn, "x");
  need(info, w, prod(info, fn, {Cout, Cin, K}), fn, "w");
  need(info, out, prod(info, fn, {B, Cout, Lout}), fn, "out");
  T().conv1d_forward(x.p, w.p, bias.p, out.p, B, Cin, L, Cout, K, stride, pad, Lout);
  return info.Env().Undefined();
}

Napi::Value Conv1dBackward(const Napi::CallbackInfo& info) {
  const char* fn = "conv1dBackward";
  const size_t B = count(info, 6, fn, "B"), Cin = count(info, 7, fn, "Cin"), L = count(info, 8, fn, "L");
  const size_t Cout = count(info, 9, fn, "Cout"), K = count(info, 10, fn, "K"), stride = count(info, 11, fn, "stride");
  const size_t pad = count(info, 12, fn, "padding"), Lout = count(info, 13, fn, "Lout");
  if (K < 1 || stride < 1 || L + 2 * pad < K || (L + 2 * pad - K) / stride + 1 != Lout)
    fail(info.Env(), "conv1dBackward: inconsistent dims (need K ≥ 1, stride ≥ 1, Lout = floor((L + 2·padding − K)/stride) + 1)");
  prod(info, fn, {Cin, K, Lout});  // the im2col buffers
  auto x = f32(info, 0, fn, "x");
  auto w = f32(info, 1, fn, "w");
  auto g = f32(info, 2, fn, "gOut");
  auto gx = f32opt(info, 3, fn, "gx", prod(info, fn, {B, Cin, L}));
  auto gw = f32opt(info, 4, fn, "gw", prod(info, fn, {Cout, Cin, K}));
  auto gb = f32opt(info, 5, fn, "gBias", Cout);
  need(info, x, prod(info, fn, {B, Cin, L}), fn, "x");
  need(info, w, prod(info, fn, {Cout, Cin, K}), fn, "w");
  need(info, g, prod(info, fn, {B, Cout, Lout}), fn, "gOut");
  T().conv1d_backward(x.p, w.p, g.p, gx.p, gw.p, gb.p, B, Cin, L, Cout, K, stride, pad, Lout);
  return info.Env().Undefined();
}

const int32_t* gru_lengths(const Napi::CallbackInfo& info, size_t i, size_t B, size_t T, const char* fn) {
  Napi::Value v = info[i];
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  auto len = typed<int32_t, napi_int32_array>(info, i, fn, "lengths", "Int32Array");
  need(info, len, B, fn, "lengths");
  for (size_t b = 0; b < B; b++)
    if (len.p[b] < 0 || (size_t)len.p[b] > T)
      fail(info.Env(), std::string(fn) + ": lengths[" + std::to_string(b) + "] = " + std::to_string(len.p[b]) +
                           " is outside 0.." + std::to_string(T));
  return len.p;
}

Napi::Value GruForward(const Napi::CallbackInfo& info) {
  const char* fn = "gruForward";
  const size_t B = count(info, 10, fn, "B"), Tn = count(info, 11, fn, "T"), I = count(info, 12, fn, "I");
  const size_t H = count(info, 13, fn, "H");
  auto x = f32(info, 0, fn, "x");
  const int32_t* lengths = gru_lengths(info, 1, B, Tn, fn);
  auto h0 = f32opt(info, 2, fn, "h0", prod(info, fn, {B, H}));
  auto wIh = f32(info, 3, fn, "wIh");
  auto wHh = f32(info, 4, fn, "wHh");
  auto bIh = f32opt(info, 5, fn, "bIh", prod(info, fn, {3, H}));
  auto bHh = f32opt(info, 6, fn, "bHh", prod(info, fn, {3, H}));
  auto out = f32(info, 7, fn, "out");
  auto hN = f32(info, 8, fn, "hN");
  auto saved = f32opt(info, 9, fn, "saved", prod(info, fn, {B, Tn, 4, H}));  // null: forward only
  need(info, x, prod(info, fn, {B, Tn, I}), fn, "x");
  need(info, wIh, prod(info, fn, {3, H, I}), fn, "wIh");
  need(info, wHh, prod(info, fn, {3, H, H}), fn, "wHh");
  need(info, out, prod(info, fn, {B, Tn, H}), fn, "out");
  need(info, hN, prod(info, fn, {B, H}), fn, "hN");
  T().gru_forward(x.p, lengths, h0.p, wIh.p, wHh.p, bIh.p, bHh.p, out.p, hN.p, saved.p, B, Tn, I, H);
  return info.Env().Undefined();
}

Napi::Value GruBackward(const Napi::CallbackInfo& info) {
  const char* fn = "gruBackward";
  const size_t B = count(info, 15, fn, "B"), Tn = count(info, 16, fn, "T"), I = count(info, 17, fn, "I");
  const size_t H = count(info, 18, fn, "H");
  auto x = f32(info, 0, fn, "x");
  const int32_t* lengths = gru_lengths(info, 1, B, Tn, fn);
  auto h0 = f32opt(info, 2, fn, "h0", prod(info, fn, {B, H}));
  auto wIh = f32(info, 3, fn, "wIh");
  auto wHh = f32(info, 4, fn, "wHh");
  auto out = f32(info, 5, fn, "out");
  auto saved = f32(info, 6, fn, "saved");
  auto gOut = f32opt(info, 7, fn, "gOut", prod(info, fn, {B, Tn, H}));
  auto ghN = f32opt(info, 8, fn, "ghN", prod(info, fn, {B, H}));
  auto gx = f32opt(info, 9, fn, "gx", prod(info, fn, {B, Tn, I}));
  auto gh0 = f32opt(info, 10, fn, "gh0", prod(info, fn, {B, H}));
  auto gWih = f32opt(info, 11, fn, "gWih", prod(info, fn, {3, H, I}));
  auto gWhh = f32opt(info, 12, fn, "gWhh", prod(info, fn, {3, H, H}));
  auto gbIh = f32opt(info, 13, fn, "gbIh", prod(info, fn, {3, H}));
  auto gbHh = f32opt(info, 14, fn, "gbHh", prod(info, fn, {3, H}));
  need(info, x, prod(info, fn, {B, Tn, I}), fn, "x");
  need(info, wIh, prod(info, fn, {3, H, I}), fn, "wIh");
  need(info, wHh, prod(info, fn, {3, H, H}), fn, "wHh");
  need(info, out, prod(info, fn, {B, Tn, H}), fn, "out");
  need(info, saved, prod(info, fn, {B, Tn, 4, H}), fn, "saved");
  T().gru_backward(x.p, lengths, h0.p, wIh.p, wHh.p, out.p, saved.p, gOut.p, ghN.p, gx.p, gh0.p, gWih.p, gWhh.p,
                   gbIh.p, gbHh.p, B, Tn, I, H);
  return info.Env().Undefined();
}

Napi::Value MaxPoolForward(const Napi::CallbackInfo& info) {
  const char* fn = "maxPool1dForward";
  auto x = f32(info, 0, fn, "x");
  auto out = f32(info, 1, fn, "out");
  auto am = typed<int32_t, napi_int32_array>(info, 2, fn, "argmax", "Int32Array");
  const size_t rows = count(info, 3, fn, "rows"), L = count(info, 4, fn, "L");
  const size_t kernel = count(info, 5, fn, "kernel"), stride = count(info, 6, fn, "stride");
  if (kernel < 1 || stride < 1 || kernel > L) fail(info.Env(), "maxPool1dForward: need 1 ≤ kernel ≤ L and stride ≥ 1");
  const size_t Lout = (L - kernel) / stride + 1;
  need(info, x, prod(info, fn, {rows, L}), fn, "x");
  need(info, out, prod(info, fn, {rows, Lout}), fn, "out");
  need(info, am, prod(info, fn, {rows, Lout}), fn, "argmax");
  T().maxpool1d_forward(x.p, out.p, am.p, rows, L, kernel, stride);
  return info.Env().Undefined();
}

Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) {
  const char* fn = "maxPool1dBackward";
  auto g = f32(info, 0, fn, "gOut");
  auto am = typed<int32_t, napi_int32_array>(info, 1, fn, "argmax", "Int32Array");
  auto gx = f32(info, 2, fn, "gx");
  const size_t rows = count(info, 3, fn, "rows"), L = count(info, 4, fn, "L"), Lout = count(info, 5, fn, "Lout");
  need(info, g, prod(info, fn, {rows, Lout}), fn, "gOut");
  need(info, am, prod(info, fn, {rows, Lout}), fn, "argmax");
  need(info, gx, prod(info, fn, {rows, L}), fn, "gx");
  for (size_t i = 0; i < rows * Lout; i++)
    if (am.p[i] < 0 || (size_t)am.p[i] >= L) fail(info.Env(), "maxPool1dBackward: argmax index out of range");
  T().maxpool1d_backward(g.p, am.p, gx.p, rows, L, Lout);
  return info.Env().Undefined();
}

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  const char* fn = "sgdStep";
  auto p = f32(info, 0, fn, "param");
  auto g = f32(info, 1, fn, "grad");
  auto buf = f32(info, 2, fn, "momentumBuf", true);
  const double lr = num(info, 3, fn, "lr"), mom = num(info, 4, fn, "momentum"), damp = num(info, 5, fn, "dampening");
  const bool nesterov = flag(info, 6);
  const double wd = num(info, 7, fn, "weightDecay");
  const bool hasBuf = flag(info, 8);
  need(info, g, p.n, fn, "grad");
  if (mom != 0.0) {
    if (!buf.p) fail(info.Env(), "sgdStep: momentum needs a momentum buffer");
    need(info, buf, p.n, fn, "momentumBuf");
  }
  T().sgd_step(p.p, g.p, buf.p, p.n, lr, mom, damp, nesterov, wd, hasBuf);
  return info.Env().Undefined();
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const char* fn = "adamStep";
  auto p = f32(info, 0, fn, "param");
  auto g = f32(info, 1, fn, "grad");
  auto m = f32(info, 2, fn, "expAvg");
  auto v = f32(info, 3, fn, "expAvgSq");
  need(info, g, p.n, fn, "grad");
  need(info, m, p.n, fn, "expAvg");
  need(info, v, p.n, fn, "expAvgSq");
  T().adam_step(p.p, g.p, m.p, v.p, p.n, num(info, 4, fn, "beta1"), num(info, 5, fn, "beta2"), num(info, 6, fn, "eps"),
                num(info, 7, fn, "stepSize"), num(info, 8, fn, "sqrtBc2"), num(info, 9, fn, "decay"),
                num(info, 10, fn, "l2"));
  return info.Env().Undefined();
}

// ---- aggregation ----

Napi::Value ReadBytes(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) fail(info.Env(), "readBytes: x must be a typed array");
  Napi::TypedArray a = info[0].As<Napi::TypedArray>();
  const uint8_t* p = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  const KernelTable& k = T();
  std::atomic<uint64_t> bits{0};
  parallel_ranges(a.ByteLength(), thread_arg(info, 1, "readBytes"),
                  [&](size_t b, size_t e) { bits.fetch_or(k.read_bytes(p + b, e - b)); });
  return Napi::Number::New(info.Env(), (double)(bits.load() & 0xffff));
}

Napi::Value FindNonFinite(const Napi::CallbackInfo& info) {
  auto x = f32(info, 0, "findNonFinite", "x");
  return Napi::Number::New(info.Env(), (double)T().find_nonfinite(x.p, x.n));
}

Napi::Value FoldGroup(const Napi::CallbackInfo& info) {
  const char* fn = "foldGroup";
  auto in = f64(info, 0, fn, "accIn", true);
  auto out = f64(info, 1, fn, "accOut");
  const size_t P = in.p ? in.n : out.n;
  need(info, out, P, fn, "accOut");
  if (P > 0 && out.p == in.p) fail(info.Env(), "foldGroup: accIn and accOut must be different buffers");
  auto& ups = update_list(info, 2, P, fn);
  auto c = f64(info, 3, fn, "coefficients");
  const size_t G = count(info, 4, fn, "count");
  if (G > ups.size()) fail(info.Env(), "foldGroup: count exceeds the number of updates");
  need(info, c, G, fn, "coefficients");
  const size_t threads = thread_arg(info, 5, fn);
  const KernelTable& k = T();
  if (threads == 1) return Napi::Boolean::New(info.Env(), k.fold_group(in.p, out.p, ups.data(), c.p, G, P));
  const std::vector<const float*> base(ups.begin(), ups.begin() + G);
  std::atomic<bool> finite{true};
  parallel_ranges(P, threads, [&](size_t b, size_t e) {
    std::vector<const float*> shifted(G);
    for (size_t g = 0; g < G; g++) shifted[g] = base[g] + b;
    if (!k.fold_group(in.p ? in.p + b : nullptr, out.p + b, shifted.data(), c.p, G, e - b)) finite = false;
  });
  return Napi::Boolean::New(info.Env(), finite.load());
}

Napi::Value FoldFinish(const Napi::CallbackInfo& info) {
  const char* fn = "foldFinish";
  auto in = f64(info, 0, fn, "accIn", true);
  auto out = f32(info, 5, fn, "out");
  const size_t P = in.p ? in.n : out.n;
  need(info, out, P, fn, "out");
  auto& ups = update_list(info, 1, P, fn);
  auto c = f64(info, 2, fn, "coefficients");
  const size_t G = count(info, 3, fn, "count");
  const double W = num(info, 4, fn, "totalWeight");
  if (G > ups.size()) fail(info.Env(), "foldFinish: count exceeds the number of updates");
  need(info, c, G, fn, "coefficients");
  const std::vector<const float*> base(ups.begin(), ups.begin() + G);
  const KernelTable& k = T();
  std::atomic<bool> finite{true};
  parallel_ranges(P, thread_arg(info, 6, fn), [&](size_t b, size_t e) {
    std::vector<const float*> shifted(G);
    for (size_t g = 0; g < G; g++) shifted[g] = base[g] + b;
    if (!k.fold_finish(in.p ? in.p + b : nullptr, shifted.data(), c.p, G, W, out.p + b, e - b)) finite = false;
  });
  return Napi::Boolean::New(info.Env(), finite.load());
}

Napi::Value FinishMean(const Napi::CallbackInfo& info) {
  const char* fn = "finishMean";
  auto acc = f64(info, 0, fn, "acc");
  const double W = num(info, 1, fn, "totalWeight");
  auto out = f32(info, 2, fn, "out");
  need(info, out, acc.n, fn, "out");
  const KernelTable& k = T();
  parallel_ranges(acc.n, thread_arg(info, 3, fn),
                  [&](size_t b, size_t e) { k.finish_mean(acc.p + b, W, out.p + b, e - b); });
  return info.Env().Undefined();
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  auto x = f32(info, 0, "sumSquares", "x");
  return Napi::Number::New(info.Env(), T().sum_squares(x.p, x.n));
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  auto x = f32(info, 0, "scale", "x");
  T().scale(x.p, (float)num(info, 1, "scale", "s"), x.n);
  return info.Env().Undefined();
}

Napi::Value Accumulate(const Napi::CallbackInfo& info) {
  auto acc = f32(info, 0, "accumulate", "acc");
  auto g = f32(info, 1, "accumulate", "g");
  need(info, g, acc.n, "accumulate", "g");
  T().add_into(acc.p, g.p, acc.n);
  return info.Env().Undefined();
}

Napi::Value Median(const Napi::CallbackInfo& info) {
  const char* fn = "median";
  auto out = f32(info, 1, fn, "out");
  auto& ups = update_list(info, 0, out.n, fn);
  if (ups.empty()) fail(info.Env(), "median: needs at least one update");
  T().median(ups.data(), ups.size(), out.n, out.p, order_keys(ups.size()));
  return info.Env().Undefined();
}

Napi::Value TrimmedMean(const Napi::CallbackInfo& info) {
  const char* fn = "trimmedMean";
  const size_t trim = count(info, 1, fn, "trim");
  auto out = f32(info, 2, fn, "out");
  auto& ups = update_list(info, 0, out.n, fn);
  if (2 * trim >= ups.size()) fail(info.Env(), "trimmedMean: trimming removes every update");
  T().trimmed_mean(ups.data(), ups.size(), out.n, trim, out.p, order_keys(ups.size()));
  return info.Env().Undefined();
}

Napi::Value PairwiseSqDist(const Napi::CallbackInfo& info) {
  const char* fn = "pairwiseSqDist";
  auto out = f64(info, 1, fn, "out");
  const size_t P = count(info, 2, fn, "size");
  auto& ups = update_list(info, 0, P, fn);
  const size_t K = ups.size();
  if (K == 0) fail(info.Env(), "pairwiseSqDist: needs at least one update");
  need(info, out, prod(info, fn, {K, K}), fn, "out");
  static thread_local std::vector<double> lanes;
  lanes.resize(K * (K - 1) / 2 * 32 + 1);
  T().pairwise_sq_dist(ups.data(), K, P, out.p, lanes.data());
  return info.Env().Undefined();
}

Napi::Value ClosestToMedianMean(const Napi::CallbackInfo& info) {
  const char* fn = "closestToMedianMean";
  const size_t beta = count(info, 1, fn, "beta");
  auto out = f32(info, 2, fn, "out");
  auto& ups = update_list(info, 0, out.n, fn);
  if (beta < 1 || beta > ups.size()) fail(info.Env(), "closestToMedianMean: beta must be in 1..number of updates");
  T().closest_to_median_mean(ups.data(), ups.size(), out.n, beta, out.p, order_keys(ups.size()));
  return info.Env().Undefined();
}

Napi::Value FedoptStep(const Napi::CallbackInfo& info) {
  const char* fn = "fedoptStep";
  const double rule = num(info, 0, fn, "rule");
  auto p = f32(info, 1, fn, "params");
  auto g = f32(info, 2, fn, "pseudoGrad");
  auto m = f32(info, 3, fn, "m");
  auto v = f32(info, 4, fn, "v");
  need(info, g, p.n, fn, "pseudoGrad");
  need(info, m, p.n, fn, "m");
  need(info, v, p.n, fn, "v");
  if (rule != 0 && rule != 1 && rule != 2) fail(info.Env(), "fedoptStep: rule must be 0 (adam), 1 (yogi) or 2 (adagrad)");
  T().fedopt_step((int)rule, p.p, g.p, m.p, v.p, p.n, num(info, 5, fn, "lr"), num(info, 6, fn, "beta1"),
                  num(info, 7, fn, "beta2"), num(info, 8, fn, "tau"));
  return info.Env().Undefined();
}

Napi::Value ServerSgdStep(const Napi::CallbackInfo& info) {
  const char* fn = "serverSgdStep";
  auto p = f32(info, 0, fn, "params");
  auto g = f32(info, 1, fn, "pseudoGrad");
  auto m = f32(info, 2, fn, "momentumBuf", true);
  const double lr = num(info, 3, fn, "lr"), mom = num(info, 4, fn, "momentum");
  need(info, g, p.n, fn, "pseudoGrad");
  if (mom != 0.0) {
    if (!m.p) fail(info.Env(), "serverSgdStep: momentum needs a momentum buffer");
    need(info, m, p.n, fn, "momentumBuf");
  }
  T().server_sgd_step(p.p, g.p, m.p, p.n, lr, mom);
  return info.Env().Undefined();
}

Napi::Value ToFp16(const Napi::CallbackInfo& info) {
  auto x = f32(info, 0, "toFp16", "x");
  auto h = typed<uint16_t, napi_uint16_array>(info, 1, "toFp16", "out", "Uint16Array");
  need(info, h, x.n, "toFp16", "out");
  T().to_fp16(x.p, h.p, x.n);
  return info.Env().Undefined();
}

Napi::Value FromFp16(const Napi::CallbackInfo& info) {
  auto h = typed<uint16_t, napi_uint16_array>(info, 0, "fromFp16", "h", "Uint16Array");
  auto x = f32(info, 1, "fromFp16", "out");
  need(info, x, h.n, "fromFp16", "out");
  T().from_fp16(h.p, x.p, h.n);
  return info.Env().Undefined();
}

Napi::Value QuantizeInt8(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeInt8";
  auto x = f32(info, 0, fn, "x");
  auto q = typed<int8_t, napi_int8_array>(info, 1, fn, "q", "Int8Array");
  auto s = f32(info, 2, fn, "scales");
  const size_t block = count(info, 3, fn, "blockSize");
  if (block < 1) fail(info.Env(), "quantizeInt8: blockSize must be ≥ 1");
  need(info, q, x.n, fn, "q");
  need(info, s, (x.n + block - 1) / block, fn, "scales");
  return Napi::Number::New(info.Env(), (double)T().quantize_int8(x.p, q.p, s.p, x.n, block));
}

Napi::Value DequantizeInt8(const Napi::CallbackInfo& info) {
  const char* fn = "dequantizeInt8";
  auto q = typed<int8_t, napi_int8_array>(info, 0, fn, "q", "Int8Array");
  auto s = f32(info, 1, fn, "scales");
  auto x = f32(info, 2, fn, "out");
  const size_t block = count(info, 3, fn, "blockSize");
  if (block < 1) fail(info.Env(), "dequantizeInt8: blockSize must be ≥ 1");
  need(info, x, q.n, fn, "out");
  need(info, s, (q.n + block - 1) / block, fn, "scales");
  T().dequantize_int8(q.p, s.p, x.p, q.n, block);
  return info.Env().Undefined();
}

// ---- fused layers ----

View<int32_t> i32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* what, bool nullable = false) {
  return typed<int32_t, napi_int32_array>(info, i, fn, what, "Int32Array", nullable);
}

struct BlockDims {
  size_t B, Cin, L, Cout, K, stride, pad, Lout, poolK, poolS, P;
};

// The 11 dims of a conv block from argument `i` on, checked for consistency.
BlockDims block_dims(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  BlockDims d{count(info, i, fn, "B"), count(info, i + 1, fn, "Cin"), count(info, i + 2, fn, "L"),
              count(info, i + 3, fn, "Cout"), count(info, i + 4, fn, "K"), count(info, i + 5, fn, "stride"),
              count(info, i + 6, fn, "padding"), count(info, i + 7, fn, "Lout"), count(info, i + 8, fn, "poolKernel"),
              count(info, i + 9, fn, "poolStride"), count(info, i + 10, fn, "P")};
  if (d.K < 1 || d.stride < 1 || d.L + 2 * d.pad < d.K || (d.L + 2 * d.pad - d.K) / d.stride + 1 != d.Lout ||
      d.poolK < 1 || d.poolS < 1 || d.poolK > d.Lout || (d.Lout - d.poolK) / d.poolS + 1 != d.P)
    fail(info.Env(), std::string(fn) + ": inconsistent dims (need Lout = floor((L + 2·padding − K)/stride) + 1, "
                                       "P = floor((Lout − poolKernel)/poolStride) + 1)");
  prod(info, fn, {d.Cin, d.K, d.Lout});
  prod(info, fn, {d.B, d.Cout, d.Lout});
  return d;
}

Napi::Value ConvBlockForward(const Napi::CallbackInfo& info) {
  const char* fn = "convBlockForward";
  const BlockDims d = block_dims(info, 7, fn);
  const size_t n = prod(info, fn, {d.B, d.Cout, d.P});
  auto x = f32(info, 0, fn, "x");
  auto w = f32(info, 1, fn, "w");
  auto bias = f32opt(info, 2, fn, "bias", d.Cout);
  auto mask = f32opt(info, 3, fn, "mask", n);
  auto pooled = f32(info, 4, fn, "pooled");
  auto am = i32(info, 5, fn, "argmax", true);  // null: forward only
  auto out = f32(info, 6, fn, "out");
  need(info, x, prod(info, fn, {d.B, d.Cin, d.L}), fn, "x");
  need(info, w, prod(info, fn, {d.Cout, d.Cin, d.K}), fn, "w");
  need(info, pooled, n, fn, "pooled");
  if (am.p) need(info, am, n, fn, "argmax");
  need(info, out, n, fn, "out");
  T().conv_block_forward(x.p, w.p, bias.p, mask.p, pooled.p, am.p, out.p, d.B, d.Cin, d.L, d.Cout, d.K, d.stride,
                         d.pad, d.Lout, d.poolK, d.poolS, d.P);
  return info.Env().Undefined();
}

Napi::Value ConvBlockBackward(const Napi::CallbackInfo& info) {
  const char* fn = "convBlockBackward";
  const BlockDims d = block_dims(info, 9, fn);
  const size_t n = prod(info, fn, {d.B, d.Cout, d.P});
  auto x = f32(info, 0, fn, "x");
  auto w = f32(info, 1, fn, "w");
  auto pooled = f32(info, 2, fn, "pooled");
  auto am = i32(info, 3, fn, "argmax");
  auto mask = f32opt(info, 4, fn, "mask", n);
  auto g = f32(info, 5, fn, "gOut");
  auto gx = f32opt(info, 6, fn, "gx", prod(info, fn, {d.B, d.Cin, d.L}));
  auto gw = f32opt(info, 7, fn, "gw", prod(info, fn, {d.Cout, d.Cin, d.K}));
  auto gb = f32opt(info, 8, fn, "gBias", d.Cout);
  need(info, x, prod(info, fn, {d.B, d.Cin, d.L}), fn, "x");
  need(info, w, prod(info, fn, {d.Cout, d.Cin, d.K}), fn, "w");
  need(info, pooled, n, fn, "pooled");
  need(info, am, n, fn, "argmax");
  need(info, g, n, fn, "gOut");
  for (size_t i = 0; i < n; i++)
    if (am.p[i] < 0 || (size_t)am.p[i] >= d.Lout)
      fail(info.Env(), std::string(fn) + ": argmax[" + std::to_string(i) + "] is outside 0.." + std::to_string(d.Lout - 1));
  T().conv_block_backward(x.p, w.p, pooled.p, am.p, mask.p, g.p, gx.p, gw.p, gb.p, d.B, d.Cin, d.L, d.Cout, d.K,
                          d.stride, d.pad, d.Lout, d.P);
  return info.Env().Undefined();
}

int act_code(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const size_t a = count(info, i, fn, "act");
  if (a > 2) fail(info.Env(), std::string(fn) + ": act must be 0 (none), 1 (relu) or 2 (tanh)");
  return (int)a;
}

Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  const char* fn = "linearForward";
  const size_t M = count(info, 7, fn, "M"), N = count(info, 8, fn, "N"), K = count(info, 9, fn, "K");
  const size_t mn = prod(info, fn, {M, N});
  auto x = f32(info, 0, fn, "x");
  auto w = f32(info, 1, fn, "w");
  auto bias = f32opt(info, 2, fn, "bias", N);
  const int act = act_code(info, 3, fn);
  auto mask = f32opt(info, 4, fn, "mask", mn);
  auto y = f32(info, 5, fn, "y");
  auto out = f32(info, 6, fn, "out");
  need(info, x, prod(info, fn, {M, K}), fn, "x");
  need(info, w, prod(info, fn, {N, K}), fn, "w");
  need(info, y, mn, fn, "y");
  need(info, out, mn, fn, "out");
  T().linear_forward(x.p, w.p, bias.p, act, mask.p, y.p, out.p, M, N, K);
  return info.Env().Undefined();
}

Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  const char* fn = "linearBackward";
  const size_t M = count(info, 9, fn, "M"), N = count(info, 10, fn, "N"), K = count(info, 11, fn, "K");
  const size_t mn = prod(info, fn, {M, N});
  auto x = f32(info, 0, fn, "x");
  auto w = f32(info, 1, fn, "w");
  auto y = f32(info, 2, fn, "y");
  const int act = act_code(info, 3, fn);
  auto mask = f32opt(info, 4, fn, "mask", mn);
  auto g = f32(info, 5, fn, "gOut");
  auto gx = f32opt(info, 6, fn, "gx", prod(info, fn, {M, K}));
  auto gw = f32opt(info, 7, fn, "gw", prod(info, fn, {N, K}));
  auto gb = f32opt(info, 8, fn, "gBias", N);
  need(info, x, prod(info, fn, {M, K}), fn, "x");
  need(info, w, prod(info, fn, {N, K}), fn, "w");
  need(info, y, mn, fn, "y");
  need(info, g, mn, fn, "gOut");
  T().linear_backward(x.p, w.p, y.p, act, mask.p, g.p, gx.p, gw.p, gb.p, M, N, K);
  return info.Env().Undefined();
}

struct AttDims {
  size_t B, T, D, hidden, heads;
};

AttDims att_dims(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  AttDims d{count(info, i, fn, "B"), count(info, i + 1, fn, "T"), count(info, i + 2, fn, "D"),
            count(info, i + 3, fn, "hidden"), count(info, i + 4, fn, "heads")};
  if (d.T < 1 || d.heads < 1) fail(info.Env(), std::string(fn) + ": T and heads must be ≥ 1");
  prod(info, fn, {d.B, d.T, d.hidden});
  prod(info, fn, {d.B, d.T, d.D});
  prod(info, fn, {d.B, d.heads, d.D});
  return d;
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionFusionForward";
  const AttDims d = att_dims(info, 9, fn);
  auto h = f32(info, 0, fn, "h");
  auto mask = f32(info, 1, fn, "mask");
  auto w1 = f32(info, 2, fn, "w1");
  auto b1 = f32opt(info, 3, fn, "b1", d.hidden);
  auto w2 = f32(info, 4, fn, "w2");
  auto b2 = f32opt(info, 5, fn, "b2", d.heads);
  auto u = f32opt(info, 6, fn, "u", d.B * d.T * d.hidden);  // null: forward only
  auto a = f32(info, 7, fn, "a");
  auto out = f32(info, 8, fn, "out");
  need(info, h, d.B * d.T * d.D, fn, "h");
  need(info, mask, d.B * d.T, fn, "mask");
  need(info, w1, prod(info, fn, {d.hidden, d.D}), fn, "w1");
  need(info, w2, prod(info, fn, {d.heads, d.hidden}), fn, "w2");
  need(info, a, prod(info, fn, {d.B, d.heads, d.T}), fn, "a");
  need(info, out, d.B * d.heads * d.D, fn, "out");
  T().attention_forward(h.p, mask.p, w1.p, b1.p, w2.p, b2.p, u.p, a.p, out.p, d.B, d.T, d.D, d.hidden, d.heads);
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const char* fn = "attentionFusionBackward";
  const AttDims d = att_dims(info, 12, fn);
  auto h = f32(info, 0, fn, "h");
  auto mask = f32(info, 1, fn, "mask");
  auto w1 = f32(info, 2, fn, "w1");
  auto w2 = f32(info, 3, fn, "w2");
  auto u = f32(info, 4, fn, "u");
  auto a = f32(info, 5, fn, "a");
  auto g = f32(info, 6, fn, "gOut");
  auto gh = f32opt(info, 7, fn, "gh", d.B * d.T * d.D);
  auto gw1 = f32opt(info, 8, fn, "gw1", prod(info, fn, {d.hidden, d.D}));
  auto gb1 = f32opt(info, 9, fn, "gb1", d.hidden);
  auto gw2 = f32opt(info, 10, fn, "gw2", prod(info, fn, {d.heads, d.hidden}));
  auto gb2 = f32opt(info, 11, fn, "gb2", d.heads);
  need(info, h, d.B * d.T * d.D, fn, "h");
  need(info, mask, d.B * d.T, fn, "mask");
  need(info, w1, prod(info, fn, {d.hidden, d.D}), fn, "w1");
  need(info, w2, prod(info, fn, {d.heads, d.hidden}), fn, "w2");
  need(info, u, d.B * d.T * d.hidden, fn, "u");
  need(info, a, prod(info, fn, {d.B, d.heads, d.T}), fn, "a");
  need(info, g, d.B * d.heads * d.D, fn, "gOut");
  T().attention_backward(h.p, mask.p, w1.p, w2.p, u.p, a.p, g.p, gh.p, gw1.p, gb1.p, gw2.p, gb2.p, d.B, d.T, d.D,
                         d.hidden, d.heads);
  return info.Env().Undefined();
}

// targets[N], each in [0, C)
const int32_t* class_targets(const Napi::CallbackInfo& info, size_t i, size_t N, size_t C, const char* fn) {
  auto t = i32(info, i, fn, "targets");
  need(info, t, N, fn, "targets");
  for (size_t n = 0; n < N; n++)
    if (t.p[n] < 0 || (size_t)t.p[n] >= C)
      fail(info.Env(), std::string(fn) + ": targets[" + std::to_string(n) + "] = " + std::to_string(t.p[n]) +
                           " is outside 0.." + std::to_string(C - 1));
  return t.p;
}

Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyForward";
  const size_t N = count(info, 3, fn, "N"), C = count(info, 4, fn, "C");
  if (N < 1 || C < 1) fail(info.Env(), std::string(fn) + ": N and C must be ≥ 1");
  auto x = f32(info, 0, fn, "logits");
  const int32_t* t = class_targets(info, 1, N, C, fn);
  auto probs = f32(info, 2, fn, "probs");
  need(info, x, prod(info, fn, {N, C}), fn, "logits");
  need(info, probs, N * C, fn, "probs");
  return Napi::Number::New(info.Env(), T().cross_entropy_forward(x.p, t, probs.p, N, C));
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const char* fn = "crossEntropyBackward";
  const size_t N = count(info, 4, fn, "N"), C = count(info, 5, fn, "C");
  auto probs = f32(info, 0, fn, "probs");
  const int32_t* t = class_targets(info, 1, N, C, fn);
  const double scale = num(info, 2, fn, "scale");
  auto gx = f32(info, 3, fn, "gx");
  need(info, probs, prod(info, fn, {N, C}), fn, "probs");
  need(info, gx, N * C, fn, "gx");
  T().cross_entropy_backward(probs.p, t, scale, gx.p, N, C);
  return info.Env().Undefined();
}

Napi::Value BceForward(const Napi::CallbackInfo& info) {
  const char* fn = "bceWithLogitsForward";
  const size_t n = count(info, 2, fn, "n");
  if (n < 1) fail(info.Env(), std::string(fn) + ": n must be ≥ 1");
  auto x = f32(info, 0, fn, "x");
  auto y = f32(info, 1, fn, "y");
  need(info, x, n, fn, "x");
  need(info, y, n, fn, "y");
  return Napi::Number::New(info.Env(), T().bce_forward(x.p, y.p, n));
}

Napi::Value BceBackward(const Napi::CallbackInfo& info) {
  const char* fn = "bceWithLogitsBackward";
  const size_t n = count(info, 4, fn, "n");
  auto x = f32(info, 0, fn, "x");
  auto y = f32(info, 1, fn, "y");
  const double scale = num(info, 2, fn, "scale");
  auto gx = f32(info, 3, fn, "gx");
  need(info, x, n, fn, "x");
  need(info, y, n, fn, "y");
  need(info, gx, n, fn, "gx");
  T().bce_backward(x.p, y.p, scale, gx.p, n);
  return info.Env().Undefined();
}

Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  const char* fn = "dropoutMask";
  auto state = typed<uint32_t, napi_uint32_array>(info, 0, fn, "state", "Uint32Array");
  need(info, state, 4, fn, "state");
  const double threshold = num(info, 1, fn, "threshold");
  const float scale = (float)num(info, 2, fn, "scale");
  auto mask = f32(info, 3, fn, "mask");
  T().dropout_mask(state.p, threshold, scale, mask.p, mask.n);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!active) {
    for (const Variant& v : kVariants) {
      if (v.supported()) { active = &v.table(); break; }
    }
  }
  struct Entry { const char* name; Napi::Value (*fn)(const Napi::CallbackInfo&); };
  const Entry entries[] = {
      {"info", Info}, {"setVariant", SetVariant}, {"gemm", Gemm}, {"conv1dForward", Conv1dForward},
      {"conv1dBackward", Conv1dBackward}, {"gruForward", GruForward}, {"gruBackward", GruBackward}, {"maxPool1dForward", MaxPoolForward},
      {"maxPool1dBackward", MaxPoolBackward}, {"sgdStep", SgdStep}, {"adamStep", AdamStep}, {"readBytes", ReadBytes},
      {"findNonFinite", FindNonFinite}, {"foldGroup", FoldGroup}, {"foldFinish", FoldFinish}, {"finishMean", FinishMean},
      {"sumSquares", SumSquares}, {"scale", Scale}, {"accumulate", Accumulate}, {"median", Median}, {"trimmedMean", TrimmedMean},
      {"pairwiseSqDist", PairwiseSqDist}, {"closestToMedianMean", ClosestToMedianMean},
      {"fedoptStep", FedoptStep}, {"serverSgdStep", ServerSgdStep}, {"toFp16", ToFp16},
      {"fromFp16", FromFp16}, {"quantizeInt8", QuantizeInt8}, {"dequantizeInt8", DequantizeInt8},
      {"convBlockForward", ConvBlockForward}, {"convBlockBackward", ConvBlockBackward},
      {"linearForward", LinearForward}, {"linearBackward", LinearBackward},
      {"attentionFusionForward", AttentionForward}, {"attentionFusionBackward", AttentionBackward},
      {"crossEntropyForward", CrossEntropyForward}, {"crossEntropyBackward", CrossEntropyBackward},
      {"bceWithLogitsForward", BceForward}, {"bceWithLogitsBackward", BceBackward}, {"dropoutMask", DropoutMask},
  };
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  return exports;
}

}  // namespace

NODE_API_MODULE(fedmm, Init)
