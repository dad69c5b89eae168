import { defineConfig } from 'vitest/config';

// The engine's tests (ops, layers, GRU, optimizers, models) run once more on each forced backend, so every
// backend is checked by the same cases: 'default' uses auto selection (native when the addon is built).
const engineTests = [
  'test/tensor-*.test.ts',
  'test/nn-*.test.ts',
  'test/gru.test.ts',
  'test/optim.test.ts',
  'test/models.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'backend-js', include: engineTests, env: { FEDMM_BACKEND: 'js' } } },
      { extends: true, test: { name: 'backend-gpu', include: engineTests, env: { FEDMM_BACKEND: 'gpu' } } },
    ],
  },
});
