// The cluster's bulk channel (src/cluster/bulk.ts) against a private redis-server: large values written from
// and read into the caller's buffers, SET NX, the read bound, a missing key, pipelined commands whose replies
// span socket chunks, a reply refused by its buffer callback, credentials and a lost server.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BulkChannel, RedisReplyError } from '../src/cluster/bulk.js';
import { parseClusterUrl } from '../src/cluster/connection.js';
import { startRedis, type PrivateRedis } from '../bench/redis-server.js';

let redis: PrivateRedis;
beforeAll(async () => {
  redis = await startRedis('pw');
});
afterAll(async () => {
  await redis?.stop();
});

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

describe('bulk channel', () => {
  it('writes and reads large values exactly, bounded, in order, with SET NX', async () => {
    const bulk = new BulkChannel(parseClusterUrl(`redis://:pw@127.0.0.1:${redis.port}/3`), 'test-bulk');
    const probe = new Redis({ port: redis.port, host: '127.0.0.1', password: 'pw', db: 3 });
    try {
      const big = pattern(1_000_003, 7);
      expect(await bulk.set('fedmm:test:big', big, 60_000, true)).toBe(true);
      expect(await bulk.set('fedmm:test:big', pattern(10, 1), 60_000, true)).toBe(false);
      expect(Buffer.compare(await probe.getBuffer('fedmm:test:big') as Buffer, Buffer.from(big))).toBe(0);
      expect(await probe.pttl('fedmm:test:big')).toBeGreaterThan(50_000);
      // Pipelined: small and large replies interleaved, each into its own buffer.
      const sizes = [0, 1, 2, 70_000, 3, 1_000_003, 65_536];
      await Promise.all(sizes.map((n, i) => bulk.set(`fedmm:test:${i}`, pattern(n, i), 60_000)));
      const back = await Promise.all(sizes.map((n, i) => bulk.getRange(`fedmm:test:${i}`, n + 1, (len) => new Uint8Array(new SharedArrayBuffer(len)))));
      back.forEach((b, i) => {
        expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(Buffer.compare(Buffer.from(b), Buffer.from(pattern(sizes[i], i)))).toBe(0);
      });
      // The bound: Redis sends at most maxBytes.
      expect((await bulk.getRange('fedmm:test:big', 1000)).length).toBe(1000);
      expect((await bulk.getRange('fedmm:test:missing', 1000)).length).toBe(0);
      // A reply its callback refuses fails that command only; the next reply is read normally.
      const [refused, next] = await Promise.allSettled([
        bulk.getRange('fedmm:test:big', 2_000_000, () => {
          throw new Error('too big for me');
        }),
        bulk.getRange('fedmm:test:4', 10),
      ]);
      expect(refused).toMatchObject({ status: 'rejected', reason: { message: 'too big for me' } });
      expect(next).toMatchObject({ status: 'fulfilled', value: pattern(3, 4) });
    } finally {
      bulk.close();
      probe.disconnect();
    }
  });

  it('reports wrong credentials as Redis does, and fails commands in flight when the server goes away', async () => {
    const wrong = new BulkChannel(parseClusterUrl(`redis://:nope@127.0.0.1:${redis.port}`), 'test-bulk');
    await expect(wrong.getRange('k', 10)).rejects.toThrow(RedisReplyError);
    await expect(wrong.getRange('k', 10)).rejects.toThrow(/WRONGPASS/);
    wrong.close();
    const own = await startRedis();
    const bulk = new BulkChannel(parseClusterUrl(own.url), 'test-bulk');
    await bulk.set('fedmm:test:x', pattern(5_000_000, 3), 60_000);
    const inFlight = bulk.getRange('fedmm:test:x', 5_000_000).then(() => null, (e: Error) => e);
    await own.stop();
    expect(await inFlight).toBeInstanceOf(Error);
    await expect(bulk.getRange('fedmm:test:x', 10)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    bulk.close();
  });
});
