// Progress: hands each finished round's record to the caller (RunHooks.onRound).
import type { RoundRecord } from '../round.js';
import type { RunCallback } from '../run-state.js';

export function progress(onRound: (record: RoundRecord) => void): RunCallback {
  return { onRoundEnd: (_run, record) => onRound(record) };
}
