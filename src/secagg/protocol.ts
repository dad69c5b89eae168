// Secure aggregation (Bonawitz et al. 2017) on the SecAgg+ graph (Bell et al. 2020), one round, with the
// real cryptography of node:crypto. The parties are separate objects that talk only through the messages
// below; the server never holds a client's key material or an unmasked vector.
//
//   0 AdvertiseKeys  client u: two fresh X25519 key pairs (c_u for share encryption, s_u for masking).
//   1 ShareKeys      u draws a self-mask seed b_u and Shamir-shares b_u and s_u's private key t-of-(k+1)
//                    among its holders (itself and its k neighbours), each share encrypted for its holder
//                    with ChaCha20-Poly1305 under HKDF(X25519(c_u, c_v)); the server routes ciphertexts.
//   2 MaskedInput    y_u = x_u + PRG(b_u) + Σ_{v∈N₁(u), u<v} PRG(s_uv) − Σ_{v∈N₁(u), u>v} PRG(s_uv)  (mod 2^32),
//                    s_uv = HKDF(X25519(s_u, s_v)), N₁(u) = the neighbours that completed ShareKeys; the
//                    server adds the y_u it receives.
//   3 Unmasking      the server names who sent y (U2) and who dropped after sharing; every responding
//                    holder reveals its share of b_u for u ∈ U2 and of s_v's key for dropped v, never both
//                    for one client. The server rebuilds b_u and the dropped clients' pairwise masks with
//                    their surviving neighbours, and removes them: Σ y_u − Σ PRG(b_u) ∓ Σ PRG(s_uv) = Σ x_u.
//
// Fewer than t holders answering for any secret the server needs, or fewer than t clients in a phase,
// aborts the round with a message saying which.
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { addWords, agreeKey, applyMask } from './prg.js';
import { FIELD_BYTES, bigintToBytes, bytesToBigint, combineShares, splitSecret, type Share } from './shamir.js';

export class SecAggAbort extends Error {
  constructor(message: string) {
    super(`secure aggregation aborted: ${message}`);
    this.name = 'SecAggAbort';
  }
}

/** Public parameters of one round, known to every party. */
export interface SecAggParams {
  /** Cohort size n; parties are numbered 0..n−1 (share points 1..n). */
  readonly n: number;
  /** Per party, its neighbours (the SecAgg+ graph; complete graph = SecAgg). */
  readonly graph: readonly Int32Array[];
  /** Shares needed to rebuild a secret, 1 ≤ t ≤ k + 1. */
  readonly threshold: number;
  /** Vector length P. */
  readonly length: number;
  /** Fresh per round (binds keys and masks to the round). */
  readonly roundSalt: Uint8Array;
}

export interface KeyAdvertisement {
  readonly from: number;
  /** Raw X25519 public keys, 32 bytes each. */
  readonly cPublic: Uint8Array;
  readonly sPublic: Uint8Array;
}

export interface EncryptedShare {
  readonly from: number;
  readonly to: number;
  readonly nonce: Uint8Array;
  /** ChaCha20-Poly1305 of [from u32 | to u32 | key share 66 B | self-mask share 66 B], tag appended. */
  readonly ciphertext: Uint8Array;
}

export interface UnmaskRequest {
  /** Parties whose masked input the server holds (U2). */
  readonly survivors: readonly number[];
  /** Parties that shared keys but sent no masked input. */
  readonly dropped: readonly number[];
}

export interface UnmaskResponse {
  readonly from: number;
  /** Shares of b_u for u ∈ survivors that this party holds. */
  readonly selfMaskShares: readonly { owner: number; share: Share }[];
  /** Shares of s_v's private key for dropped v that this party holds. */
  readonly keyShares: readonly { owner: number; share: Share }[];
}

/** Wire sizes in bytes (what a real deployment would send), for the cost accounting. */
export const WIRE = {
  advertisement: 4 + 32 + 32,
  encryptedShare: 4 + 4 + 12 + (8 + 2 * FIELD_BYTES) + 16,
  shareReveal: 4 + 2 + FIELD_BYTES,
  partyId: 4,
  maskedWord: 4,
} as const;

// Raw 32-byte X25519 keys travel as bytes; node:crypto imports them through JWK (several times faster than DER).
function rawPublic(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url'));
}
function rawPrivate(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url'));
}
function publicFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`secagg: an X25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}
function privateFromRaw(raw: Uint8Array, publicRaw: Uint8Array): KeyObject {
  const jwk = { kty: 'OKP', crv: 'X25519', d: Buffer.from(raw).toString('base64url'), x: Buffer.from(publicRaw).toString('base64url') };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

/**
 * An X25519 key pair from a 32-byte private key (default: fresh from the CSPRNG, as generateKeyPairSync draws
 * it), the public key derived from it. Not generateKeyPairSync: in Node 20 a key-generation job that the
 * garbage collector finalises while the JWK export of its own key holds that key's lock waits on the lock
 * forever (seen as a SecAgg run frozen mid-round). Node builds an OKP private key from d alone (x must be a
 * string and is not used), so the all-zero x below is a placeholder, not a claim about the key.
 */
export function x25519KeyPair(privateRaw: Uint8Array = new Uint8Array(randomBytes(32))): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = privateFromRaw(privateRaw, new Uint8Array(32));
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

function checkParams(p: SecAggParams): void {
  if (p.graph.length !== p.n) throw new Error(`secagg: graph has ${p.graph.length} parties, expected ${p.n}`);
  if (p.n > 65534) throw new Error(`secagg: at most 65534 parties per round, got ${p.n}`);
  const holders = Math.min(...p.graph.map((g) => g.length + 1));
  if (!Number.isInteger(p.threshold) || p.threshold < 1 || p.threshold > holders) {
    throw new Error(`secagg: threshold must be an integer in [1, ${holders}] (a party and its neighbours), got ${p.threshold}`);
  }
}

/** One client's side of the protocol. */
export class SecAggClient {
  private readonly c = x25519KeyPair();
  private readonly s = x25519KeyPair();
  private readonly selfMaskSeed = new Uint8Array(randomBytes(32));
  private neighborKeys = new Map<number, { cPublic: KeyObject; sPublic: KeyObject }>();
  private readonly shareKeyCache = new Map<number, Uint8Array>();
  /** Shares this party holds, by owner: of the owner's s key and of its b seed. */
  private readonly held = new Map<number, { key: Share; selfMask: Share }>();
  private maskedSent = false;

  constructor(readonly id: number, private readonly params: SecAggParams) {
    checkParams(params);
    if (!Number.isInteger(id) || id < 0 || id >= params.n) throw new Error(`secagg: party id ${id} outside 0..${params.n - 1}`);
  }

  private get neighbors(): Int32Array {
    return this.params.graph[this.id];
  }

  advertise(): KeyAdvertisement {
    return { from: this.id, cPublic: rawPublic(this.c.publicKey), sPublic: rawPublic(this.s.publicKey) };
  }

  /** Round 1: takes the neighbours' advertisements, returns one encrypted share per neighbour. */
  shareKeys(neighborAds: readonly KeyAdvertisement[]): EncryptedShare[] {
    const expected = new Set(this.neighbors);
    if (neighborAds.length !== expected.size || neighborAds.some((a) => !expected.has(a.from))) {
      throw new SecAggAbort(`party ${this.id} received advertisements that do not match its ${expected.size} neighbours`);
    }
    this.neighborKeys = new Map(neighborAds.map((a) => [a.from, { cPublic: publicFromRaw(a.cPublic), sPublic: publicFromRaw(a.sPublic) }]));
    const holders = [this.id, ...this.neighbors];
    const xs = holders.map((h) => h + 1);
    const keyShares = splitSecret(rawPrivate(this.s.privateKey), this.params.threshold, xs);
    const seedShares = splitSecret(this.selfMaskSeed, this.params.threshold, xs);
    const out: EncryptedShare[] = [];
    holders.forEach((holder, k) => {
      if (holder === this.id) {
        this.held.set(this.id, { key: keyShares[k], selfMask: seedShares[k] });
        return;
      }
      const plain = Buffer.alloc(8 + 2 * FIELD_BYTES);
      plain.writeUInt32LE(this.id, 0);
      plain.writeUInt32LE(holder, 4);
      plain.set(bigintToBytes(keyShares[k].y, FIELD_BYTES), 8);
      plain.set(bigintToBytes(seedShares[k].y, FIELD_BYTES), 8 + FIELD_BYTES);
      const key = this.shareKey(holder);
      const nonce = randomBytes(12);
      const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      const ciphertext = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      out.push({ from: this.id, to: holder, nonce: new Uint8Array(nonce), ciphertext: new Uint8Array(ciphertext) });
    });
    return out;
  }

  /** The ChaCha20-Poly1305 key shared with a neighbour (agreed once, used both ways). */
  private shareKey(peer: number): Uint8Array {
    let key = this.shareKeyCache.get(peer);
    if (!key) {
      const keys = this.neighborKeys.get(peer);
      if (!keys) throw new SecAggAbort(`party ${this.id} has no key for party ${peer}`);
      key = agreeKey(this.c.privateKey, keys.cPublic, 'share', this.params.roundSalt);
      this.shareKeyCache.set(peer, key);
    }
    return key;
  }

  /** Round 1 (receiving side): decrypts and keeps the shares routed to this party. */
  receiveShares(shares: readonly EncryptedShare[]): void {
    for (const m of shares) {
      if (m.to !== this.id || !this.neighbors.includes(m.from)) throw new SecAggAbort(`party ${this.id} got a share from non-neighbour ${m.from}`);
      const decipher = createDecipheriv('chacha20-poly1305', this.shareKey(m.from), m.nonce, { authTagLength: 16 });
      decipher.setAuthTag(m.ciphertext.subarray(m.ciphertext.length - 16));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(m.ciphertext.subarray(0, m.ciphertext.length - 16)), decipher.final()]);
      } catch {
        throw new SecAggAbort(`party ${this.id}: the share from party ${m.from} failed authentication`);
      }
      if (plain.readUInt32LE(0) !== m.from || plain.readUInt32LE(4) !== this.id) throw new SecAggAbort(`party ${this.id}: a share is addressed to someone else`);
      const x = this.id + 1;
      this.held.set(m.from, {
        key: { x, y: bytesToBigint(plain.subarray(8, 8 + FIELD_BYTES)) },
        selfMask: { x, y: bytesToBigint(plain.subarray(8 + FIELD_BYTES)) },
      });
    }
  }

  /** Round 2: y = x + PRG(b_u) ± pairwise masks in Z_{2^32}; `encoded` is the fixed-point input [P]. */
  maskedInput(encoded: Uint32Array): Uint32Array {
    if (encoded.length !== this.params.length) throw new Error(`secagg: party ${this.id} input has ${encoded.length} values, expected ${this.params.length}`);
    if (!this.held.has(this.id)) throw new SecAggAbort(`party ${this.id} has not shared its keys`);
    const y = Uint32Array.from(encoded);
    const scratch = new Uint32Array(y.length);
    applyMask(y, this.selfMaskSeed, 1, scratch);
    // Pairwise masks with the neighbours that completed ShareKeys (exactly those whose shares arrived).
    for (const v of this.neighbors) {
      if (!this.held.has(v)) continue;
      const seed = agreeKey(this.s.privateKey, this.neighborKeys.get(v)!.sPublic, 'mask', this.params.roundSalt);
      applyMask(y, seed, this.id < v ? 1 : -1, scratch);
    }
    this.maskedSent = true;
    return y;
  }

  /** Round 3: reveals b shares of survivors and key shares of the dropped — refuses a request asking both for one party. */
  unmask(request: UnmaskRequest): UnmaskResponse {
    const survivors = new Set(request.survivors);
    if (request.dropped.some((v) => survivors.has(v))) throw new SecAggAbort(`party ${this.id}: the server named a party both survivor and dropped`);
    if (!this.maskedSent || !survivors.has(this.id)) throw new SecAggAbort(`party ${this.id} is not among the survivors it is asked to unmask`);
    if (survivors.size < this.params.threshold) throw new SecAggAbort(`only ${survivors.size} masked inputs, fewer than the threshold ${this.params.threshold}`);
    const selfMaskShares: { owner: number; share: Share }[] = [];
    const keyShares: { owner: number; share: Share }[] = [];
    for (const [owner, s] of this.held) {
      if (survivors.has(owner)) selfMaskShares.push({ owner, share: s.selfMask });
      else if (request.dropped.includes(owner)) keyShares.push({ owner, share: s.key });
    }
    return { from: this.id, selfMaskShares, keyShares };
  }
}

/** The server's side: routes messages, sums masked inputs, removes masks. Sees no plaintext input. */
export class SecAggServer {
  private readonly ads = new Map<number, KeyAdvertisement>();
  private readonly sharedKeys = new Set<number>();
  private readonly masked = new Set<number>();
  private readonly sum: Uint32Array;

  constructor(private readonly params: SecAggParams) {
    checkParams(params);
    this.sum = new Uint32Array(params.length);
  }

  /** Round 0: collects advertisements; returns, per party that advertised, its neighbours' advertisements. */
  collectAdvertisements(ads: readonly KeyAdvertisement[]): Map<number, KeyAdvertisement[]> {
    for (const a of ads) this.ads.set(a.from, a);
    this.requireAtLeastThreshold(this.ads.size, 'advertised keys');
    const rosters = new Map<number, KeyAdvertisement[]>();
    for (const u of this.ads.keys()) {
      const missing = [...this.params.graph[u]].filter((v) => !this.ads.has(v));
      if (missing.length > 0) continue; // u cannot proceed: a neighbour vanished before advertising
      rosters.set(u, [...this.params.graph[u]].map((v) => this.ads.get(v)!));
    }
    return rosters;
  }

  /** Round 1: routes encrypted shares to their holders. */
  routeShares(messages: readonly EncryptedShare[][]): Map<number, EncryptedShare[]> {
    const inbox = new Map<number, EncryptedShare[]>();
    for (const batch of messages) {
      if (batch.length > 0) this.sharedKeys.add(batch[0].from);
      for (const m of batch) {
        if (!inbox.has(m.to)) inbox.set(m.to, []);
        inbox.get(m.to)!.push(m);
      }
    }
    this.requireAtLeastThreshold(this.sharedKeys.size, 'shared their keys');
    return inbox;
  }

  /** Round 2: adds one masked input to the running sum (mod 2^32). */
  addMaskedInput(from: number, y: Uint32Array): void {
    if (!this.sharedKeys.has(from)) throw new SecAggAbort(`party ${from} sent a masked input without having shared its keys`);
    if (this.masked.has(from)) throw new SecAggAbort(`party ${from} sent two masked inputs`);
    if (y.length !== this.sum.length) throw new SecAggAbort(`party ${from} sent ${y.length} values, expected ${this.sum.length}`);
    addWords(this.sum, y);
    this.masked.add(from);
  }

  /** Round 3 request: who is in, who dropped after sharing keys. */
  unmaskRequest(): UnmaskRequest {
    this.requireAtLeastThreshold(this.masked.size, 'sent masked inputs');
    return {
      survivors: [...this.masked].sort((a, b) => a - b),
      dropped: [...this.sharedKeys].filter((v) => !this.masked.has(v)).sort((a, b) => a - b),
    };
  }

  /** Round 3: rebuilds the secrets from the responses and returns Σ_{u∈U2} x_u mod 2^32 [P]. */
  unmaskedSum(request: UnmaskRequest, responses: readonly UnmaskResponse[]): Uint32Array {
    const { threshold } = this.params;
    this.requireAtLeastThreshold(responses.length, 'answered the unmasking round');
    const selfMask = new Map<number, Share[]>();
    const keys = new Map<number, Share[]>();
    for (const r of responses) {
      for (const { owner, share } of r.selfMaskShares) (selfMask.get(owner) ?? selfMask.set(owner, []).get(owner)!).push(share);
      for (const { owner, share } of r.keyShares) (keys.get(owner) ?? keys.set(owner, []).get(owner)!).push(share);
    }
    const need = (owner: number, got: Share[] | undefined, what: string): Share[] => {
      const have = got?.length ?? 0;
      if (have < threshold) {
        throw new SecAggAbort(`only ${have} of party ${owner}'s ${this.params.graph[owner].length + 1} share holders answered, ` +
          `fewer than the threshold ${threshold}: its ${what} cannot be removed`);
      }
      return got!;
    };
    // Check every secret first, so that an abort reveals no mask.
    for (const u of request.survivors) need(u, selfMask.get(u), 'self-mask');
    for (const v of request.dropped) need(v, keys.get(v), 'pairwise masks');

    const out = Uint32Array.from(this.sum);
    const scratch = new Uint32Array(out.length);
    for (const u of request.survivors) applyMask(out, combineShares(selfMask.get(u)!, threshold, 32), -1, scratch);
    const survivors = new Set(request.survivors);
    for (const v of request.dropped) {
      const sKey = privateFromRaw(combineShares(keys.get(v)!, threshold, 32), this.ads.get(v)!.sPublic);
      for (const u of this.params.graph[v]) {
        if (!survivors.has(u)) continue;
        // y_u carries +PRG(s_uv) if u < v, −PRG(s_uv) if u > v: remove it.
        const seed = agreeKey(sKey, publicFromRaw(this.ads.get(u)!.sPublic), 'mask', this.params.roundSalt);
        applyMask(out, seed, u < v ? -1 : 1, scratch);
      }
    }
    return out;
  }

  private requireAtLeastThreshold(count: number, phase: string): void {
    if (count < this.params.threshold) throw new SecAggAbort(`only ${count} parties ${phase}, fewer than the threshold ${this.params.threshold}`);
  }
}
