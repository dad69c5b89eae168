// Mask expansion: a 32-byte seed → a pseudo-random vector in Z_{2^32}[P], the ChaCha20 keystream
// (node:crypto 'chacha20', zero counter and nonce: every seed is fresh per round and used once) read as
// little-endian 32-bit words. Also the key derivation of pairwise seeds from X25519 shared secrets (HKDF).
import { createCipheriv, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';

const ZERO_IV = Buffer.alloc(16);
let zeros = Buffer.alloc(0);

/** The keystream of `seed` as words: out[P] (overwritten). */
export function expandMask(seed: Uint8Array, out: Uint32Array): Uint32Array {
  if (seed.length !== 32) throw new Error(`expandMask: seed must be 32 bytes, got ${seed.length}`);
  const bytes = out.length * 4;
  if (zeros.length < bytes) zeros = Buffer.alloc(bytes);
  const cipher = createCipheriv('chacha20', seed, ZERO_IV);
  const stream = cipher.update(zeros.subarray(0, bytes));
  new Uint8Array(out.buffer, out.byteOffset, bytes).set(stream);
  return out;
}

/** acc[P] += sign·mask(seed) in Z_{2^32}, with `scratch` [P] as the keystream buffer. */
export function applyMask(acc: Uint32Array, seed: Uint8Array, sign: 1 | -1, scratch: Uint32Array): void {
  expandMask(seed, scratch);
  if (sign > 0) addWords(acc, scratch);
  else subtractWords(acc, scratch);
}

/** acc[P] += x[P] mod 2^32 (int32 views: wrapping adds stay small integers for the JIT). */
export function addWords(acc: Uint32Array, x: Uint32Array): void {
  const a = new Int32Array(acc.buffer, acc.byteOffset, acc.length);
  const b = new Int32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < a.length; i++) a[i] = (a[i] + b[i]) | 0;
}

/** acc[P] −= x[P] mod 2^32. */
export function subtractWords(acc: Uint32Array, x: Uint32Array): void {
  const a = new Int32Array(acc.buffer, acc.byteOffset, acc.length);
  const b = new Int32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < a.length; i++) a[i] = (a[i] - b[i]) | 0;
}

/** A 32-byte key agreed by two X25519 key pairs (either side computes the same), bound to `purpose`. */
export function agreeKey(privateKey: KeyObject, peerPublicKey: KeyObject, purpose: string, salt: Uint8Array): Uint8Array {
  const shared = diffieHellman({ privateKey, publicKey: peerPublicKey });
  return new Uint8Array(hkdfSync('sha256', shared, salt, `fedmm secagg ${purpose}`, 32));
}
