// One secure-aggregation round with every party simulated in this process: sets up keys and shares when
// the cohort is known, masks each client's fixed-point input as it arrives (the server keeps only the
// running masked sum), and unmasks at the end. Parties that never submit are dropouts after ShareKeys;
// parties listed as silent also skip the unmasking round. Counts the bytes each party would send and
// receive and the CPU time each side spends.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Rng } from '../random.js';
import { defaultNeighbors, defaultThreshold, secAggGraph } from './graph.js';
import { SecAggClient, SecAggServer, WIRE, type EncryptedShare, type SecAggParams, type UnmaskResponse } from './protocol.js';

export interface SecAggSessionOptions {
  /** Cohort size n. */
  readonly parties: number;
  /** Vector length P. */
  readonly length: number;
  /** SecAgg+ neighbours k (default: defaultNeighbors(n)); ≥ n − 1 = complete graph. */
  readonly neighbors?: number;
  /** Shares needed per secret: a count, or a fraction in (0, 1) of the k + 1 holders (default: a strict majority). */
  readonly threshold?: number;
  /** Draws the graph. */
  readonly rng: Rng;
}

/** Bytes one party sends (up) and receives (down) in the protocol, beyond the model broadcast. */
export interface PartyTraffic {
  up: number;
  down: number;
}

/** CPU milliseconds: per party for its client-side work, and the server's total. */
export interface SecAggCpu {
  readonly clientMs: Float64Array;
  serverMs: number;
}

export class SecAggSession {
  readonly params: SecAggParams;
  readonly neighbors: number;
  readonly traffic: PartyTraffic[];
  readonly cpu: SecAggCpu;
  private readonly clients: SecAggClient[];
  private readonly server: SecAggServer;

  constructor(options: SecAggSessionOptions) {
    const n = options.parties;
    const neighbors = Math.min(options.neighbors ?? defaultNeighbors(n), n - 1);
    this.neighbors = neighbors;
    const graph = secAggGraph(n, neighbors, options.rng);
    const t = options.threshold;
    const threshold = t === undefined ? Math.min(defaultThreshold(neighbors), neighbors + 1) : t < 1 ? Math.max(1, Math.ceil(t * (neighbors + 1))) : t;
    this.params = { n, graph, threshold, length: options.length, roundSalt: new Uint8Array(randomBytes(32)) };
    this.server = new SecAggServer(this.params);
    this.traffic = Array.from({ length: n }, () => ({ up: 0, down: 0 }));
    this.cpu = { clientMs: new Float64Array(n), serverMs: 0 };
    this.clients = Array.from({ length: n }, (_, id) => this.asClient(id, () => new SecAggClient(id, this.params)));

    const ads = this.clients.map((c) => this.asClient(c.id, () => c.advertise()));
    const rosters = this.asServer(() => this.server.collectAdvertisements(ads));
    const outgoing: EncryptedShare[][] = [];
    for (const c of this.clients) {
      this.traffic[c.id].up += WIRE.advertisement;
      const roster = rosters.get(c.id);
      if (!roster) continue;
      this.traffic[c.id].down += roster.length * WIRE.advertisement;
      const shares = this.asClient(c.id, () => c.shareKeys(roster));
      this.traffic[c.id].up += shares.length * WIRE.encryptedShare;
      outgoing.push(shares);
    }
    const inbox = this.asServer(() => this.server.routeShares(outgoing));
    for (const c of this.clients) {
      const mine = inbox.get(c.id) ?? [];
      this.traffic[c.id].down += mine.length * WIRE.encryptedShare;
      this.asClient(c.id, () => c.receiveShares(mine));
    }
  }

  private asClient<T>(party: number, work: () => T): T {
    const t0 = performance.now();
    try {
      return work();
    } finally {
      this.cpu.clientMs[party] += performance.now() - t0;
    }
  }

  private asServer<T>(work: () => T): T {
    const t0 = performance.now();
    try {
      return work();
    } finally {
      this.cpu.serverMs += performance.now() - t0;
    }
  }

  /** Round 2 for one party: the client masks its encoded input [P]; the server adds the masked vector. */
  submit(party: number, encoded: Uint32Array): void {
    const client = this.clients[party];
    if (!client) throw new Error(`secagg: no party ${party} in a cohort of ${this.params.n}`);
    const masked = this.asClient(party, () => client.maskedInput(encoded));
    this.traffic[party].up += masked.length * WIRE.maskedWord;
    this.asServer(() => this.server.addMaskedInput(party, masked));
  }

  /** Round 3: Σ of the submitted inputs mod 2^32 [P]; `silent` parties submitted but do not answer. */
  finish(silent: ReadonlySet<number> = new Set()): Uint32Array {
    const request = this.asServer(() => this.server.unmaskRequest());
    const responses: UnmaskResponse[] = [];
    for (const u of request.survivors) {
      if (silent.has(u)) continue;
      const k = this.params.graph[u].length;
      this.traffic[u].down += (k + 1) * (WIRE.partyId + 1); // each neighbour's status: survived or dropped
      const r = this.asClient(u, () => this.clients[u].unmask(request));
      this.traffic[u].up += (r.selfMaskShares.length + r.keyShares.length) * WIRE.shareReveal;
      responses.push(r);
    }
    return this.asServer(() => this.server.unmaskedSum(request, responses));
  }
}
