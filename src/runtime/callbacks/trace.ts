// The Chrome trace of a run (outDir/trace.json): opened at the start, one span per round, flushed after
// every round, closed however the run ends.
import { join } from 'node:path';
import { wallNow } from '../client-job.js';
import { TraceWriter } from '../profile.js';
import type { RunCallback } from '../run-state.js';

export function traceFile(outDir: string): RunCallback {
  return {
    onTrainBegin(run) {
      run.trace = new TraceWriter(join(outDir, 'trace.json'));
    },
    onRoundEnd(run, record) {
      const end = wallNow();
      run.trace!.span(0, `round ${record.round}`, 'round', end - record.phases.round, end, { accepted: record.accepted, dropped: record.dropped });
      run.trace!.flush();
    },
    onTrainEnd(run) {
      run.trace?.close();
    },
  };
}
