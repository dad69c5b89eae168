// The options naming the cluster's Redis, shared by `fedmm run --cluster` and `fedmm worker`.
import { parseClusterUrl, type ClusterTarget } from '../cluster/connection.js';
import { UsageError, type OptionSpec, type ParsedArgs } from './args.js';

export const CLUSTER_OPTIONS: readonly OptionSpec[] = [
  { name: 'cluster', kind: 'string', value: 'URL', help: 'Redis of the cluster: redis://[user:password@]host:port[/db], rediss:// for TLS; the password may come from $FEDMM_REDIS_PASSWORD instead (docs/cluster.md)' },
  { name: 'cluster-ca', kind: 'string', value: 'FILE', help: 'rediss://: PEM file of the CA that signed the Redis server certificate' },
  { name: 'cluster-cert', kind: 'string', value: 'FILE', help: 'rediss://: PEM client certificate (with --cluster-key) for mutual TLS' },
  { name: 'cluster-key', kind: 'string', value: 'FILE', help: 'rediss://: PEM key of the client certificate' },
];

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
