// The robust aggregators (src/aggregate/robust.ts's rules) as round aggregators: each keeps every accepted
// update of the round (memory O(P·clients), references only) and applies its rule at finish().
//   median, trimmed-mean: coordinate-wise, on every vector.
//   krum, multi-krum, bulyan: the selection is made on the deltas; every vector is then combined over the
//   selected updates (Krum: the selected one's; Multi-Krum: their mean; Bulyan: the β closest to the median).
// All are unweighted (Aggregate.totalWeight still reports Σ weights of the accepted updates). add() checks
// every value once; the rules then run the ops on the kept updates without checking them again, into result
// buffers reused every round (a fresh buffer costs a page fault per 4 KiB page when first written). A round whose
// accepted updates cannot tolerate the configured f (f ≥ n/2, or fewer than Krum's 2f + 3 or Bulyan's 4f + 3)
// stops with a one-line error naming the bound.
import {
  registerAggregator, type Aggregate, type AggregatorContext, type AggregatorInput, type AggregatorKind, type AggregatorSpec,
  type Aggregator, type Decision,
} from './aggregator.js';
import { aggregateOps } from './ops.js';
import { bulyanSelect, checkByzantine, krumSelect, uniformMean } from './robust.js';

/** Combines the kept updates' vectors (one list per vector name, delta first) into outs (one vector per name). */
type Rule = (perVector: Float32Array[][], spec: AggregatorSpec, outs: Float32Array[]) => void;

class KeepAllAggregator implements Aggregator {
  readonly keepsAllUpdates = true;
  private kept: AggregatorInput[] = [];
  private readonly results: Float32Array[];

  constructor(readonly name: string, private readonly spec: AggregatorSpec, private readonly ctx: AggregatorContext,
    private readonly rule: Rule) {
    this.results = ctx.vectorNames.map(() => new Float32Array(ctx.numParams));
  }

  begin(): void {
    this.kept = [];
  }

  add(input: AggregatorInput): Decision[] {
    const ops = aggregateOps();
    for (const v of this.ctx.vectorNames) {
      const x = input.vectors[v];
      if (!(x instanceof Float32Array) || x.length !== this.ctx.numParams) {
        return [{ tag: input.tag, rejected: `vector '${v}' is missing or does not have ${this.ctx.numParams} values` }];
      }
      const bad = ops.findNonFinite(x);
      if (bad >= 0) return [{ tag: input.tag, rejected: `non-finite value (${x[bad]}) at index ${bad} of '${v}'` }];
    }
    if (!(input.weight > 0) || !Number.isFinite(input.weight)) return [{ tag: input.tag, rejected: `weight ${input.weight} is not a positive finite number` }];
    this.kept.push(input);
    return [{ tag: input.tag, rejected: null }];
  }

  finish(): { decisions: Decision[]; aggregate: Aggregate | null } {
    if (this.kept.length === 0) return { decisions: [], aggregate: null };
    const perVector = this.ctx.vectorNames.map((v) => this.kept.map((u) => u.vectors[v]));
    this.rule(perVector, this.spec, this.results);
    const vectors: Record<string, Float32Array> = {};
    this.ctx.vectorNames.forEach((v, i) => (vectors[v] = this.results[i]));
    const aggregate = { vectors, participants: this.kept.length, totalWeight: this.kept.reduce((s, u) => s + u.weight, 0) };
    this.kept = [];
    return { decisions: [], aggregate };
  }
}

function byzantineOf(spec: AggregatorSpec): number {
  return spec.byzantine ?? 0;
}

/** Registers a keep-all aggregator whose start-up check runs `bound` when the round size is known. */
function keepAll(name: string, description: string, params: AggregatorKind['params'], rule: Rule,
  check: (spec: AggregatorSpec, n: number | undefined) => void): void {
  registerAggregator({
    name, description, keepsAllUpdates: true, params, check,
    create: (spec, ctx) => new KeepAllAggregator(name, spec, ctx, rule),
  });
}

const halfBound = (rule: string) => (spec: AggregatorSpec, n: number | undefined): void => {
  if (n !== undefined && spec.byzantine !== undefined) checkByzantine(rule, n, spec.byzantine, () => 1, '1');
};

keepAll('median', 'coordinate-wise median (Yin et al. 2018); keeps every update: O(P·clients) memory', ['byzantine'],
  (perVector, spec, outs) => perVector.forEach((ups, i) => {
    if (spec.byzantine !== undefined) checkByzantine('median', ups.length, spec.byzantine, () => 1, '1');
    aggregateOps().median(ups, outs[i]);
  }),
  halfBound('median'));

keepAll('trimmed-mean', 'coordinate-wise trimmed mean: drops --trim β (or --byzantine f) at each end; O(P·clients) memory',
  ['trim', 'byzantine'],
  (perVector, spec, outs) => perVector.forEach((ups, i) => {
    // f < n/2 (checked) and β < 0.5 both leave at least one value per coordinate
    if (spec.byzantine !== undefined) checkByzantine('trimmed-mean', ups.length, spec.byzantine, () => 1, '1');
    const trim = spec.byzantine ?? Math.floor((spec.trim ?? 0.1) * ups.length);
    aggregateOps().trimmedMean(ups, trim, outs[i]);
  }),
  (spec, n) => {
    if (spec.trim !== undefined && spec.byzantine !== undefined) throw new Error('aggregator trimmed-mean takes --trim or --byzantine, not both');
    if (spec.trim !== undefined && !(spec.trim >= 0 && spec.trim < 0.5)) throw new Error(`aggregator trimmed-mean: --trim must be in [0, 0.5), got ${spec.trim}`);
    halfBound('trimmed-mean')(spec, n);
  });

keepAll('krum', 'Krum (Blanchard et al. 2017): the update closest to its n − f − 2 neighbours; --byzantine f; O(P·clients) memory',
  ['byzantine'],
  (perVector, spec, outs) => {
    const [chosen] = krumSelect(perVector[0], byzantineOf(spec), 1);
    perVector.forEach((ups, i) => outs[i].set(ups[chosen]));
  },
  (spec, n) => { if (n !== undefined) checkByzantine('krum', n, byzantineOf(spec), (f) => 2 * f + 3, '2f + 3'); });

keepAll('multi-krum', 'Multi-Krum: mean of the n − f updates with the best Krum scores; --byzantine f; O(P·clients) memory',
  ['byzantine'],
  (perVector, spec, outs) => {
    const f = byzantineOf(spec);
    const chosen = krumSelect(perVector[0], f, perVector[0].length - f);
    perVector.forEach((ups, i) => uniformMean(chosen.map((k) => ups[k]), outs[i]));
  },
  (spec, n) => { if (n !== undefined) checkByzantine('krum', n, byzantineOf(spec), (f) => 2 * f + 3, '2f + 3'); });

keepAll('bulyan', 'Bulyan (El Mhamdi et al. 2018): Krum-selected n − 2f, then the n − 4f values nearest the median per coordinate; O(P·clients) memory',
  ['byzantine'],
  (perVector, spec, outs) => {
    const f = byzantineOf(spec);
    const chosen = bulyanSelect(perVector[0], f);
    const beta = chosen.length - 2 * f;
    perVector.forEach((ups, i) => aggregateOps().closestToMedianMean(chosen.map((k) => ups[k]), beta, outs[i]));
  },
  (spec, n) => { if (n !== undefined) checkByzantine('bulyan', n, byzantineOf(spec), (f) => 4 * f + 3, '4f + 3'); });
