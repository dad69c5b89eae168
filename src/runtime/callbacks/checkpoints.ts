// Checkpoints and resume: with `resume`, the run's state is restored from the run directory's latest
// checkpoint (refused when a result-relevant config field differs); a fresh run clears earlier checkpoints
// (their rotation is by name); every checkpointEvery rounds the state is written (checkpoint.ts).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { wallNow } from '../client-job.js';
import { CHECKPOINT_VERSION, readLatestCheckpoint, writeCheckpoint } from '../checkpoint.js';
import { configDigest } from '../config.js';
import type { RoundRecord } from '../round.js';
import type { BestRound, RunCallback } from '../run-state.js';

export function checkpoints(outDir: string): RunCallback {
  return {
    onTrainBegin(run) {
      if (run.config.resume) {
        const ck = readLatestCheckpoint<RoundRecord>(outDir, run.task.numParams);
        if (ck) {
          if (ck.meta.configDigest !== configDigest(run.config)) throw new Error(`resume: ${ck.dir} was written by a run with a different config`);
          run.global.set(ck.global);
          run.server.loadState(ck.server);
          run.store.restore(ck.clientStateDir);
          run.history = ck.meta.history;
          run.best = ck.meta.best as BestRound | null;
          Object.assign(run.totals, ck.meta.totals);
          run.completedRounds = ck.meta.completedRounds;
        } else run.log(`resume: no checkpoint in ${outDir}; starting from round 0`);
      }
      if (run.completedRounds === 0) rmSync(join(outDir, 'checkpoints'), { recursive: true, force: true });
    },
    afterRound(run, record) {
      const every = run.config.checkpointEvery;
      if (every === 0 || run.completedRounds % every !== 0) return;
      const c0 = wallNow();
      writeCheckpoint(outDir, {
        version: CHECKPOINT_VERSION, completedRounds: run.completedRounds, configDigest: configDigest(run.config), seed: run.config.seed,
        history: run.history, best: run.best, totals: { ...run.totals },
      }, run.global, run.server.saveState(), run.store);
      const c1 = wallNow();
      record.phases.checkpoint = c1 - c0;
      run.trace?.span(0, `checkpoint ${run.completedRounds}`, 'checkpoint', c0, c1);
    },
  };
}
