// The virtual clock: device traces (FedScale format), selection with deadlines and over-selection, virtual
// time and time-to-accuracy in a run. Needs the compiled workers: build first (npx tsc -p tsconfig.json).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevices, readAvailabilityTrace, readCapacityTrace, type Devices } from '../src/runtime/devices.js';
import { selectClients } from '../src/runtime/selection.js';
import { runFederated } from '../src/runtime/scheduler.js';
import type { RunConfigInput } from '../src/runtime/config.js';
import type { Task } from '../src/fl/task.js';

const traces = join(import.meta.dirname, '..', 'traces');
const capacity = join(traces, 'sample-device-capacity.json');
const availability = join(traces, 'sample-availability.json');
const quiet = { log: () => {} };

describe('device traces', () => {
  it('reads the shipped FedScale-format sample traces', () => {
    const profiles = readCapacityTrace(capacity);
    expect(profiles.length).toBe(20);
    expect(profiles[0].speed).toBeCloseTo(1000 / (3 * 74.46), 6);
    expect(profiles[0].down).toBeCloseTo(74809.7 * 125, 3);
    const devices = createDevices(0, capacity, availability);
    expect(devices.profile(20)).toEqual(devices.profile(0));
    // Client '2' is active in [34800, 38400) of each 86400 s day.
    expect([34799, 34800, 38399, 38400, 86400 + 35000].map((t) => devices.available(1, t))).toEqual([false, true, true, false, true]);
    expect(readAvailabilityTrace(availability).length).toBe(20);
  });

  it('refuses each bad trace file with one line naming the file and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmm-trace-'));
    try {
      const file = (name: string, text: string) => {
        const p = join(dir, name);
        writeFileSync(p, text);
        return p;
      };
      const cases: [() => unknown, RegExp][] = [
        [() => readCapacityTrace(join(dir, 'absent.json')), /^trace .*absent\.json: cannot be read \(ENOENT\)$/],
        [() => readCapacityTrace(file('a.json', '{"1": {')), /^trace .*a\.json: is not JSON \(/],
        [() => readCapacityTrace(file('b.json', '[1, 2]')), /^trace .*b\.json: must be a JSON object of client id → entry$/],
        [() => readCapacityTrace(file('c.json', '{}')), /^trace .*c\.json: has no clients$/],
        [() => readCapacityTrace(file('d.json', '{"7": 3}')), /^trace .*d\.json: client '7' is not an object$/],
        [() => readCapacityTrace(file('e.json', '{"1": {"computation": 0, "communication": 5}}')), /^trace .*e\.json: client '1': 'computation' must be a positive number, got 0$/],
        [() => readCapacityTrace(file('f.json', '{"1": {"computation": 3}}')), /^trace .*f\.json: client '1': 'communication' must be a positive number, got undefined$/],
        [() => readAvailabilityTrace(file('g.json', '{"1": {"active": [0, 50], "inactive": [10], "finish_time": 100}}')), /^trace .*g\.json: client '1': 2 'active' and 1 'inactive' times/],
        [() => readAvailabilityTrace(file('h.json', '{"1": {"active": [0, 5], "inactive": [10, 20], "finish_time": 100}}')), /^trace .*h\.json: client '1': interval 1 \[5, 20\) is empty or overlaps the one before$/],
        [() => readAvailabilityTrace(file('i.json', '{"1": {"active": [], "inactive": [], "finish_time": 100}}')), /^trace .*i\.json: client '1': 'active' is empty/],
        [() => readAvailabilityTrace(file('j.json', '{"1": {"active": ["x"], "inactive": [3], "finish_time": 100}}')), /^trace .*j\.json: client '1': 'active' must be a list of non-negative seconds$/],
      ];
      for (const [read, message] of cases) expect(read).toThrow(message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A task whose client k has 10·(k+1) samples; devices whose client k trains at 10 samples/s, bandwidth ∞ but client 3's. */
function fixture(): { task: Task; devices: Devices } {
  const task = { numClients: 10, clientData: (k: number) => ({ size: 10 * (k + 1) }), isActive: (k: number) => k !== 9 } as unknown as Task;
  const devices: Devices = {
    profile: (k) => ({ speed: 10, down: k === 3 ? 1 : Infinity, up: Infinity }),
    available: (k, t) => !(k === 0 && t < 100),
    nextAvailable: (k, t) => (k === 0 ? Math.max(t, 100) : t),
  };
  return { task, devices };
}

describe('selection on the virtual clock', () => {
  it('orders the available clients by finishing time; the deadline and over-selection leave the rest late', () => {
    const { task, devices } = fixture();
    const base = { clientRate: 1, overSelect: 1, deadline: 0, localEpochs: 1 };
    // All ten drawn; 9 inactive, 0 unavailable before t = 100; client k takes k+1 s, client 3 also 50 s to download.
    const all = selectClients(task, devices, base, 0, 0, { down: 50, up: 10 });
    expect([all.sampled, all.inactive, all.unavailable, all.late.length]).toEqual([10, 1, 1, 0]);
    expect(Array.from(all.ids)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all.duration).toBe(54);
    const deadline = selectClients(task, devices, { ...base, deadline: 6.5 }, 0, 200, { down: 50, up: 10 });
    expect(Array.from(deadline.ids)).toEqual([0, 1, 2, 4, 5]);
    expect(deadline.late).toEqual([6, 7, 8, 3]);
    expect(deadline.duration).toBe(6.5);
    // Wanting half (5) of the clients, drawing 1.4× (7): the five that finish first report, when they finish.
    const over = selectClients(task, devices, { ...base, clientRate: 0.5, overSelect: 1.4 }, 3, 200, { down: 50, up: 10 });
    expect(over.sampled).toBe(7);
    expect(over.ids.length).toBe(5);
    expect(over.late.length).toBe(7 - over.inactive - 5);
    const finish = (k: number) => k + 1 + (k === 3 ? 50 : 0);
    expect(Math.max(...Array.from(over.ids, finish))).toBeLessThanOrEqual(Math.min(...over.late.map(finish)));
    expect(over.duration).toBe(Math.max(...Array.from(over.ids, finish)));
  });
});

describe('virtual clock in a run', () => {
  const task = { kind: 'logistic', numClients: 20, features: 6, classes: 3, labelAlpha: 0.3, featureShift: 0.5, minSamples: 10, maxSamples: 50 };
  const base: RunConfigInput = { task, rounds: 4, clientRate: 0.25, batchSize: 8, lr: 0.1, seed: 5, evalEvery: 1, workers: 0, deviceTrace: capacity, accuracyTargets: [0.3, 2] };

  it('advances the clock by each round, drops late clients, and reports time to accuracy', async () => {
    const r = await runFederated(base, quiet);
    let t = 0;
    for (const h of r.history) {
      expect(h.virtualStart).toBeCloseTo(t, 9);
      expect(h.virtualSeconds).toBeGreaterThan(0);
      t += h.virtualSeconds;
    }
    expect(r.totals.virtualTime).toBeCloseTo(t, 9);
    const [reached, never] = r.timeToAccuracy;
    expect(reached.round).not.toBeNull();
    const h = r.history[reached.round!];
    expect(reached.virtualSeconds).toBeCloseTo(h.virtualStart + h.virtualSeconds, 9);
    expect(reached.bytes).toBe(r.history.slice(0, reached.round! + 1).reduce((a, x) => a + x.bytesDown + x.bytesUp, 0));
    expect(never).toEqual({ target: 2, round: null, virtualSeconds: null, bytes: null });

    const median = [...r.history.map((x) => x.virtualSeconds)].sort((a, b) => a - b)[1];
    const tight = await runFederated({ ...base, deadline: median * 0.5 }, quiet);
    expect(tight.history.some((x) => x.late > 0)).toBe(true);
    for (const x of tight.history) {
      expect(x.accepted + x.late + x.skipped + x.unavailable).toBe(x.sampled);
      expect(x.virtualSeconds).toBeLessThanOrEqual(median * 0.5 + 1e-9);
    }
    const over = await runFederated({ ...base, overSelect: 1.5 }, quiet);
    expect(over.history.every((x) => x.sampled === 8 && x.accepted === 5 && x.late === 3)).toBe(true);
    expect(over.totals.virtualTime).toBeLessThan(r.totals.virtualTime);
  });

  it('skips clients the availability trace says are away, and resumes on the same clock', async () => {
    // Every client drawn: at t = 0 only client 0 is available (a round nobody reports waits for the first to come back).
    const awayBase: RunConfigInput = { ...base, clientRate: 1, availabilityTrace: availability };
    const away = await runFederated(awayBase, quiet);
    expect(away.history.some((x) => x.unavailable > 0)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'fedmm-clock-'));
    try {
      const cfg = { ...awayBase, checkpointEvery: 1, outDir: dir };
      await runFederated({ ...cfg, rounds: 2 }, quiet);
      const resumed = await runFederated({ ...cfg, resume: true }, quiet);
      expect(resumed.totals).toEqual(away.totals);
      expect(Array.from(resumed.weights)).toEqual(Array.from(away.weights));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(runFederated({ ...base, deviceTrace: '/nonexistent/trace.json' }, quiet)).rejects.toThrow(/^trace \/nonexistent\/trace\.json: cannot be read \(ENOENT\)$/);
  });
});

describe('the clock when no client reports', () => {
  it('advances to the first moment a drawn client is available again, or by the deadline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmm-idle-'));
    try {
      // Every client is away in [0, 100) of each 1000 s.
      const away = join(dir, 'availability.json');
      writeFileSync(away, JSON.stringify(Object.fromEntries(Array.from({ length: 4 }, (_, k) => [String(k), { active: [100], inactive: [1000], finish_time: 1000 }]))));
      const devices = createDevices(0, null, away);
      expect([devices.nextAvailable(2, 0), devices.nextAvailable(2, 150), devices.nextAvailable(2, 1010)]).toEqual([100, 150, 1100]);
      const task = { kind: 'logistic', numClients: 8, features: 4, classes: 2, minSamples: 10, maxSamples: 20 };
      const cfg: RunConfigInput = { task, rounds: 2, clientRate: 0.5, batchSize: 8, lr: 0.1, seed: 1, evalEvery: 0, workers: 0, availabilityTrace: away };
      const r = await runFederated(cfg, quiet);
      expect(r.history[0].accepted).toBe(0);
      expect(r.history[0].virtualSeconds).toBe(100);
      expect(r.history[1].virtualStart).toBe(100);
      expect(r.history[1].accepted).toBe(4);
      // With a deadline, the server waits that long each time: rounds at 0, 30, 60, 90 see nobody; 120 does.
      const d = await runFederated({ ...cfg, rounds: 5, deadline: 30 }, quiet);
      expect(d.history.map((h) => h.virtualSeconds).slice(0, 4)).toEqual([30, 30, 30, 30]);
      expect(d.history[4].accepted).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
