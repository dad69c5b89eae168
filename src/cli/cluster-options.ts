// The options naming the cluster's Redis, shared by `fedmm run --cluster`, `fedmm grid --cluster` and
// `fedmm worker`, and the coordinator the first two open from them.
import { connect, parseClusterUrl, type ClusterTarget } from '../cluster/connection.js';
import { ClusterExecutor, type ClusterStatus } from '../cluster/coordinator.js';
import type { RunHooks } from '../runtime/scheduler.js';
import { UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import type { Progress } from './progress.js';
import { VERSION } from './version.js';

export const CLUSTER_OPTIONS: readonly OptionSpec[] = [
  { name: 'cluster', kind: 'string', value: 'URL', help: 'Redis of the cluster: redis://[user:password@]host:port[/db], rediss:// for TLS; the password may come from $FEDMM_REDIS_PASSWORD instead (docs/cluster.md)' },
  { name: 'cluster-ca', kind: 'string', value: 'FILE', help: 'rediss://: PEM file of the CA that signed the Redis server certificate' },
  { name: 'cluster-cert', kind: 'string', value: 'FILE', help: 'rediss://: PEM client certificate (with --cluster-key) for mutual TLS' },
  { name: 'cluster-key', kind: 'string', value: 'FILE', help: 'rediss://: PEM key of the client certificate' },
];

/** The options of a command that coordinates runs on a cluster (run, grid). */
export const COORDINATOR_OPTIONS: readonly OptionSpec[] = [
  ...CLUSTER_OPTIONS,
  { name: 'cluster-timeout', kind: 'number', min: 1, value: 'S', help: 'with --cluster: stop when no worker has been connected for S seconds while jobs wait (default 60)' },
];

/** One progress line of a cluster round: workers, jobs, and each worker's pace. */
export function clusterLine(s: ClusterStatus): string {
  const pace = s.workers.map((w) => `${w.name} ${w.threads}t ${w.updatesPerSecond.toFixed(2)}/s`).join(', ');
  return `cluster: ${s.workers.length} worker${s.workers.length === 1 ? '' : 's'}${pace ? ` (${pace})` : ''}; round ${s.round + 1}: ${s.queued} queued, ${s.running} running, ${s.done}/${s.total} done`;
}

/**
 * With --cluster: reaches the cluster now (an unreachable Redis or wrong credentials end here, before
 * anything is written) and returns what opens, per run, its coordinator (runExperiment's `executor`);
 * without --cluster, undefined (local threads).
 */
export async function coordinatorFor(args: ParsedArgs, progress: Progress): Promise<(() => Promise<NonNullable<RunHooks['executor']>>) | undefined> {
  const target = clusterTarget(args);
  const timeout = args.options['cluster-timeout'];
  if (!target) {
    if (timeout !== undefined) throw new UsageError('--cluster-timeout needs --cluster');
    return undefined;
  }
  (await connect(target, 'fedmm-probe')).disconnect();
  return async () => (await ClusterExecutor.open(target, {
    version: VERSION, noWorkerTimeoutMs: typeof timeout === 'number' ? 1000 * timeout : undefined, log: (line) => progress.note(line),
    statusEveryMs: 10_000, onStatus: (s) => progress.note(clusterLine(s)),
  })).attacher();
}

/** The cluster named by --cluster (and its TLS files), or null without --cluster; usage errors name the flag. */
export function clusterTarget(args: ParsedArgs): ClusterTarget | null {
  const o = args.options;
  const url = o.cluster;
  const file = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  if (typeof url !== 'string') {
    const stray = ['cluster-ca', 'cluster-cert', 'cluster-key'].find((k) => k in o);
    if (stray) throw new UsageError(`--${stray} needs --cluster`);
    return null;
  }
  let target: ClusterTarget;
  try {
    target = parseClusterUrl(url, { ca: file('cluster-ca'), cert: file('cluster-cert'), key: file('cluster-key') });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const password = process.env.FEDMM_REDIS_PASSWORD;
  return target.options.password === undefined && password ? { ...target, options: { ...target.options, password } } : target;
}

/** argv with the password of a --cluster URL replaced by *** (for what is printed or recorded). */
export function redactArgv(argv: readonly string[]): string[] {
  const hide = (url: string) => url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
  return argv.map((a, i) => (argv[i - 1] === '--cluster' ? hide(a) : a.startsWith('--cluster=') ? `--cluster=${hide(a.slice(10))}` : a));
}
