// The run directory's config.json (the resolved RunConfig, at the start) and, when the run ends without an
// error, model.bin (final weights) and result.json (the RunResult less weights and history, plus numParams).
import { digestBytes, writeFileAtomic } from '../../io/atomic-file.js';
import { join } from 'node:path';
import { writeWeights } from '../checkpoint.js';
import type { RunCallback } from '../run-state.js';

export function runFiles(outDir: string): RunCallback {
  return {
    onTrainBegin(run) {
      writeFileAtomic(join(outDir, 'config.json'), JSON.stringify(run.config, null, 2) + '\n');
    },
    onTrainEnd(run, result) {
      if (!result) return;
      writeWeights(join(outDir, 'model.bin'), result.weights);
      const { weights: _w, history: _h, ...summary } = result;
      const modelBin = digestBytes(new Uint8Array(result.weights.buffer, result.weights.byteOffset, result.weights.byteLength));
      writeFileAtomic(join(outDir, 'result.json'), JSON.stringify({ ...summary, numParams: run.task.numParams, files: { 'model.bin': modelBin } }, null, 2) + '\n');
    },
  };
}
