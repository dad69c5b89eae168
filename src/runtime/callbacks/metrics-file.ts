// metrics.jsonl: one RoundRecord per line, rewritten from the restored history when a run resumes.
import { appendFileChecked, writeFileAtomic } from '../../io/atomic-file.js';
import { join } from 'node:path';
import type { RunCallback } from '../run-state.js';

export function metricsFile(outDir: string): RunCallback {
  const path = join(outDir, 'metrics.jsonl');
  return {
    onTrainBegin(run) {
      writeFileAtomic(path, run.history.map((r) => JSON.stringify(r) + '\n').join(''));
    },
    onRoundEnd(_run, record) {
      appendFileChecked(path, JSON.stringify(record) + '\n');
    },
  };
}
