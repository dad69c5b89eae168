// fedmm worker: trains client jobs of the runs coordinated through a Redis cluster (docs/cluster.md).
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { runClusterWorker } from '../../cluster/worker.js';
import { formatOptions, parseArgs, UsageError, VERBOSE_OPTION, type OptionSpec } from '../args.js';
import { CLUSTER_OPTIONS, clusterTarget } from '../cluster-options.js';
import { VERSION } from '../version.js';
import type { Command } from './command.js';

const OPTIONS: readonly OptionSpec[] = [
  ...CLUSTER_OPTIONS,
  { name: 'workers', kind: 'integer', min: 1, value: 'N', help: `training threads (default ${availableParallelism()}, one per core)` },
  { name: 'name', kind: 'string', value: 'NAME', help: `name shown in the coordinator's progress (default ${hostname()}-<pid>)` },
  { name: 'data-dir', kind: 'string', value: 'DIR', help: "the run's real data on this machine (what the coordinator got as --data-dir)" },
  { name: 'lock-seconds', kind: 'number', min: 1, value: 'S', help: 'a job whose worker stops answering for S seconds is given to another worker (default 30)' },
  VERBOSE_OPTION,
];

export const workerCommand: Command = {
  name: 'worker',
  summary: 'train client jobs for runs coordinated through Redis (fedmm run --cluster)',
  help: () => [
    'Usage: fedmm worker --cluster redis://[user:password@]host:port[/db] [options]',
    '',
    'Joins every run published on the cluster by `fedmm run --cluster` (same fedmm version required), trains',
    'its client jobs in a pool of threads and writes the updates back to Redis. Runs until Ctrl-C or SIGTERM',
    '(jobs in progress finish first). Client data is generated here from the run\'s config; for a run on real',
    'data give its location on this machine with --data-dir.',
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm worker --cluster redis://fedmm:secret@10.0.0.5:6379 --workers 8 --name gpu-box-1',
    '  fedmm worker --cluster rediss://fedmm:secret@redis.lab:6380 --cluster-ca ca.pem --data-dir /data/uci-har',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm worker');
    if (args.positionals.length) throw new UsageError(`unexpected argument '${args.positionals[0]}' for 'fedmm worker' (options start with --)`);
    const target = clusterTarget(args);
    if (!target) throw new UsageError('fedmm worker needs --cluster redis://host:port');
    const o = args.options;
    const controller = new AbortController();
    const stop = () => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write('fedmm worker: stopping after the jobs in progress (Ctrl-C again to quit now)\n');
      controller.abort();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      await runClusterWorker({
        target,
        threads: typeof o.workers === 'number' ? o.workers : availableParallelism(),
        name: typeof o.name === 'string' ? o.name : undefined,
        version: VERSION,
        dataDir: typeof o['data-dir'] === 'string' ? resolve(o['data-dir']) : null,
        lockMs: typeof o['lock-seconds'] === 'number' ? 1000 * o['lock-seconds'] : undefined,
        holdFirstJobMs: Number(process.env.FEDMM_TEST_HOLD_FIRST_JOB_MS ?? 0) || 0,
        log: (line) => process.stderr.write(`${line}\n`),
        signal: controller.signal,
      });
      // BullMQ's connections may still be reconnecting to a Redis that went away: nothing is left to do.
      process.exit(0);
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};
