// Experiment grids: a JSON file of cells, each a set of `fedmm run` options (kebab-case keys, the same
// names and checks as the command line).
//
//   {
//     "name": "robustness-uci-har",
//     "description": "…",
//     "defaults": { "dataset": "uci-har", "fusion": "attention" },      // under every cell
//     "matrix": [ { "alg": ["fedavg", "fedopt"], "missing-modality": [0.1, 0.3] } ],  // cartesian blocks
//     "cells": [ { "name": "baseline", "alg": "fedavg" } ]               // explicit cells
//   }
//
// A cell's directory is <grid out>/<cell name>; the name is given or made from the cell's own settings.
// A cell whose result.json exists is finished and skipped on a re-run.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathPartProblem } from '../io/paths.js';
import { parseArgs, UsageError, type ParsedArgs } from './args.js';
import { EXPERIMENT_OPTIONS } from './run-options.js';

export type CellValue = string | number | boolean;
export type CellSettings = Readonly<Record<string, CellValue>>;

export interface GridFile {
  readonly name?: string;
  readonly description?: string;
  readonly defaults?: CellSettings;
  readonly matrix?: readonly Readonly<Record<string, readonly CellValue[]>>[];
  readonly cells?: readonly CellSettings[];
}

export interface GridCell {
  readonly name: string;
  /** The cell's settings over the grid defaults (as `fedmm run` options). */
  readonly settings: CellSettings;
  readonly args: ParsedArgs;
}

export interface Grid {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly cells: readonly GridCell[];
}

/** grids/ of this package (from src/cli or dist/src/cli). */
export function gridsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const candidate = join(dir, 'grids');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('grids/ folder of the fedmm package not found');
}

/** A grid file by path, or a shipped grid by name (grids/<name>.json). */
export function findGridFile(nameOrPath: string): string {
  const asPath = resolve(nameOrPath);
  if (existsSync(asPath) && statSync(asPath).isFile()) return asPath;
  const shipped = join(gridsDir(), nameOrPath.endsWith('.json') ? nameOrPath : `${nameOrPath}.json`);
  if (existsSync(shipped)) return shipped;
  throw new UsageError(`no grid '${nameOrPath}': not a file, and not one of the shipped grids (${shippedGrids().join(', ')})`);
}

export function shippedGrids(): string[] {
  return readdirSync(gridsDir()).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

function isValue(v: unknown): v is CellValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function checkSettings(where: string, s: unknown): CellSettings {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new UsageError(`${where} must be an object of run options`);
  for (const [k, v] of Object.entries(s)) {
    if (!isValue(v)) throw new UsageError(`${where}: '${k}' must be a string, number or true/false`);
  }
  return s as CellSettings;
}

/** The command-line words of a cell's settings: {rounds: 5, trace: true} → ['--rounds', '5', '--trace']. */
export function settingsToArgv(settings: CellSettings): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(settings)) {
    if (k === 'name') continue;
    if (v === false) continue;
    out.push(`--${k}`);
    if (v !== true) out.push(String(v));
  }
  return out;
}

function formatValue(v: CellValue): string {
  return typeof v === 'number' ? String(v) : String(v).replace(/[^\w.-]+/g, '_');
}

/** 'fedopt_alpha-0.1_missing-modality-0.3' from a cell's own settings (not the defaults). */
export function cellName(settings: CellSettings): string {
  const parts = Object.entries(settings)
    .filter(([k]) => k !== 'name')
    .map(([k, v]) => (k === 'alg' || k === 'dataset' || k === 'fusion' || k === 'modality' ? formatValue(v) : v === true ? k : `${k}-${formatValue(v)}`));
  return parts.join('_') || 'default';
}

function expandMatrix(where: string, block: unknown): CellSettings[] {
  if (block === null || typeof block !== 'object' || Array.isArray(block)) throw new UsageError(`${where} must be an object of option → list of values`);
  let cells: Record<string, CellValue>[] = [{}];
  for (const [k, values] of Object.entries(block)) {
    if (!Array.isArray(values) || values.length === 0 || !values.every(isValue)) throw new UsageError(`${where}: '${k}' must be a non-empty list of values`);
    cells = cells.flatMap((c) => values.map((v) => ({ ...c, [k]: v })));
  }
  return cells;
}

/** Reads, expands and checks a grid file: every cell's options are parsed as `fedmm run` would. */
export function loadGrid(file: string): Grid {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`grid ${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`grid ${file}: must be a JSON object`);
  const g = raw as GridFile;
  for (const k of Object.keys(g)) {
    if (!['name', 'description', 'defaults', 'matrix', 'cells'].includes(k)) throw new UsageError(`grid ${file}: unknown field '${k}' (expected name, description, defaults, matrix, cells)`);
  }
  const defaults = g.defaults === undefined ? {} : checkSettings(`grid ${file}: defaults`, g.defaults);
  if (g.matrix !== undefined && !Array.isArray(g.matrix)) throw new UsageError(`grid ${file}: matrix must be a list of objects`);
  if (g.cells !== undefined && !Array.isArray(g.cells)) throw new UsageError(`grid ${file}: cells must be a list of objects`);
  const own: CellSettings[] = [
    ...(g.matrix ?? []).flatMap((b, i) => expandMatrix(`grid ${file}: matrix[${i}]`, b)),
    ...(g.cells ?? []).map((c, i) => checkSettings(`grid ${file}: cells[${i}]`, c)),
  ];
  if (own.length === 0) throw new UsageError(`grid ${file}: no cells (give 'matrix' or 'cells')`);
  const seen = new Map<string, number>();
  const cells = own.map((settings, i) => {
    const name = typeof settings.name === 'string' ? settings.name : cellName(settings);
    const problem = pathPartProblem(name);
    if (problem !== null) throw new UsageError(`grid ${file}: cell ${i} cannot be named '${name}' (its folder's name): ${problem}`);
    if (seen.has(name)) throw new UsageError(`grid ${file}: cells ${seen.get(name)} and ${i} are both named '${name}'`);
    seen.set(name, i);
    const merged = { ...defaults, ...settings };
    try {
      const args = parseArgs(settingsToArgv(merged), EXPERIMENT_OPTIONS, 'a grid cell', 'fedmm run');
      return { name, settings: merged, args };
    } catch (e) {
      throw new UsageError(`grid ${file}, cell '${name}': ${(e as Error).message}`);
    }
  });
  const base = file.split('/').pop()!.replace(/\.json$/, '');
  return { name: typeof g.name === 'string' ? g.name : base, description: typeof g.description === 'string' ? g.description : '', file, cells };
}

/** Options of `fedmm grid` that override every cell: the override wins; a repeat option replaces the cell's. */
export function applyOverrides(cell: ParsedArgs, overrides: ParsedArgs): ParsedArgs {
  const options = { ...cell.options };
  const spelled = { ...cell.spelled };
  const repeatKeys = ['seed', 'seeds', 'folds'];
  if (repeatKeys.some((k) => k in overrides.options)) {
    for (const k of repeatKeys) {
      delete options[k];
      delete spelled[k];
    }
  }
  Object.assign(options, overrides.options);
  Object.assign(spelled, overrides.spelled);
  return { options, spelled, positionals: [] };
}
