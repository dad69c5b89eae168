// The Redis/BullMQ cluster mode against a private redis-server (bench/redis-server.ts) and real
// `fedmm worker` processes: bit-identical to the local runtime, a worker killed mid-job, a lost Redis and
// --resume, wrong password, unreachable Redis, a version mismatch, no worker, and a hostile worker.
// Needs the compiled CLI and workers: build first (npx tsc -p tsconfig.json; npm test does it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterExecutor, UPDATE_HEADER_ALLOWANCE, type CoordinatorOptions } from '../src/cluster/coordinator.js';
import { parseClusterUrl } from '../src/cluster/connection.js';
import { clientQueue, PREFIX, RUNS_KEY, updateKey, type ClientJobData, type ClientJobReport } from '../src/cluster/protocol.js';
import { VERSION } from '../src/cli/version.js';
import { runFederated, type RunResult } from '../src/runtime/scheduler.js';
import type { RunConfigInput } from '../src/runtime/config.js';
import { CLI, fedmmAsync } from './cli-helpers.js';
import { freePort, startRedis, type PrivateRedis, type RedisTlsFiles } from '../bench/redis-server.js';

const logistic = { kind: 'logistic', numClients: 12, features: 6, classes: 3, labelAlpha: 0.3, featureShift: 0.5, minSamples: 10, maxSamples: 50 };
const bits = (r: RunResult) => Buffer.from(r.weights.buffer, r.weights.byteOffset, r.weights.byteLength).toString('hex');
const evals = (r: RunResult) => r.history.map((h) => [h.round, h.accepted, h.trainLoss, h.dev, h.test]);

let redis: PrivateRedis;
/** Servers a test starts besides the shared one: stopped after the test whatever its outcome. */
const ownServers: PrivateRedis[] = [];
const ownRedis = async (password?: string, tls?: RedisTlsFiles) => {
  const r = await startRedis(password, tls);
  ownServers.push(r);
  return r;
};
const workers: ChildProcess[] = [];
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fedmm-cluster-'));
  dirs.push(d);
  return d;
};

interface SpawnedWorker {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startWorker(url: string, name: string, extra: string[] = [], env: Record<string, string> = {}): SpawnedWorker {
  const child = spawn(process.execPath, [CLI, 'worker', '--cluster', url, '--workers', '1', '--name', name, '--lock-seconds', '2', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env },
  });
  workers.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

/** Resolves once the worker says it is connected. */
async function connected(w: SpawnedWorker): Promise<void> {
  for (let i = 0; i < 600 && !/connected to/.test(w.stderr()); i++) await new Promise((r) => setTimeout(r, 100));
  expect(w.stderr()).toMatch(/connected to/);
}

/** RunHooks.executor of a run on the cluster at `url`. */
async function onCluster(url: string, options: Partial<CoordinatorOptions> = {}) {
  return (await ClusterExecutor.open(parseClusterUrl(url), { version: VERSION, log: () => {}, ...options })).attacher();
}

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const w of workers.splice(0)) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const r of ownServers.splice(0)) await r.stop();
});
afterAll(async () => {
  await redis?.stop();
});

describe('cluster', () => {
  it('trains on two worker processes to the same bits as the local runtime, and cleans up its keys', async () => {
    const both = [startWorker(redis.url, 'w1'), startWorker(redis.url, 'w2')];
    for (const w of both) await connected(w);
    // Each run reports its first status as its first jobs are queued: both workers are there by then.
    const statuses: number[] = [];
    // top-k's error-feedback residuals are client state the workers send back: a client's second turn (clients
    // come back within 4 rounds at rate 0.5) must see the residual of its first for the bits to match.
    for (const [algorithm, compress] of [['fedopt', 'none'], ['scaffold', 'none'], ['fedavg', 'topk:0.2']]) {
      const base: RunConfigInput = { task: logistic, algorithm, compress, rounds: 4, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 11, evalEvery: 2, workers: 0 };
      const local = await runFederated({ ...base, workers: 2 }, { log: () => {} });
      const executor = await onCluster(redis.url, { onStatus: (s) => statuses.push(s.workers.length), statusEveryMs: 200 });
      const cluster = await runFederated(base, { log: () => {}, executor });
      expect(bits(cluster)).toBe(bits(local));
      expect(evals(cluster)).toEqual(evals(local));
      expect(cluster.history.every((h) => h.phases.redis > 0 && h.phases.queue >= 0)).toBe(true);
    }
    expect(Math.max(...statuses)).toBe(2);
    const probe = new Redis(redis.port, '127.0.0.1');
    for (let i = 0; i < 50 && (await probe.keys(`${PREFIX}:run*`)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await probe.keys(`${PREFIX}:run*`)).toEqual([]);
    expect(await probe.zcard(RUNS_KEY)).toBe(0);
    probe.disconnect();
  }, 120_000);

  // The victim holds its first job for 4 s ($FEDMM_TEST_HOLD_FIRST_JOB_MS) after saying so, and the signal goes
  // out on that line: the worker dies (SIGKILL) or stops answering (SIGSTOP) while it owns the job. Its lock
  // (--lock-seconds 2) expires and BullMQ's stalled-job check gives the job to the survivor. A paused victim
  // is woken once the job was redelivered: it trains the job late, and its result is ignored.
  it.each(['SIGKILL', 'SIGSTOP'] as const)('ends bit-identical when a worker gets %s in the middle of a job', async (sig) => {
    const task = { kind: 'fedmultimodal', dataset: 'uci-har', seed: 0, scale: 0.08 };
    const base: RunConfigInput = { task, rounds: 4, clientRate: 0.5, localEpochs: 1, batchSize: 16, lr: 0.05, seed: 5, evalEvery: 0, workers: 0 };
    const local = await runFederated({ ...base, workers: 2 }, { log: () => {} });
    const victim = startWorker(redis.url, 'victim', [], { FEDMM_TEST_HOLD_FIRST_JOB_MS: '4000' });
    const survivor = startWorker(redis.url, 'survivor');
    await Promise.all([connected(victim), connected(survivor)]);
    let held = null as string | null;
    victim.child.stderr!.on('data', () => {
      const m = /holding job (\S+)/.exec(victim.stderr());
      if (m && held === null) {
        held = m[1];
        victim.child.kill(sig);
      }
    });
    const notes: string[] = [];
    const executor = await onCluster(redis.url, {
      log: (l) => {
        notes.push(l);
        if (sig === 'SIGSTOP' && /stopped answering/.test(l)) victim.child.kill('SIGCONT');
      },
    });
    const cluster = await runFederated(base, { log: (l) => notes.push(l), executor });
    if (sig === 'SIGSTOP') expect(victim.child.exitCode).toBe(null);
    expect(held).not.toBe(null);
    expect(notes).toContainEqual(expect.stringMatching(new RegExp(`the worker training job ${held!.replace(/\./g, '\\.')} stopped answering; the job is redelivered`)));
    expect(cluster.totals.dropped).toBe(0);
    expect(bits(cluster)).toBe(bits(local));
  }, 240_000);

  it('stops with one line when Redis goes away, and --resume on a new Redis ends bit-identical', async () => {
    const own = await ownRedis();
    const base: RunConfigInput = { task: logistic, algorithm: 'scaffold', rounds: 6, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 3, evalEvery: 1, checkpointEvery: 1, workers: 0 };
    const local = await runFederated({ ...base, outDir: tmp() }, { log: () => {} });
    const out = tmp();
    startWorker(own.url, 'a');
    const executor = await onCluster(own.url, { unreachableMs: 1500 });
    const stopped = runFederated({ ...base, outDir: out }, { log: () => {}, executor, onRound: (r) => r.round === 2 && void own.stop() });
    await expect(stopped).rejects.toThrow(/^cluster: (cannot reach Redis|Redis) at redis:\/\/127\.0\.0\.1:\d+/);
    const again = await ownRedis();
    startWorker(again.url, 'b');
    const resumed = await runFederated({ ...base, outDir: out, resume: true }, { log: () => {}, executor: await onCluster(again.url) });
    expect(resumed.completedRounds).toBe(6);
    expect(bits(resumed)).toBe(bits(local));
    const rounds = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).round);
    expect(rounds).toEqual([0, 1, 2, 3, 4, 5]);
  }, 120_000);

  it('removes the queue keys a coordinator killed with SIGKILL left behind when its run is resumed', async () => {
    const own = await ownRedis();
    startWorker(own.url, 'k');
    const out = join(tmp(), 'run');
    const args = ['run', '--dataset', 'uci-har', '--scale', '0.05', '--rounds', '8', '--checkpoint-every', '1', '--no-report', '--out', out, '--cluster', own.url];
    const coordinator = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
    workers.push(coordinator);
    const metrics = () => readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('metrics.jsonl')).map((f) => readFileSync(join(out, f), 'utf8'));
    const probe = new Redis(own.port, '127.0.0.1');
    try {
      for (let i = 0; i < 1200 && !(existsSync(out) && metrics().some((m) => m.split('\n').length > 2)); i++) await new Promise((r) => setTimeout(r, 50));
      coordinator.kill('SIGKILL');
      await new Promise((r) => coordinator.once('exit', r));
      const stale = await probe.keys(`${PREFIX}:run*`);
      expect(stale.some((k) => k.startsWith(`${PREFIX}:run-`))).toBe(true);
      const resumed = await fedmmAsync([...args, '--resume']);
      expect(resumed.code).toBe(0);
      expect(resumed.stderr).toMatch(/cluster: removed \d+ keys an earlier coordinator of this run left in Redis/);
      expect(metrics()[0].trim().split('\n').map((l) => JSON.parse(l).round)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(await probe.keys(`${PREFIX}:run*`)).toEqual([]);
      expect(await probe.zcard(RUNS_KEY)).toBe(0);
    } finally {
      probe.disconnect();
    }
  }, 120_000);

  it('runs the cells of a grid on the cluster to the same model bytes as a local grid', async () => {
    startWorker(redis.url, 'g1');
    startWorker(redis.url, 'g2');
    const models = (out: string) => new Map(readdirSync(out, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('model.safetensors')).map((f) => [f, readFileSync(join(out, f)).toString('hex')]));
    const args = ['grid', 'smoke', '--only', 'fedavg', '--no-report', '--quiet'];
    const [localOut, clusterOut] = [join(tmp(), 'local'), join(tmp(), 'cluster')];
    const local = await fedmmAsync([...args, '--out', localOut]);
    expect(local.code).toBe(0);
    const onCluster = await fedmmAsync([...args, '--out', clusterOut, '--cluster', redis.url]);
    expect(onCluster.stderr).toBe('');
    expect(onCluster.code).toBe(0);
    const [a, b] = [models(localOut), models(clusterOut)];
    expect([...a.keys()].sort()).toEqual(['fedavg/seed-0/model.safetensors', 'fedavg_mm0.3/seed-0/model.safetensors']);
    expect(b).toEqual(a);
  }, 120_000);

  // A throwaway CA and a server certificate for 127.0.0.1, made with openssl in the test's directory.
  it('runs over TLS (rediss://) with --cluster-ca, and refuses a server whose CA it was not given', async (ctx) => {
    const dir = tmp();
    const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=fedmm test CA');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
    const files = { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem') };
    let secure: PrivateRedis;
    try {
      secure = await ownRedis('tls-secret', files);
    } catch (e) {
      // Debian's redis-server is built with TLS; another build may not be.
      if (/tls/i.test((e as Error).message)) return ctx.skip(`this redis-server has no TLS support: ${(e as Error).message.split('\n').find((l) => /tls/i.test(l))}`);
      throw e;
    }
    expect(secure.url).toMatch(/^rediss:/);
    startWorker(secure.url, 'tls', ['--cluster-ca', files.ca]);
    const base: RunConfigInput = { task: logistic, algorithm: 'fedopt', rounds: 3, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 4, evalEvery: 0, workers: 0 };
    const local = await runFederated({ ...base, workers: 1 }, { log: () => {} });
    const executor = (await ClusterExecutor.open(parseClusterUrl(secure.url, { ca: files.ca }), { version: VERSION, log: () => {} })).attacher();
    expect(bits(await runFederated(base, { log: () => {}, executor }))).toBe(bits(local));
    // Without the CA the certificate is not trusted: one line on both sides.
    const untrusted = startWorker(secure.url, 'no-ca');
    expect(await untrusted.exited).toBe(1);
    expect(untrusted.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^fedmm: cluster: Redis at rediss:\/\/127\.0\.0\.1:\d+: .*(self[- ]signed|unable to verify|certificate)/i)]);
    expect(untrusted.stderr()).not.toContain('tls-secret');
    const run = await fedmmAsync(['run', '--dataset', 'uci-har', '--scale', '0.05', '--rounds', '1', '--no-report', '--quiet', '--out', join(dir, 'x'), '--cluster', secure.url]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fedmm: cluster: Redis at rediss:\/\/127\.0\.0\.1:\d+: .*(self[- ]signed|unable to verify|certificate)/i)]);
  }, 120_000);

  // The only worker holds its first job for 6 s: the client timeout (1.5 s, counted from when a worker took the
  // job) drops that client, the others queue behind it and train; the held job's late result is ignored.
  it('drops a client whose job runs past the client timeout', async () => {
    const w = startWorker(redis.url, 'slow', [], { FEDMM_TEST_HOLD_FIRST_JOB_MS: '6000' });
    await connected(w);
    const notes: string[] = [];
    const base: RunConfigInput = { task: logistic, rounds: 2, clientRate: 0.5, batchSize: 8, lr: 0.05, seed: 2, evalEvery: 0, workers: 0, clientTimeoutMs: 1500, minClientFraction: 0.5 };
    const cluster = await runFederated(base, { log: (l) => notes.push(l), executor: await onCluster(redis.url) });
    const held = /holding job (\d+)\.0\.(\d+)\.0/.exec(w.stderr());
    expect(held).not.toBe(null);
    expect(notes).toContainEqual(`round ${held![1]}: dropped client ${held![2]}: no update within the client timeout of 1.5 s; its job was stopped`);
    expect(cluster.totals.dropped).toBe(1);
    expect(cluster.history.map((h) => h.accepted + h.dropped)).toEqual([6, 6]);
  }, 60_000);

  it('refuses a wrong password and an unreachable Redis with one line, on both sides', async () => {
    const locked = await ownRedis('s3cret');
    const wrong = `redis://:nope@127.0.0.1:${locked.port}`;
    const args = ['run', '--dataset', 'uci-har', '--scale', '0.05', '--rounds', '1', '--no-report', '--quiet'];
    const bad = await fedmmAsync([...args, '--out', join(tmp(), 'x'), '--cluster', wrong]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^fedmm: cluster: Redis at redis:\/\/127\.0\.0\.1:\d+ refused the credentials \(WRONGPASS/);
    expect(bad.stderr).not.toContain('nope');
    const w = startWorker(wrong, 'x');
    expect(await w.exited).toBe(1);
    expect(w.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^fedmm: cluster: Redis at .* refused the credentials/)]);
    const none = await startWorker(`redis://:s3cret@127.0.0.1:${locked.port}`.replace('s3cret', ''), 'y').exited;
    expect(none).toBe(1);
    await locked.stop();
    const port = await freePort();
    const down = await fedmmAsync([...args, '--out', join(tmp(), 'y'), '--cluster', `redis://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fedmm: cluster: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED/)]);
  }, 120_000);

  it('names a worker of another version, and stops when no worker can take the jobs', async () => {
    const w = startWorker(redis.url, 'old');
    await connected(w);
    const executor = await onCluster(redis.url, { version: '0.0.0-other', noWorkerTimeoutMs: 3000 });
    const run = runFederated({ task: logistic, rounds: 1, clientRate: 0.5, workers: 0, evalEvery: 0 }, { log: () => {}, executor });
    await expect(run).rejects.toThrow(/no fedmm worker able to take this run .* worker 'old' refused this run: it was started by fedmm 0\.0\.0-other, this worker runs fedmm /);
    expect(w.stderr()).toMatch(/refusing run [0-9a-f-]+: it was started by fedmm 0\.0\.0-other/);
    w.child.kill('SIGTERM');
    await w.exited;
    const alone = await onCluster(redis.url, { noWorkerTimeoutMs: 2000 });
    await expect(runFederated({ task: logistic, rounds: 1, clientRate: 0.5, workers: 0, evalEvery: 0 }, { log: () => {}, executor: alone }))
      .rejects.toThrow(/^cluster: no fedmm worker able to take this run has been connected to redis:\/\/127\.0\.0\.1:\d+ for 2 s while 6 client jobs wait; start one with: fedmm worker --cluster/);
  }, 60_000);

  it('bounds what a hostile worker can make the coordinator read, and drops its updates', async () => {
    const cluster = await ClusterExecutor.open(parseClusterUrl(redis.url), { version: VERSION, log: () => {} });
    const io = new Redis(redis.port, '127.0.0.1');
    const notes: string[] = [];
    let hostile: Worker<ClientJobData, ClientJobReport> | null = null;
    const seen = new Map<string, number>();
    const run = runFederated({ task: logistic, algorithm: 'fedavg', rounds: 1, clientRate: 0.25, workers: 0, evalEvery: 0, retryFailed: false, onShortRound: 'stop' }, {
      log: (l) => notes.push(l),
      executor: (task, spec, config) => {
        const ex = cluster.attach(task, spec, config);
        const begin = ex.beginRound.bind(ex);
        // Once the run is published, a worker of the test's own takes its jobs: every other one claims a
        // small update but wrote one past the bound, the others wrote 7 bytes that are not an update.
        ex.beginRound = async (round, firstTries) => {
          const ms = await begin(round, firstTries);
          const [runId] = await io.zrevrange(RUNS_KEY, 0, 0);
          const bound = 4 * spec.numParams + 16 + UPDATE_HEADER_ALLOWANCE;
          hostile = new Worker<ClientJobData, ClientJobReport>(clientQueue(runId), async (job) => {
            seen.set(job.id!, (seen.get(job.id!) ?? 0) + 1);
            const big = job.data.client % 2 === 0;
            await io.set(updateKey(runId, job.id!), Buffer.alloc(big ? bound + 4096 : 7, 0x41));
            return { worker: 'hostile', bytes: big ? 10 : 7, keptBytes: 0, picked: 0, start: 0, trainEnd: 0, end: 0, redisMs: 0 };
          }, { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, prefix: PREFIX, concurrency: 1 });
          hostile.on('error', () => undefined);
          await io.zadd(`${PREFIX}:workers`, Date.now(), 'hostile');
          await io.hset(`${PREFIX}:workers:info`, 'hostile', JSON.stringify({ name: 'hostile', host: 'h', pid: 1, version: VERSION, threads: 1, updates: 0, updatesPerSecond: 0 }));
          return ms;
        };
        return ex;
      },
    });
    try {
      await expect(run).rejects.toThrow(/only 0 of 3 client updates accepted/);
    } finally {
      await (hostile as Worker | null)?.close();
      io.disconnect();
    }
    const bounded = notes.filter((l) => /dropped client \d+: worker failed: update of more than \d+ bytes/.test(l));
    const garbage = notes.filter((l) => /dropped client \d+: not msgpack|dropped client \d+: message is not/.test(l));
    expect(bounded.length).toBeGreaterThan(0);
    expect(garbage.length).toBeGreaterThan(0);
    expect(bounded.length + garbage.length).toBe(3);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);
});
