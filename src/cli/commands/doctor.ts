// fedmm doctor: what this machine gives fedmm — the backend chosen and why, the native addon and its ISA
// variant, the GPU adapter probe, worker threads, Node and the CPU.
import { availableParallelism, cpus, totalmem, arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { autoChoice, backendInfo, useBackend } from '../../backend/index.js';
import { addonBuilt, addonPath, loadAddon } from '../../backend/native.js';
import { formatOptions, parseArgs, UsageError, VERBOSE_OPTION, type OptionSpec } from '../args.js';
import { VERSION } from '../version.js';
import type { Command } from './command.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'json', kind: 'flag', help: 'print the findings as JSON' },
  { name: 'no-gpu', kind: 'flag', help: 'skip the GPU adapter probe (it starts a device thread and may take seconds)' },
  VERBOSE_OPTION,
];

/** What the gpu.js probe (kernels/probe.ts) answers; read through a dynamic import so doctor runs without it. */
interface GpuProbeAnswer {
  available: boolean;
  mode: string;
  adapter: { vendor?: string; architecture?: string; description?: string; software?: boolean } | null;
  attempts: { backend: string; ok: boolean; detail: string }[];
  summary: string;
}

export interface DoctorReport {
  fedmm: string;
  node: string;
  platform: string;
  cpu: { model: string; cores: number; memoryGiB: number };
  workers: { default: number; why: string };
  backend: { requested: string; chosen: string; variant: string; why: string };
  native: { built: boolean; path: string | null; loaded: boolean; error: string | null; compiled: string[]; supported: string[]; active: string | null; forcedIsa: string | null };
  gpu: GpuProbeAnswer | { skipped: true } | { error: string };
}

async function probeGpu(): Promise<DoctorReport['gpu']> {
  const here = dirname(fileURLToPath(import.meta.url));
  const url = pathToFileURL(join(here, '..', '..', '..', 'kernels', 'index.js')).href;
  try {
    const mod = (await import(url)) as { probeGpu?: () => GpuProbeAnswer };
    if (typeof mod.probeGpu !== 'function') return { error: 'kernels/index.js has no probeGpu()' };
    return mod.probeGpu();
  } catch (e) {
    return { error: `gpu kernels not loadable: ${(e as Error).message.split('\n')[0]}` };
  }
}

function nativeStatus(): DoctorReport['native'] {
  const base = { built: addonBuilt(), path: addonPath(), forcedIsa: process.env.FEDMM_ISA ?? null };
  try {
    const info = loadAddon().info();
    return { ...base, loaded: true, error: null, compiled: info.compiled, supported: info.supported, active: info.active };
  } catch (e) {
    return { ...base, loaded: false, error: (e as Error).message.split('\n')[0], compiled: [], supported: [], active: null };
  }
}

export async function doctorReport(withGpu: boolean): Promise<DoctorReport> {
  const native = nativeStatus();
  const gpu = withGpu ? await probeGpu() : { skipped: true as const };
  const requested = (process.env.FEDMM_BACKEND ?? 'auto').trim() || 'auto';
  let chosen = 'none';
  let variant = '';
  let why: string;
  try {
    useBackend(requested as Parameters<typeof useBackend>[0]);
    const info = backendInfo();
    chosen = info.name;
    variant = info.variant;
    const noGpu = 'available' in gpu && !gpu.available ? 'no usable GPU; ' : '';
    if (requested !== 'auto') why = `forced by FEDMM_BACKEND=${requested}`;
    else if (chosen === 'gpu') why = `auto: ${autoChoice()?.gpu ?? 'a GPU answered'}`;
    else if (chosen === 'native') {
      const calibrated = autoChoice()?.calibrationMs ? `${autoChoice()!.gpu}; ` : '';
      why = `auto: ${noGpu}${calibrated}the native addon loaded; ISA variant ${variant}${native.forcedIsa ? ' (forced by FEDMM_ISA)' : ' (best this CPU runs)'}`;
    }
    else why = `auto: ${noGpu}${native.error ?? 'the native addon is unavailable'}; using the TypeScript reference kernels`;
  } catch (e) {
    why = `not usable: ${(e as Error).message.split('\n')[0]}`;
  }
  const cpuList = cpus();
  const cores = availableParallelism();
  return {
    fedmm: VERSION,
    node: process.version,
    platform: `${platform()} ${arch()}`,
    cpu: { model: cpuList[0]?.model.trim() ?? 'unknown', cores, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1) },
    workers: { default: cores, why: 'one Piscina worker per available core (override with --workers)' },
    backend: { requested, chosen, variant, why },
    native,
    gpu,
  };
}

function gpuLines(g: DoctorReport['gpu']): string[] {
  if ('skipped' in g) return ['gpu        probe skipped (--no-gpu)'];
  if ('error' in g) return [`gpu        ${g.error}`];
  const a = g.adapter;
  const adapter = a ? `${a.vendor ?? ''} ${a.architecture ?? ''} ${a.description ?? ''}`.replace(/\s+/g, ' ').trim() : 'none';
  return [
    `gpu        ${g.available ? 'available' : 'not available'}; adapter: ${adapter}${a?.software ? ' (software)' : ''}; FEDMM_BACKEND=gpu runs gpu.js mode '${g.mode}'`,
    ...g.attempts.map((t) => `           tried ${t.backend}: ${t.ok ? 'ok' : 'failed'}: ${t.detail}`),
  ];
}

export function formatDoctor(r: DoctorReport): string {
  const n = r.native;
  return [
    `fedmm      ${r.fedmm}`,
    `node       ${r.node} (${r.platform})`,
    `cpu        ${r.cpu.model}; ${r.cpu.cores} cores available; ${r.cpu.memoryGiB} GiB memory`,
    `backend    ${r.backend.chosen}${r.backend.variant ? ` (${r.backend.variant})` : ''}: ${r.backend.why}`,
    `native     ${n.loaded ? `loaded from ${n.path}` : n.error ?? 'not loaded'}`,
    ...(n.loaded ? [`           ISA variants built: ${n.compiled.join(', ')}; this CPU runs: ${n.supported.join(', ')}; active: ${n.active}`] : []),
    ...gpuLines(r.gpu),
    `workers    ${r.workers.default} by default: ${r.workers.why}`,
  ].join('\n');
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'show the backend chosen and why, the native addon, ISA, GPU adapter, workers, Node and CPU',
  help: () => [
    'Usage: fedmm doctor [options]',
    '',
    'Reports what fedmm would run on here. FEDMM_BACKEND (auto|js|native|gpu) and FEDMM_ISA',
    '(avx512|avx2|baseline) change the choice; doctor shows the effect.',
    '',
    'Options:',
    formatOptions(OPTIONS),
    '',
    'Examples:',
    '  fedmm doctor',
    '  FEDMM_ISA=avx2 fedmm doctor --no-gpu',
    '  fedmm doctor --json > machine.json',
  ].join('\n'),
  async run(argv) {
    const args = parseArgs(argv, OPTIONS, 'fedmm doctor');
    if (args.positionals.length) throw new UsageError(`fedmm doctor takes no arguments, got '${args.positionals[0]}'`);
    const report = await doctorReport(args.options['no-gpu'] !== true);
    process.stdout.write((args.options.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
    return 0;
  },
};
