// Time to accuracy: for each target level of the dev headline metric, the first evaluated round that
// reaches it, with the virtual time and the bytes exchanged by the end of that round.
import type { RoundRecord } from './round.js';

export interface TargetReached {
  /** The dev headline-metric level. */
  readonly target: number;
  /** First evaluated round (0-based) whose dev metric is ≥ target; null when none reached it. */
  readonly round: number | null;
  /** Virtual seconds at the end of that round. */
  readonly virtualSeconds: number | null;
  /** Bytes down + up by the end of that round. */
  readonly bytes: number | null;
}

export function timeToAccuracy(history: readonly RoundRecord[], metric: string, targets: readonly number[]): TargetReached[] {
  return targets.map((target) => {
    let bytes = 0;
    for (const r of history) {
      bytes += r.bytesDown + r.bytesUp;
      if (r.dev && r.dev[metric] >= target) return { target, round: r.round, virtualSeconds: r.virtualStart + r.virtualSeconds, bytes };
    }
    return { target, round: null, virtualSeconds: null, bytes: null };
  });
}
