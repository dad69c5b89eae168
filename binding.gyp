# The fedmm native addon. The kernel sources in native/isa are compiled once per ISA variant, each into its
# own static library and namespace with its own cflags (no host-tuned -march flag, never -ffast-math), and the
# addon picks one at run time from the CPU's features; arm64 (and any non-x64 target) builds the baseline only.
{
  'variables': {
    'isa_sources': [
      'native/isa/gemm.cc',
      'native/isa/aggregate.cc',
      'native/isa/optim.cc',
      'native/isa/conv1d.cc',
      'native/isa/gru.cc',
      'native/isa/fused.cc',
      'native/isa/table.cc',
    ],
    'isa_cflags': ['-O3', '-fPIC', '-fno-math-errno', '-ffp-contract=off', '-fno-trapping-math', '-fno-exceptions', '-fno-rtti'],
  },
  'target_defaults': {
    'cflags!': ['-O2'],
    'cflags_cc!': ['-O2'],
  },
  'targets': [
    {
      'target_name': 'fedmm_isa_baseline',
      'type': 'static_library',
      'sources': ['<@(isa_sources)'],
      'defines': ['FEDMM_ISA_NS=baseline'],
      'cflags': ['<@(isa_cflags)'],
    },
    {
      'target_name': 'fedmm',
      'sources': ['native/addon.cc'],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
        'fedmm_isa_baseline',
      ],
      'cflags': ['-O3', '-fno-math-errno', '-ffp-contract=off'],
      'conditions': [
        ['target_arch=="x64"', {
          'dependencies': ['fedmm_isa_avx2', 'fedmm_isa_avx512'],
          'defines': ['FEDMM_HAVE_AVX2', 'FEDMM_HAVE_AVX512'],
        }],
      ],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'fedmm_isa_avx2',
          'type': 'static_library',
          'sources': ['<@(isa_sources)'],
          'defines': ['FEDMM_ISA_NS=avx2'],
          'cflags': ['<@(isa_cflags)', '-mavx2', '-mfma'],
        },
        {
          'target_name': 'fedmm_isa_avx512',
          'type': 'static_library',
          'sources': ['<@(isa_sources)'],
          'defines': ['FEDMM_ISA_NS=avx512'],
          'cflags': ['<@(isa_cflags)', '-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mfma',
                     '-mprefer-vector-width=512'],
        },
      ],
    }],
  ],
}
