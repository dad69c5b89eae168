// This variant's kernel table (one per compilation of native/isa/*.cc).
#include "simd.h"
#include "table.h"

namespace fedmm {
namespace FEDMM_ISA_NS {

void gemm_entry(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* a,
                const float* b, float beta, float* c);
void fill_aggregate(KernelTable& t);
void fill_optim(KernelTable& t);
void fill_conv1d(KernelTable& t);
void fill_gru(KernelTable& t);
void fill_fused(KernelTable& t);

#define FEDMM_STR2(x) #x
#define FEDMM_STR(x) FEDMM_STR2(x)

static KernelTable build() {
  KernelTable t{};
  t.name = FEDMM_STR(FEDMM_ISA_NS);
  t.gemm = gemm_entry;
  fill_aggregate(t);
  fill_optim(t);
  fill_conv1d(t);
  fill_gru(t);
  fill_fused(t);
  return t;
}

const KernelTable& table() {
  static const KernelTable t = build();
  return t;
}

}  // namespace FEDMM_ISA_NS
}  // namespace fedmm
