// Where the cluster's Redis lives and how to reach it: `redis://[user:password@]host:port[/db]` or
// `rediss://…` (TLS, with optional CA / client certificate files), turned into ioredis options; a first
// connection that fails fast with one clear line (unreachable, wrong password); and the shown form of the
// address, which never contains the password.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RedisOptions } from 'ioredis';
import { Redis } from 'ioredis';
import { ExecutorUnavailable } from '../runtime/executor.js';

/** Files for a TLS connection (rediss://). */
export interface TlsFiles {
  /** PEM file of the CA that signed the server's certificate (default: the system's CAs). */
  readonly ca?: string;
  /** PEM client certificate and key, for servers that require mutual TLS. */
  readonly cert?: string;
  readonly key?: string;
}

export interface ClusterTarget {
  /** ioredis options (host, port, db, username, password, tls). */
  readonly options: RedisOptions;
  /** The address as shown in messages: scheme://[user@]host:port[/db], never the password. */
  readonly shown: string;
}

/** A failure of the cluster itself (not of one client): the run or the worker stops with this one line. */
export class ClusterError extends ExecutorUnavailable {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

/** Parses a redis:// or rediss:// URL; throws `--cluster: …` naming what is wrong. */
export function parseClusterUrl(url: string, tls: TlsFiles = {}): ClusterTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ClusterError(`--cluster: '${url.replace(/:[^:@/]*@/, ':***@')}' is not a URL (expected redis://[user:password@]host:port[/db])`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new ClusterError(`--cluster: scheme '${u.protocol.slice(0, -1)}' is not redis or rediss`);
  if (!u.hostname) throw new ClusterError('--cluster: the URL names no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbPath = u.pathname.replace(/^\//, '');
  if (dbPath !== '' && !/^\d+$/.test(dbPath)) throw new ClusterError(`--cluster: database '${dbPath}' must be a number (redis://host:port/0)`);
  const db = dbPath === '' ? 0 : Number(dbPath);
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const secure = u.protocol === 'rediss:';
  if (!secure && (tls.ca || tls.cert || tls.key)) throw new ClusterError('--cluster: TLS files given for a redis:// URL; use rediss:// for TLS');
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new ClusterError('--cluster: give both the TLS client certificate and its key, or neither');
  const read = (what: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ClusterError(`--cluster: cannot read the TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const options: RedisOptions = {
    host,
    port,
    db,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    // SNI names a host, never an address (RFC 6066); the certificate is checked against either.
    ...(secure ? { tls: { ...(isIP(host) ? {} : { servername: host }), ca: read('CA', tls.ca), cert: read('certificate', tls.cert), key: read('key', tls.key) } } : {}),
  };
  const shown = `${u.protocol}//${username ? `${username}@` : ''}${u.host}${db ? `/${db}` : ''}`;
  return { options, shown };
}

/** One line for a Redis error: credentials refused, server unreachable, or its own message. */
export function describeRedisError(target: ClusterTarget, e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(msg)) return `cluster: Redis at ${target.shown} refused the credentials (${msg})`;
  if (/NOPERM/.test(msg)) return `cluster: the Redis user at ${target.shown} lacks a permission fedmm needs (${msg})`;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN/.test(code)) return `cluster: cannot reach Redis at ${target.shown} (${msg})`;
  return `cluster: Redis at ${target.shown}: ${msg}`;
}

/**
 * Opens a connection that is ready to use, or throws a ClusterError with one line. `blocking` connections
 * (BullMQ workers and event readers) retry commands forever across reconnects; the others fail a command
 * after a reconnect attempt, so a lost Redis surfaces instead of queueing commands silently.
 */
export async function connect(target: ClusterTarget, name: string, timeoutMs = 10_000): Promise<Redis> {
  let ready = false;
  const client = new Redis({
    ...target.options,
    connectionName: name,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    // The first connection fails fast; later drops reconnect every 0.5 s while the caller watches the time.
    retryStrategy: () => (ready ? 500 : null),
  });
  let lastError: unknown = null;
  client.on('error', (e) => (lastError = e));
  try {
    await client.connect();
    await client.ping();
    ready = true;
    return client;
  } catch (e) {
    client.disconnect();
    throw new ClusterError(describeRedisError(target, lastError ?? e));
  }
}

/** BullMQ's connection options: the target's, with the given reconnect pace. */
export function bullConnection(target: ClusterTarget): RedisOptions {
  return { ...target.options, maxRetriesPerRequest: null, retryStrategy: () => 500 };
}
