// Evaluation, the benchmark's protocol at its cost: every evalEvery rounds and after the last, the dev metrics
// of the global weights; the test metrics only where they can be reported — in the rounds where the dev
// headline metric improves (the run reports the best dev round's test metrics) — and, for a full test curve,
// in every testEvery-th round too (testEvery 1: every evaluation round, as FedMultimodal does). The best round
// and its test metrics are the same whatever testEvery (the default 0 skips about two thirds of the
// evaluation work of a UCI-HAR round: dev is 1,462 windows, test 2,947). A non-finite metric (a NaN loss:
// weights too large for float32 arithmetic) means the model diverged and stops the run.
import { wallNow } from '../client-job.js';
import type { Metrics } from '../../fl/task.js';
import type { RunCallback } from '../run-state.js';

/** Throws when a metric is not finite: the model diverged. */
function checkFinite(round: number, split: 'dev' | 'test', metrics: Metrics): void {
  const bad = Object.entries(metrics).find(([, v]) => !Number.isFinite(v));
  if (bad) throw new Error(`round ${round}: the model diverged: its ${split} ${bad[0]} is ${bad[1]}; lower the learning rates`);
}

export function evaluation(): RunCallback {
  return {
    async afterRound(run, record) {
      const { evalEvery, testEvery, rounds } = run.config;
      const { round } = record;
      if (evalEvery === 0 || ((round + 1) % evalEvery !== 0 && round !== rounds - 1)) return;
      const e0 = wallNow();
      const h = run.task.headlineMetric;
      const testCurve = testEvery > 0 && (round + 1) % testEvery === 0;
      // With a test curve point due anyway, both splits go out at once (they share the workers).
      const [dev, curveTest] = await Promise.all([
        run.executor.evaluate(run.global, 'dev'),
        testCurve ? run.executor.evaluate(run.global, 'test') : null,
      ]);
      checkFinite(round, 'dev', dev);
      record.dev = dev;
      const improved = run.best === null || dev[h] > run.best.dev[h];
      const test = curveTest ?? (improved ? await run.executor.evaluate(run.global, 'test') : null);
      if (test) {
        checkFinite(round, 'test', test);
        record.test = test;
      }
      if (improved) run.best = { round, dev, test: test! };
      const e1 = wallNow();
      record.phases.evaluate = e1 - e0;
      run.trace?.span(0, `evaluate ${round}`, 'evaluate', e0, e1);
    },
  };
}
