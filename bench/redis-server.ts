// A private redis-server for the cluster tests and benchmark: loopback only, a free port, no persistence, optional
// password; stop() kills it. Debian's redis-server is installed by .ci/run (apt-get install redis-server).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';

export const REDIS_SERVER = process.env.FEDMM_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface PrivateRedis {
  readonly port: number;
  /** The redis-server process (for CPU accounting in the benchmark). */
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    sock.once('error', () => resolve(false));
    sock.connect(port, '127.0.0.1', () => {
      sock.destroy();
      resolve(true);
    });
  });
}

/** PEM files of a TLS listener (redis-server --tls-port): its certificate and key, and the CA of client certificates. */
export interface RedisTlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/**
 * Starts redis-server on a free loopback port; `password` sets requirepass; with `tls` the port speaks TLS
 * only (the URL is rediss://; clients need not present a certificate).
 */
export async function startRedis(password?: string, tls?: RedisTlsFiles): Promise<PrivateRedis> {
  const port = await freePort();
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  if (password) args.push('--requirepass', password);
  const child: ChildProcess = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100 && !(await answers(port)); i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr}`);
  return {
    port,
    pid: child.pid!,
    url: `${tls ? 'rediss' : 'redis'}://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
