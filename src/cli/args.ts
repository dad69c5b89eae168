// A small command-line parser: long kebab-case options (`--rounds 5`, `--rounds=5`), boolean flags,
// aliases (FedMultimodal's snake_case spellings), positional arguments and one-line usage errors.
//
// Every bad input ends as a UsageError whose message is the single line the user sees. Numbers follow the
// strict decimal grammar of src/io/decimal.ts ('0x10', '1e39' for a float, '' are refused).
import { fitsFloat32, parseDecimal } from '../io/decimal.js';

/** An error in what the user typed (exit code 2) or in what a run was given (exit code 1). */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionKind = 'flag' | 'string' | 'number' | 'integer';

export interface OptionSpec {
  /** Long name without dashes, kebab-case: 'client-rate'. */
  readonly name: string;
  readonly kind: OptionKind;
  /** Other accepted spellings without dashes (e.g. 'sample_rate'). */
  readonly aliases?: readonly string[];
  /** Allowed values of a string option. */
  readonly choices?: readonly string[];
  /** Placeholder shown in the help text ('N', 'RATE', 'DIR'). */
  readonly value?: string;
  readonly help: string;
  /** Smallest / largest allowed numeric value; exclusive bounds when `open` is set. */
  readonly min?: number;
  readonly max?: number;
  readonly openMin?: boolean;
  readonly openMax?: boolean;
  /** Why `max` is the limit (shown when a value exceeds it). */
  readonly maxReason?: string;
}

/** Accepted by every command: stack traces on errors (and, for runs, a line per round). */
export const VERBOSE_OPTION: OptionSpec = { name: 'verbose', kind: 'flag', help: 'print stack traces on errors (runs: a line per round)' };

export type OptionValue = string | number | boolean;

export interface ParsedArgs {
  /** Values by canonical option name; absent when not given. */
  readonly options: Record<string, OptionValue>;
  /** Which spelling the user typed for each option given (for messages and config.json). */
  readonly spelled: Record<string, string>;
  readonly positionals: string[];
}

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** The closest of `candidates` to `word`, when close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function parseNumber(spec: OptionSpec, raw: string, flag: string): number {
  const v = parseDecimal(raw);
  if (v === null) throw new UsageError(`${flag} expects a decimal number, got '${raw}'`);
  if (spec.kind === 'integer' && !Number.isInteger(v)) throw new UsageError(`${flag} expects an integer, got '${raw}'`);
  if (spec.kind === 'number' && !fitsFloat32(v)) throw new UsageError(`${flag}: ${raw} is beyond the float32 range (±3.4e38) the model computes in`);
  const lowOk = spec.min === undefined || (spec.openMin ? v > spec.min : v >= spec.min);
  const highOk = spec.max === undefined || (spec.openMax ? v < spec.max : v <= spec.max);
  if (!lowOk || !highOk) {
    const lo = spec.min === undefined ? '' : `${spec.openMin ? '>' : '≥'} ${spec.min}`;
    const hi = spec.max === undefined ? '' : `${spec.openMax ? '<' : '≤'} ${spec.max}`;
    const why = !highOk && spec.maxReason ? ` (${spec.maxReason})` : '';
    throw new UsageError(`${flag} must be ${[lo, hi].filter(Boolean).join(' and ')}, got ${raw}${why}`);
  }
  if (spec.kind === 'integer' && !Number.isSafeInteger(v)) throw new UsageError(`${flag}: ${raw} is beyond the exactly representable integers (±2^53)`);
  return v;
}

/**
 * Parses `argv` (the words after the command name) against `specs`. `command` names the command in
 * messages ('fedmm run'), `helpCommand` the command whose --help lists the options (default `command`).
 * Options may come before or after positionals; `--` ends the options.
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string, helpCommand = command): ParsedArgs {
  const byName = new Map<string, OptionSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    for (const a of s.aliases ?? []) byName.set(a, s);
  }
  const options: Record<string, OptionValue> = {};
  const spelled: Record<string, string> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    if (!word.startsWith('--')) {
      const hint = word === '-h' ? ' (use --help)' : '';
      throw new UsageError(`unknown option '${word}' for '${command}'${hint}; see '${helpCommand} --help'`);
    }
    const eq = word.indexOf('=');
    const key = word.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(key);
    if (!spec) {
      const hint = suggest(key, [...byName.keys()]);
      throw new UsageError(`unknown option '--${key}' for '${command}'${hint ? ` (did you mean '--${hint}'?)` : ''}; see '${helpCommand} --help'`);
    }
    const flag = `--${key}`;
    if (spelled[spec.name] !== undefined && spelled[spec.name] !== flag) {
      throw new UsageError(`${flag} and ${spelled[spec.name]} set the same option; give it once`);
    }
    let raw: string | null = eq < 0 ? null : word.slice(eq + 1);
    if (spec.kind === 'flag') {
      if (raw !== null) throw new UsageError(`${flag} is a switch and takes no value (got '${raw}')`);
      options[spec.name] = true;
      spelled[spec.name] = flag;
      continue;
    }
    if (raw === null) {
      const next = argv[i + 1];
      const looksLikeValue = next !== undefined && (!next.startsWith('--') || (spec.kind !== 'string' && /^-[\d.]/.test(next)));
      if (!looksLikeValue) throw new UsageError(`${flag} needs a value${spec.value ? ` (${spec.value})` : ''}`);
      raw = next;
      i++;
    }
    if (spec.kind === 'string') {
      if (raw === '') throw new UsageError(`${flag} needs a non-empty value`);
      if (spec.choices && !spec.choices.includes(raw)) {
        const hint = suggest(raw, spec.choices);
        throw new UsageError(`${flag} must be one of ${spec.choices.join(', ')}; got '${raw}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
      }
      options[spec.name] = raw;
    } else {
      options[spec.name] = parseNumber(spec, raw, flag);
    }
    spelled[spec.name] = flag;
  }
  return { options, spelled, positionals };
}

/** At most this many values in an integer list: each is a whole run. */
export const MAX_LIST_VALUES = 1000;

/** A comma-separated list of non-negative integers with ranges: '1,2,5' or '1-5' (each value ≤ `max`). */
export function parseIntegerList(raw: string, flag: string, max = 2 ** 32 - 1): number[] {
  const ranges: [number, number][] = [];
  let count = 0;
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UsageError(`${flag} expects non-negative integers like '1,2,3' or '1-5', got '${raw}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > max || hi > max) throw new UsageError(`${flag}: '${part.trim()}' exceeds the largest value ${max}`);
    if (hi < lo) throw new UsageError(`${flag}: range '${part.trim()}' runs backwards`);
    count += hi - lo + 1;
    if (count > MAX_LIST_VALUES) throw new UsageError(`${flag}: '${raw}' lists more than ${MAX_LIST_VALUES} values (each is a whole run)`);
    ranges.push([lo, hi]);
  }
  const out: number[] = [];
  for (const [lo, hi] of ranges) for (let v = lo; v <= hi; v++) out.push(v);
  if (new Set(out).size !== out.length) throw new UsageError(`${flag} lists a value twice: '${raw}'`);
  return out;
}

/** Formats option specs as help lines: '  --rounds N            rounds of training (alias --num_epochs)'. */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const left = specs.map((s) => `  --${s.name}${s.kind === 'flag' ? '' : ` ${s.value ?? (s.kind === 'string' ? 'VALUE' : 'N')}`}`);
  const width = Math.min(30, Math.max(...left.map((l) => l.length)) + 2);
  return specs
    .map((s, i) => {
      const extra = [
        s.choices ? `one of ${s.choices.join('|')}` : '',
        s.aliases?.length ? `alias ${s.aliases.map((a) => `--${a}`).join(', ')}` : '',
      ].filter(Boolean);
      const text = `${s.help}${extra.length ? ` (${extra.join('; ')})` : ''}`;
      return left[i].length >= width ? `${left[i]}\n${' '.repeat(width)}${text}` : `${left[i].padEnd(width)}${text}`;
    })
    .join('\n');
}
