// The channel that moves the large values of a run — update, broadcast and client-state bytes — between this
// process and Redis, copied once each way. A general client copies them again: ioredis joins a command's
// arguments into one new buffer before writing (1.7 MB per UCI-HAR update) and assembles a large reply from
// its socket chunks in a pooled buffer that is then copied out; on freshly mapped memory each of those copies
// costs more than the transfer itself. This channel speaks RESP for the few commands it needs — AUTH, SELECT
// and CLIENT SETNAME on connect, SET and GETRANGE — writing a value straight from the caller's buffer and
// reading a reply straight into the buffer that keeps it. Everything else (BullMQ, heartbeats) stays on ioredis.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ClusterTarget } from './connection.js';

/** A Redis error reply (`-ERR …`, `-WRONGPASS …`): its message is the reply's text. */
export class RedisReplyError extends Error {}

type Reply = string | number | Uint8Array | null;

interface Connection {
  readonly socket: Socket;
  readonly queue: Pending[];
}

interface Pending {
  /** Where a bulk reply of `length` bytes goes (default: a new Uint8Array); may throw to refuse the length. */
  readonly into?: (length: number) => Uint8Array;
  resolve(r: Reply): void;
  reject(e: Error): void;
}

/** RESP encoding of a command; an argument given as bytes is written from its own memory, not copied. */
function command(args: readonly (string | Uint8Array)[]): (Buffer | Uint8Array)[] {
  const out: (Buffer | Uint8Array)[] = [];
  let head = `*${args.length}\r\n`;
  for (const a of args) {
    if (typeof a === 'string') {
      head += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    } else {
      out.push(Buffer.from(`${head}$${a.byteLength}\r\n`), a);
      head = '\r\n';
    }
  }
  out.push(Buffer.from(head));
  return out;
}

/** Bytes read per read() call outside a bulk body. */
const SCRATCH_BYTES = 64 * 1024;

/**
 * Reads replies, in order, from what the socket delivers: a header line, then a bulk body if any. On a plain
 * TCP connection the socket reads into the buffer `readBuffer()` names — the rest of the body being read,
 * straight from the kernel, else one reused scratch buffer — so no read allocates; a TLS socket delivers its
 * own chunks (push).
 */
class ReplyReader {
  private line: Buffer[] = [];
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  /** Whether the last buffer handed to the socket was the body's own memory. */
  private direct = false;
  /** The bulk body being read: its target (null: discarded), bytes read, its length. */
  private body: { into: Uint8Array | null; filled: number; length: number } | null = null;
  /** Bytes of a body's closing CRLF still to skip. */
  private trailer = 0;

  /** `queue`: the commands awaiting a reply, oldest first; `fail`: the stream cannot be read on. */
  constructor(private readonly queue: Pending[], private readonly fail: (e: Error) => void) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.trailer > 0) {
        const n = Math.min(this.trailer, chunk.length - at);
        this.trailer -= n;
        at += n;
      } else if (this.body) {
        const b = this.body;
        const n = Math.min(b.length - b.filled, chunk.length - at);
        b.into?.set(chunk.subarray(at, at + n), b.filled);
        b.filled += n;
        at += n;
        if (b.filled === b.length) this.endBody();
      } else {
        // A header line's bytes are copied: the scratch buffer they arrived in is read into again.
        const nl = chunk.indexOf(10, at);
        if (nl < 0) {
          this.line.push(Buffer.from(chunk.subarray(at)));
          return;
        }
        this.line.push(Buffer.from(chunk.subarray(at, nl + 1)));
        at = nl + 1;
        const text = Buffer.concat(this.line).toString('latin1').replace(/\r?\n$/, '');
        this.line = [];
        this.header(text);
      }
    }
  }

  /** Where the socket's next read goes. */
  readBuffer(): Uint8Array {
    const b = this.body;
    this.direct = b !== null && b.into !== null && this.trailer === 0;
    return this.direct ? b!.into!.subarray(b!.filled, b!.length) : this.scratch;
  }

  /** The socket read `n` bytes into the buffer readBuffer() returned. */
  read(n: number): void {
    if (!this.direct) return this.push(this.scratch.subarray(0, n));
    const b = this.body!;
    b.filled += n;
    if (b.filled === b.length) this.endBody();
  }

  private endBody(): void {
    const { into } = this.body!;
    this.body = null;
    this.trailer = 2;
    if (into) this.queue.shift()?.resolve(into);
  }

  private header(text: string): void {
    const kind = text[0];
    const rest = text.slice(1);
    if (kind === '+') return void this.queue.shift()?.resolve(rest);
    if (kind === ':') return void this.queue.shift()?.resolve(Number(rest));
    if (kind === '-') return void this.queue.shift()?.reject(new RedisReplyError(rest));
    if (kind !== '$') return this.fail(new Error(`Redis sent a reply of type '${kind}', which this channel does not read`));
    const length = Number(rest);
    if (length === -1) return void this.queue.shift()?.resolve(null);
    if (!Number.isInteger(length) || length < 0) return this.fail(new Error(`Redis sent a bulk length '${rest}'`));
    const p = this.queue[0];
    let into: Uint8Array | null;
    try {
      into = p?.into ? p.into(length) : new Uint8Array(length);
      if (into.length !== length) throw new Error(`a buffer of ${into.length} bytes for a reply of ${length}`);
    } catch (e) {
      // The reply is read and discarded; its command fails.
      this.queue.shift()?.reject(e as Error);
      into = null;
    }
    this.body = { into, filled: 0, length };
    if (length === 0) this.endBody();
  }
}

export class BulkChannel {
  /** The open connection and the commands awaiting its replies, oldest first. */
  private conn: Connection | null = null;
  private opening: Promise<Connection> | null = null;
  private closed = false;

  constructor(private readonly target: ClusterTarget, private readonly name: string, private readonly timeoutMs = 10_000) {}

  /** The connection, opened (and authenticated) on first use and after a drop. */
  private connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('the bulk channel is closed'));
    if (this.conn && !this.conn.socket.destroyed) return Promise.resolve(this.conn);
    this.opening ??= this.open().finally(() => (this.opening = null));
    return this.opening;
  }

  private async open(): Promise<Connection> {
    const o = this.target.options;
    const host = o.host ?? '127.0.0.1';
    const port = o.port ?? 6379;
    const queue: Pending[] = [];
    let socket: Socket | null = null;
    const reader = new ReplyReader(queue, (e) => socket?.destroy(e));
    socket = await new Promise<Socket>((resolve, reject) => {
      const s: Socket = o.tls
        ? tlsConnect({ host, port, ...o.tls })
        : netConnect({ host, port, onread: { buffer: () => reader.readBuffer(), callback: (n: number) => {
          reader.read(n);
          return true;
        } } });
      const timer = setTimeout(() => s.destroy(Object.assign(new Error(`connect ETIMEDOUT ${host}:${port}`), { code: 'ETIMEDOUT' })), this.timeoutMs);
      s.once(o.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    if (o.tls) socket.on('data', (chunk: Buffer) => reader.push(chunk));
    const conn: Connection = { socket, queue };
    const drop = (e?: Error) => {
      if (this.conn === conn) this.conn = null;
      const err = e ?? Object.assign(new Error(`connection to ${this.target.shown} closed`), { code: 'ECONNRESET' });
      for (const p of queue.splice(0)) p.reject(err);
    };
    socket.on('error', drop);
    socket.on('close', () => drop());
    const hello: (string | Uint8Array)[][] = [];
    if (o.password) hello.push(o.username ? ['AUTH', o.username, o.password] : ['AUTH', o.password]);
    if (o.db) hello.push(['SELECT', String(o.db)]);
    hello.push(['CLIENT', 'SETNAME', this.name]);
    try {
      // Every reply is awaited (a refused AUTH fails the commands after it too).
      const replies = await Promise.allSettled(hello.map((args) => this.send(conn, args)));
      const refused = replies.find((r) => r.status === 'rejected');
      if (refused) throw refused.reason;
    } catch (e) {
      socket.destroy();
      throw e;
    }
    if (this.closed) {
      socket.destroy();
      throw new Error('the bulk channel is closed');
    }
    this.conn = conn;
    return conn;
  }

  private send({ socket, queue }: Connection, args: readonly (string | Uint8Array)[], into?: (length: number) => Uint8Array): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      queue.push({ into, resolve, reject });
      socket.cork();
      for (const part of command(args)) socket.write(part);
      socket.uncork();
    });
  }

  private async call(args: readonly (string | Uint8Array)[], into?: (length: number) => Uint8Array): Promise<Reply> {
    return this.send(await this.connection(), args, into);
  }

  /** SET key value PX ttl [NX]; resolves to whether the value was written (NX: false when the key existed). */
  async set(key: string, value: Uint8Array, ttlMs: number, onlyIfAbsent = false): Promise<boolean> {
    const r = await this.call(['SET', key, value, 'PX', String(ttlMs), ...(onlyIfAbsent ? ['NX'] : [])]);
    return r === 'OK';
  }

  /**
   * The first `maxBytes` bytes of a value (GETRANGE key 0 maxBytes − 1: Redis never sends more), read into
   * `into(length)` — a buffer of exactly that length — or into a new Uint8Array. An empty reply means the key
   * is missing or empty.
   */
  async getRange(key: string, maxBytes: number, into?: (length: number) => Uint8Array): Promise<Uint8Array> {
    const r = await this.call(['GETRANGE', key, '0', String(maxBytes - 1)], into);
    if (!(r instanceof Uint8Array)) throw new Error(`GETRANGE ${key} answered ${String(r)}`);
    return r;
  }

  /** Closes the connection; commands in flight fail with `reason`. */
  close(reason?: Error): void {
    this.closed = true;
    const conn = this.conn;
    this.conn = null;
    for (const p of conn?.queue.splice(0) ?? []) p.reject(reason ?? new Error('the bulk channel is closed'));
    conn?.socket.destroy();
  }
}
