// Checkpoints and resume: with `resume`, the run's state is restored from the run directory's latest
// checkpoint (refused when a result-relevant config field differs); a fresh run clears earlier checkpoints
// (their rotation is by name); every checkpointEvery rounds the state is written (checkpoint.ts), and when
// the run is interrupted, the last completed round is written if it is not yet, so a resume redoes nothing.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { wallNow } from '../client-job.js';
import { CHECKPOINT_VERSION, readLatestCheckpoint, writeCheckpoint } from '../checkpoint.js';
import { configDigest } from '../config.js';
import type { RoundRecord } from '../round.js';
import type { BestRound, RunCallback, RunState } from '../run-state.js';

function save(outDir: string, run: RunState): void {
  writeCheckpoint(outDir, {
    version: CHECKPOINT_VERSION, completedRounds: run.completedRounds, configDigest: configDigest(run.config), seed: run.config.seed,
    history: run.history, best: run.best, totals: { ...run.totals }, ...(run.async ? { asyncSchedule: run.async.schedule } : {}),
  }, run.global, run.server.saveState(), run.store, run.async?.versions);
}

export function checkpoints(outDir: string): RunCallback {
  let saved = -1;
  return {
    onTrainBegin(run) {
      if (run.config.resume) {
        const ck = readLatestCheckpoint<RoundRecord>(outDir, run.task.numParams, run.log);
        if (ck) {
          if (ck.meta.configDigest !== configDigest(run.config)) throw new Error(`resume: ${ck.dir} was written by a run with a different config`);
          run.global.set(ck.global);
          run.server.loadState(ck.server);
          run.store.restore(ck.clientStateDir);
          run.history = ck.meta.history;
          run.best = ck.meta.best as BestRound | null;
          Object.assign(run.totals, ck.meta.totals);
          run.completedRounds = ck.meta.completedRounds;
          if (run.async) run.async = { schedule: ck.meta.asyncSchedule ?? { inFlight: [], dispatched: 0 }, versions: ck.versions };
          saved = run.completedRounds;
        } else run.log(`resume: no checkpoint in ${outDir}; starting from round 0`);
      }
      if (run.completedRounds === 0) rmSync(join(outDir, 'checkpoints'), { recursive: true, force: true });
    },
    afterRound(run, record) {
      const every = run.config.checkpointEvery;
      if (every === 0 || run.completedRounds % every !== 0) return;
      const c0 = wallNow();
      save(outDir, run);
      saved = run.completedRounds;
      const c1 = wallNow();
      record.phases.checkpoint = c1 - c0;
      run.trace?.span(0, `checkpoint ${run.completedRounds}`, 'checkpoint', c0, c1);
    },
    onTrainEnd(run, result) {
      if (!result?.aborted || run.completedRounds === 0 || run.completedRounds === saved) return;
      save(outDir, run);
      saved = run.completedRounds;
      run.log(`interrupted: round ${run.completedRounds} is saved in ${join(outDir, 'checkpoints')}`);
    },
  };
}
