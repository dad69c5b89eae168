// Seeded fuzz tests of everything that reads untrusted bytes: the client-update decoder and the UCI-HAR text
// readers. Each case must end in a clean one-line error of the reader's own kind or in a result that obeys
// every rule of the format (no accepted-invalid), quickly (no hang). FEDMM_FUZZ_CASES sets the number of
// cases per reader (default 2000 in CI); FEDMM_FUZZ_SEED replays another seed.
import { describe, expect, it } from 'vitest';
import { parseIntegerText, parseSignalText } from '../src/data/uci-har.js';
import { Rng } from '../src/random.js';
import { decodeUpdate, encodeUpdate, WireError, type DecodeExpectation } from '../src/runtime/wire.js';
import { officialNumber } from './helpers/uci-har-fixture.js';

const CASES = Number(process.env.FEDMM_FUZZ_CASES ?? 2000);
const SEED = Number(process.env.FEDMM_FUZZ_SEED ?? 11);
/** Far above any honest case (a few ms), far below a hang. */
const CASE_LIMIT_MS = 2000;

/** Applies one random structural mutation to `bytes`. */
function mutateBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  if (b.length === 0) return Uint8Array.from({ length: 1 + rng.int(8) }, () => rng.int(256));
  const at = rng.int(b.length);
  switch (rng.int(7)) {
    case 0: // flip one bit
      b[at] ^= 1 << rng.int(8);
      return b;
    case 1: // overwrite a few bytes with random values
      for (let i = 0; i < 1 + rng.int(8); i++) b[rng.int(b.length)] = rng.int(256);
      return b;
    case 2: // truncate
      return b.subarray(0, at);
    case 3: { // insert random bytes
      const extra = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
      return Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
    }
    case 4: { // a msgpack type byte that claims a huge length or deep nesting
      const claims = [0xdd, 0xdf, 0xdb, 0xc6, 0xc9, 0x91, 0x81, 0xdc, 0xde];
      b[at] = claims[rng.int(claims.length)];
      if (at + 4 < b.length && rng.bernoulli(0.5)) b.fill(0xff, at + 1, at + 5);
      return b;
    }
    case 5: { // nested arrays
      const depth = 1 + rng.int(5000);
      return Uint8Array.from([...new Uint8Array(depth).fill(0x91), ...b]);
    }
    default: // random bytes of the same length
      return Uint8Array.from(b, () => rng.int(256));
  }
}

describe('fuzz: client-update decoder', () => {
  it(`${CASES} mutated updates: a WireError or a valid update, each in well under a second`, () => {
    const rng = new Rng(SEED).fork('wire');
    let accepted = 0;
    let worst = 0;
    for (let c = 0; c < CASES; c++) {
      const P = 1 + rng.int(40);
      const extraNames = rng.bernoulli(0.3) ? ['c', 'dc'] : [];
      const maxSamples = 1 + rng.int(100);
      const vector = () => Float32Array.from({ length: P }, () => rng.normal());
      const metrics = rng.bernoulli(0.5) ? { accuracy: rng.random() } : {};
      const good = new Uint8Array(encodeUpdate({
        clientId: 3, round: 5, numSamples: 1 + rng.int(maxSamples), steps: rng.int(10), loss: rng.random(), metrics,
        delta: vector(), extras: Object.fromEntries(extraNames.map((n) => [n, vector()])),
      }));
      let bytes = good;
      for (let m = 0; m < 1 + rng.int(3); m++) bytes = mutateBytes(rng, bytes);
      // Half the cases at an unaligned offset (the decoder copies then).
      if (rng.bernoulli(0.5)) {
        const shifted = new Uint8Array(bytes.length + 1);
        shifted.set(bytes, 1);
        bytes = shifted.subarray(1);
      }
      const expect_: DecodeExpectation = { round: 5, clientId: 3, numParams: P, extraNames, maxSamples };
      const t0 = performance.now();
      try {
        const u = decodeUpdate(bytes, expect_);
        accepted++;
        // Accepted means valid: every rule of the format holds.
        expect(u.clientId).toBe(3);
        expect(u.round).toBe(5);
        expect(Number.isInteger(u.numSamples) && u.numSamples >= 1 && u.numSamples <= maxSamples).toBe(true);
        expect(Number.isInteger(u.steps) && u.steps >= 0).toBe(true);
        expect(Number.isFinite(u.loss)).toBe(true);
        for (const v of Object.values(u.metrics)) expect(Number.isFinite(v)).toBe(true);
        expect(u.delta.length).toBe(P);
        expect(u.delta.every(Number.isFinite)).toBe(true);
        expect(Object.keys(u.extras).sort()).toEqual(extraNames);
        for (const x of Object.values(u.extras)) expect(x.length === P && x.every(Number.isFinite)).toBe(true);
      } catch (e) {
        if (!(e instanceof WireError)) throw new Error(`case ${c}: not a WireError: ${(e as Error).stack}`);
        expect(e.reason.includes('\n')).toBe(false);
      }
      worst = Math.max(worst, performance.now() - t0);
    }
    expect(worst).toBeLessThan(CASE_LIMIT_MS);
    // The mutations leave some updates valid (a changed loss or float): the fuzzer reaches both outcomes.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(CASES);
  });
});

/** Tokens a damaged or hostile data file may hold in place of a number. */
const HOSTILE_TOKENS = [
  '0x10', '0X1f', '0b1', '0o7', 'Infinity', '-Infinity', 'NaN', 'nan', 'inf', '1e39', '-3.5e38', '1e400', '1e', 'e5', '--1', '+-1',
  '1.2.3', '1_000', '١', '.', '-', '+', '1e+', '0x', '٣', '1,5', '1e-400', '3.4028235e38', '-3.4028234e38', '1.0e-45',
];

/** A random token: a valid decimal (in or out of float32 range), a hostile one, or random characters. */
function randomToken(rng: Rng): string {
  switch (rng.int(4)) {
    case 0:
      return officialNumber(rng.normal() * 10 ** (rng.int(20) - 10)).trim();
    case 1:
      return HOSTILE_TOKENS[rng.int(HOSTILE_TOKENS.length)];
    case 2:
      return String(rng.int(10)) + (rng.bernoulli(0.5) ? `e${rng.int(80) - 40}` : '');
    default:
      return Array.from({ length: 1 + rng.int(6) }, () => '0123456789.eE+-x '[rng.int(17)]).join('');
  }
}

/** The test's own statement of the rules: plain decimal, finite in float32. */
function validFloat32Token(t: string): boolean {
  if (!/^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t)) return false;
  const v = Number(t);
  return Number.isFinite(v) && Number.isFinite(Math.fround(v));
}

function signalFileValid(text: string): boolean {
  if (text.length > 0 && !text.endsWith('\n')) return false;
  const rows = text.split('\n').slice(0, -1);
  return rows.every((row) => {
    const tokens = row.split(/[ \t]+/).filter((t) => t !== '');
    return tokens.length === 128 && tokens.every(validFloat32Token);
  });
}

function mutateText(rng: Rng, text: string): string {
  if (text.length === 0) return randomToken(rng);
  const lines = text.split('\n');
  const r = rng.int(Math.max(1, lines.length - 1));
  switch (rng.int(6)) {
    case 0: { // replace one token
      const tokens = lines[r].trim().split(/\s+/);
      tokens[rng.int(tokens.length)] = randomToken(rng);
      lines[r] = ' ' + tokens.join(' ');
      return lines.join('\n');
    }
    case 1: // cut the file anywhere
      return text.slice(0, rng.int(text.length));
    case 2: { // delete one character
      const at = rng.int(text.length);
      return text.slice(0, at) + text.slice(at + 1);
    }
    case 3: { // insert one character
      const at = rng.int(text.length);
      return text.slice(0, at) + ' 0123456789.eE+-x\n\t'[rng.int(18)] + text.slice(at);
    }
    case 4: // drop a token
      lines[r] = lines[r].replace(/\s+\S+$/, '');
      return lines.join('\n');
    default: { // an extra token
      lines[r] += ` ${randomToken(rng)}`;
      return lines.join('\n');
    }
  }
}

describe('fuzz: UCI-HAR text readers', () => {
  const rng = new Rng(SEED).fork('uci-har');
  const base = Array.from({ length: 3 }, (_, w) => ' ' + Array.from({ length: 128 }, (_, t) => officialNumber(0.02 * Math.sin(0.1 * (t + 1) * (w + 1)))).join(' ')).join('\n') + '\n';
  const file = '/data/body_acc_x_train.txt';

  it(`${CASES} mutated signal files: accepted exactly when valid, else one line naming file and line`, () => {
    let accepted = 0;
    let worst = 0;
    for (let c = 0; c < CASES; c++) {
      let text = base;
      for (let m = 0; m < 1 + rng.int(2); m++) text = mutateText(rng, text);
      const valid = signalFileValid(text);
      const t0 = performance.now();
      let error: Error | null = null;
      let out: Float32Array | null = null;
      try {
        out = parseSignalText(text, file);
      } catch (e) {
        error = e as Error;
      }
      worst = Math.max(worst, performance.now() - t0);
      if (valid) {
        expect(error, `case ${c}: valid text refused: ${error?.message}`).toBeNull();
        expect(out!.every(Number.isFinite)).toBe(true);
        accepted++;
      } else {
        expect(error, `case ${c}: invalid text accepted:\n${text.slice(0, 300)}`).not.toBeNull();
        expect(error!.message).toMatch(new RegExp(`^${file}:\\d+(:\\d+)?: `));
        expect(error!.message.includes('\n')).toBe(false);
      }
    }
    expect(worst).toBeLessThan(CASE_LIMIT_MS);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(CASES);
  });

  it(`${CASES} mutated label files: accepted exactly when every line is 1..6`, () => {
    const labels = '1\n2\n3\n4\n5\n6\n';
    let accepted = 0;
    for (let c = 0; c < CASES; c++) {
      let text = labels;
      const at = rng.int(labels.length);
      switch (rng.int(3)) {
        case 0:
          text = labels.slice(0, at) + randomToken(rng) + labels.slice(at + 1);
          break;
        case 1:
          text = labels.slice(0, at);
          break;
        default:
          text = labels.replace(/^.*$/m, randomToken(rng));
      }
      const valid = (text === '' || text.endsWith('\n')) && text.split('\n').slice(0, -1).every((l) => /^[ \t]*[+]?0*[1-6][ \t]*$/.test(l));
      let error: Error | null = null;
      try {
        parseIntegerText(text, '/data/y_train.txt', 'label');
        accepted++;
      } catch (e) {
        error = e as Error;
      }
      expect(error === null, `case ${c}: ${JSON.stringify(text)} → ${error?.message}`).toBe(valid);
      if (error) expect(error.message).toMatch(/^\/data\/y_train\.txt:\d+(:\d+)?: /);
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
