// The CLI's privacy options: --dp-* and --secagg-* into the plan and the run config, with one-line errors.
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.js';
import { runConfig } from '../src/cli/execute.js';
import { buildExecution, buildPlan, EXECUTION_OPTIONS, EXPERIMENT_OPTIONS, planLabel, repeatsOf } from '../src/cli/run-options.js';
import { resolveRunConfig } from '../src/runtime/config.js';

const plan = (argv: string[]) => buildPlan(parseArgs(['--dataset', 'uci-har', ...argv], [...EXPERIMENT_OPTIONS, ...EXECUTION_OPTIONS], 'run'));

describe('privacy options', () => {
  it('turn into the dp and secagg of the run config', () => {
    const p = plan(['--dp-clip', 'adaptive:0.5', '--dp-epsilon', '8', '--secagg', '--secagg-dropout', '0.1', '--secagg-neighbors', '6', '--secagg-threshold', '0.6']);
    expect(p.dp).toEqual({ mode: 'central', clip: 'adaptive:0.5', epsilon: 8 });
    expect(p.secagg).toEqual({ dropout: 0.1, neighbors: 6, threshold: 0.6 });
    expect(planLabel(p)).toBe('fedavg attention dp+secagg');
    const exec = buildExecution(parseArgs(['--workers', '0'], EXECUTION_OPTIONS, 'run'));
    const config = resolveRunConfig(runConfig(p, exec, repeatsOf(p)[0], '/tmp/unused', false));
    expect(config.dp).toMatchObject({ mode: 'central', clip: { kind: 'adaptive', quantile: 0.5 }, epsilon: 8, noise: null, delta: null });
    expect(config.secagg).toEqual({ neighbors: 6, threshold: 0.6, dropout: 0.1, range: 1 });
    expect(plan(['--dp-mode', 'local', '--dp-clip', '0.5', '--dp-noise', '1', '--dp-delta', '1e-6']).dp).toEqual({ mode: 'local', clip: 0.5, noise: 1, delta: 1e-6 });
    expect(plan([]).dp).toBeNull();
    expect(plan([]).secagg).toBeNull();
  });

  it('refuse incomplete or contradictory settings in one line', () => {
    expect(() => plan(['--dp-noise', '1'])).toThrow(/DP needs --dp-clip/);
    expect(() => plan(['--dp-clip', '1'])).toThrow(/exactly one of --dp-noise σ and --dp-epsilon ε/);
    expect(() => plan(['--dp-clip', '1', '--dp-noise', '1', '--dp-epsilon', '3'])).toThrow(/exactly one/);
    expect(() => plan(['--dp-clip', 'adaptive:1.5', '--dp-noise', '1'])).toThrow(/--dp-clip must be/);
    expect(() => plan(['--dp-clip', 'adaptive:0.5', '--dp-noise', '1', '--dp-mode', 'local'])).toThrow(/adaptive needs the central mode/);
    expect(() => plan(['--secagg-dropout', '0.1'])).toThrow(/need --secagg/);
    expect(() => plan(['--secagg', '--aggregator', 'median'])).toThrow(/--aggregator median cannot be combined with --secagg: DP and SecAgg aggregate with their own private mean/);
    expect(() => plan(['--dp-clip', '1', '--dp-noise', '1', '--aggregator', 'krum'])).toThrow(/--aggregator krum cannot be combined with --dp-\*/);
    expect(() => plan(['--secagg', '--secagg-threshold', '2.5'])).toThrow(/--secagg-threshold must be an integer ≥ 1 or a fraction/);
  });
});
