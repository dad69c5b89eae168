// Evaluation: dev and test metrics of the global weights every evalEvery rounds and after the last, into
// the round's record; keeps the round with the best dev headline metric (and its test metrics).
import { wallNow } from '../client-job.js';
import type { RunCallback } from '../run-state.js';

export function evaluation(): RunCallback {
  return {
    async afterRound(run, record) {
      const { evalEvery, rounds } = run.config;
      const { round } = record;
      if (evalEvery === 0 || ((round + 1) % evalEvery !== 0 && round !== rounds - 1)) return;
      const e0 = wallNow();
      const [dev, test] = await Promise.all([run.executor.evaluate(run.global, 'dev'), run.executor.evaluate(run.global, 'test')]);
      record.dev = dev;
      record.test = test;
      const h = run.task.headlineMetric;
      if (run.best === null || dev[h] > run.best.dev[h]) run.best = { round, dev, test };
      const e1 = wallNow();
      record.phases.evaluate = e1 - e0;
      run.trace?.span(0, `evaluate ${round}`, 'evaluate', e0, e1);
    },
  };
}
