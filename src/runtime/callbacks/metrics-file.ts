// metrics.jsonl: one RoundRecord per line, rewritten from the restored history when a run resumes.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunCallback } from '../run-state.js';

export function metricsFile(outDir: string): RunCallback {
  const path = join(outDir, 'metrics.jsonl');
  return {
    onTrainBegin(run) {
      writeFileSync(path, run.history.map((r) => JSON.stringify(r) + '\n').join(''));
    },
    onRoundEnd(_run, record) {
      appendFileSync(path, JSON.stringify(record) + '\n');
    },
  };
}
