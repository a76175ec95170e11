/**
 * Runs an experiment's variants in each world (host × heap, always in child
 * processes), judges its claims per world, and returns one ExperimentRun per world:
 * the shape `malloc-lab run --json` prints (schema/experiment-run.schema.json).
 *
 * The unit of work is one run: one experiment, in one world, once (runWorld); runs
 * share nothing, so they can be scheduled in any order. runExperiment repeats them
 * (interleaving the worlds) and combines the repetitions (stability.ts).
 */
import { release } from 'node:os';

import { glibcRuntimeVersion } from '../../infra/binaries.js';
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import * as check from '../../infra/validate.js';
import { type Ageing, agedProgram, checkAgeing } from './ageing.js';
import { checkLibraries } from './allocator-libraries.js';
import {
  allocatorLibrary,
  runOnHost,
  type AllocatorLibraries,
  type AllocatorName,
  type HostName,
  type HostRun,
} from './hosts.js';
import { judged } from './observe.js';
import { unmetPreconditions } from './preconditions.js';
import { statusName } from './program.js';
import type { OpName } from './program.js';
import { type RunScheduler, runKind } from './scheduler.js';
import { mergeEnv } from './settings.js';
import { combineRepetitions } from './stability.js';
import type { ClaimContext, ClaimResult, ExperimentDefinition, Parameters } from './types.js';
import { checkWorlds, type HeapName, selectWorlds, type World, worldName } from './worlds.js';

export interface RunOptions {
  /** Hosts to run on (with heaps: every host × heap; alone: their clean heaps). */
  hosts?: HostName[];
  /** Heaps to start from (alone: on both hosts). Neither hosts nor heaps: both hosts' clean heaps. */
  heaps?: HeapName[];
  /** The worlds, exactly (instead of hosts and heaps). */
  worlds?: World[];
  /** The ageing workload for aged heaps (over DEFAULT_AGEING). */
  ageing?: Partial<Ageing>;
  /** Runs of each world, each in fresh processes (default 1). */
  repeat?: number;
  allocator?: AllocatorName;
  /** Library files for the other allocators, where not Debian's (`{ jemalloc: '/opt/…/libjemalloc.so.2' }`). */
  libraries?: AllocatorLibraries;
  /** Extra environment for every run (on top of a variant's own). */
  env?: Record<string, string>;
  parameters?: Parameters;
  /** Use the seed's full sizes where the defaults are scaled down. */
  full?: boolean;
  onProgress?: (message: string) => void;
  /**
   * Runs the hosts and the variants side by side, as this scheduler allows (scheduler.ts);
   * without one, one child process after another.
   */
  scheduler?: RunScheduler;
}

export interface OpResult {
  op: OpName;
  status: number;
  /** The errno name or refusal code when status is not 0. */
  error?: string;
  value: number | null;
  value2: number | null;
}

export interface StepRecord {
  variant: string;
  label: string;
  status: Record<string, number | null>;
  brk: string;
  mallinfo: Record<string, number>;
  ops: OpResult[];
}

export interface VariantRecord {
  name: string;
  description: string;
  env: Record<string, string>;
  completed: boolean;
  exitCode: number | null;
  signal: string | null;
  stderr: string;
  /** Files the run wrote where a captured variable pointed (null: never created). */
  captured?: Record<string, string | null>;
  durationMs: number;
  /** Which call filled the mallinfo fields (mallinfo's are 32-bit); absent when nothing was measured. */
  mallinfoSource?: 'mallinfo2' | 'mallinfo';
  failure?: { label: string; op: string; status: number; error: string };
  /** Node processes started for this variant that ran nothing, and why (hosts.ts). */
  restarts?: string[];
}

export interface ExperimentRun {
  experiment: string;
  title: string;
  seeds: string[];
  host: HostName;
  /** The heap the programs started on. */
  heap: HeapName;
  /** fresh, node, aged/fresh or aged/node. */
  world: string;
  /** The ageing workload (aged heaps only). */
  ageing?: Ageing;
  /** Repetitions combined into this run; claims carry each verdict's count. */
  repeat: number;
  glibc: string;
  kernel: string;
  allocator: AllocatorName;
  env: Record<string, string>;
  parameters: Parameters;
  /** Why this host/allocator did not run (a missing library), if it did not. */
  skipped?: string;
  variants: VariantRecord[];
  steps: StepRecord[];
  claims: ClaimResult[];
  /** How long its child processes ran, all variants together (time queued for a CPU not counted). */
  durationMs: number;
}

function requireDefinition(definition: unknown, fn: string): asserts definition is ExperimentDefinition {
  const candidate = definition as Partial<ExperimentDefinition> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.id !== 'string' ||
    typeof candidate.variants !== 'function' ||
    !Array.isArray(candidate.parameters) ||
    !Array.isArray(candidate.claims)
  ) {
    throw check.typeError(fn, 'definition', 'an experiment definition (from CATALOGUE or findExperiment)', definition);
  }
}

export function resolveParameters(definition: ExperimentDefinition, given: Parameters = {}, full = false): Parameters {
  requireDefinition(definition, 'resolveParameters');
  given = check.options<Parameters>(given, 'resolveParameters', 'given') as Parameters;
  const known = new Map(definition.parameters.map((parameter) => [parameter.name, parameter]));
  for (const [name, value] of Object.entries(given)) {
    if (!known.has(name)) {
      throw new MallocLabError(
        `${definition.id}: unknown parameter --${name} (expected one of ${[...known.keys()].map((key) => `--${key}`).join(', ') || 'none'})`,
        ErrorCodes.OUT_OF_RANGE,
      );
    }
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new MallocLabError(
        `${definition.id}: --${name} must be a non-negative integer, received ${value}`,
        ErrorCodes.OUT_OF_RANGE,
      );
    }
  }
  const resolved: Parameters = {};
  for (const parameter of definition.parameters) {
    resolved[parameter.name] =
      given[parameter.name] ?? (full && parameter.full !== undefined ? parameter.full : parameter.default);
  }
  return resolved;
}

const finite = (value: number) => (Number.isFinite(value) ? value : null);

function stepRecords(variant: string, run: HostRun): StepRecord[] {
  return run.steps
    .filter((step) => step.sample !== undefined)
    .map((step) => ({
      variant,
      label: step.label,
      status: Object.fromEntries(Object.entries(step.sample!.status).map(([key, value]) => [key, finite(value)])),
      brk: `0x${step.sample!.brk.toString(16)}`,
      mallinfo: step.sample!.mallinfo,
      ops: step.ops.map((op) => ({
        op: op.op,
        status: op.status,
        ...(op.status === 0 ? {} : { error: statusName(op.status)! }),
        value: finite(op.value),
        value2: finite(op.value2),
      })),
    }));
}

/** What a run of one world needs, resolved once for all its repetitions. */
interface Plan {
  definition: ExperimentDefinition;
  parameters: Parameters;
  libraries: AllocatorLibraries;
  allocator: AllocatorName;
  env: Record<string, string>;
  ageing: Ageing;
}

function plan(definition: ExperimentDefinition, options: RunOptions): Plan {
  if (options.scheduler !== undefined && typeof (options.scheduler as Partial<RunScheduler> | null)?.run !== 'function')
    throw check.typeError(
      'runExperiment',
      'options.scheduler',
      'a scheduler (from createScheduler)',
      options.scheduler,
    );
  return {
    definition,
    parameters: resolveParameters(definition, options.parameters, options.full),
    libraries: checkLibraries(options.libraries, 'runExperiment', 'options.libraries'),
    allocator: definition.comparesAllocators === true ? 'glibc' : (options.allocator ?? 'glibc'),
    env: { ...(options.env ?? {}) },
    ageing: checkAgeing(options.ageing, 'runExperiment'),
  };
}

/** The worlds runExperiment runs for options (each host the experiment supports). */
export function worldsFor(definition: ExperimentDefinition, options: RunOptions = {}): World[] {
  requireDefinition(definition, 'worldsFor');
  const worlds =
    options.worlds !== undefined
      ? checkWorlds(options.worlds, 'runExperiment')
      : selectWorlds(options.hosts, options.heaps);
  return worlds.filter((world) => (definition.hosts ?? ['node', 'fresh']).includes(world.host));
}

/** One run: the experiment's variants in one world, once, and its claims judged there. */
export async function runWorld(
  definition: ExperimentDefinition,
  world: World,
  options: RunOptions = {},
): Promise<ExperimentRun> {
  requireDefinition(definition, 'runWorld');
  options = check.options<RunOptions>(options, 'runWorld');
  return runPlanned(plan(definition, options), checkWorlds([world], 'runWorld')[0]!, options);
}

async function runPlanned(
  p: Plan,
  world: World,
  { onProgress, scheduler }: Pick<RunOptions, 'onProgress' | 'scheduler'>,
): Promise<ExperimentRun> {
  const { definition, parameters, allocator, libraries } = p;
  const base: ExperimentRun = {
    experiment: definition.id,
    title: definition.title,
    seeds: definition.seeds,
    host: world.host,
    heap: world.heap,
    world: worldName(world),
    ...(world.heap === 'aged' ? { ageing: p.ageing } : {}),
    repeat: 1,
    glibc: glibcRuntimeVersion() ?? 'unknown',
    kernel: release(),
    allocator,
    env: { ...p.env },
    parameters,
    variants: [],
    steps: [],
    claims: [],
    durationMs: 0,
  };
  const missing = allocatorLibrary(allocator, libraries).missing;
  const unsupported = definition.allocators !== undefined && !definition.allocators.includes(allocator);
  if (missing !== undefined || unsupported) {
    return { ...base, skipped: missing ?? `${definition.id} judges glibc itself; it does not run with ${allocator}` };
  }
  const runs: Record<string, HostRun> = {};
  const variantEnv: Record<string, Record<string, string>> = {};
  const variants = definition.variants(parameters, libraries);
  const runVariant = (variant: (typeof variants)[number]): Promise<HostRun> => {
    const program = world.heap === 'aged' ? agedProgram(variant.program, p.ageing) : variant.program;
    const launch = (onStarted?: () => void) => {
      onProgress?.(`${definition.id}: ${variant.name} in ${base.world}`);
      return runOnHost(program, world.host, {
        env: mergeEnv(variant.env ?? {}, p.env),
        allocator,
        libraries,
        ...(variant.capture === undefined ? {} : { capture: variant.capture }),
        ...(onStarted === undefined ? {} : { onStarted }),
      });
    };
    return scheduler === undefined
      ? launch()
      : scheduler.run(runKind(program), (scheduled) => launch(() => scheduled.started()));
  };
  const hostRuns: HostRun[] = [];
  if (scheduler === undefined) for (const variant of variants) hostRuns.push(await runVariant(variant));
  else hostRuns.push(...(await Promise.all(variants.map(runVariant))));
  for (const [index, variant] of variants.entries()) {
    const run = hostRuns[index]!;
    variantEnv[variant.name] = { ...(variant.env ?? {}) };
    runs[variant.name] = run;
    base.variants.push({
      name: variant.name,
      description: variant.description,
      env: run.env,
      completed: run.completed,
      exitCode: run.exitCode,
      signal: run.signal,
      stderr: run.stderr,
      ...(variant.capture === undefined ? {} : { captured: run.captured }),
      durationMs: Math.round(run.durationMs),
      ...(run.mallinfoSource === undefined ? {} : { mallinfoSource: run.mallinfoSource }),
      ...(run.failure === undefined ? {} : { failure: { ...run.failure, error: statusName(run.failure.status)! } }),
      ...(run.restarts.length > 0 ? { restarts: run.restarts } : {}),
    });
    base.steps.push(...stepRecords(variant.name, run));
  }
  const context: ClaimContext = {
    host: world.host,
    heap: world.heap,
    ...(world.heap === 'aged' ? { ageing: p.ageing } : {}),
    allocator,
    libraries,
    glibc: base.glibc,
    parameters,
    env: p.env,
    variantEnv,
    runs,
  };
  base.claims = definition.claims.map((claim) => judgeClaim(claim, context));
  // The time its child processes ran: the same whether they ran one after another or queued beside others.
  base.durationMs = Math.round(hostRuns.reduce((sum, run) => sum + run.durationMs, 0));
  return base;
}

function judgeClaim(claim: ExperimentDefinition['claims'][number], context: ClaimContext): ClaimResult {
  const unmet = unmetPreconditions(claim.requires, context);
  const judgement =
    unmet.length > 0
      ? { verdict: 'inconclusive' as const, evidence: `${unmet.join('; ')}.` }
      : judged(() => claim.judge(context));
  return {
    id: claim.id,
    claim: claim.claim,
    ...judgement,
    counts: { [judgement.verdict]: 1 },
    of: 1,
    ...(unmet.length > 0 ? { unmet } : {}),
  };
}

/**
 * The experiment in each world, `repeat` times (each run in fresh processes; the
 * repetitions go round the worlds in turn, so a disturbance of the machine does not
 * fall on one world's runs), one ExperimentRun per world with each verdict's count.
 */
export async function runExperiment(
  definition: ExperimentDefinition,
  options: RunOptions = {},
): Promise<ExperimentRun[]> {
  requireDefinition(definition, 'runExperiment');
  options = check.options<RunOptions>(options, 'runExperiment');
  const repeat =
    options.repeat === undefined ? 1 : check.integer(options.repeat, 'runExperiment', 'options.repeat', 1, 1000);
  const planned = plan(definition, options);
  const worlds = worldsFor(definition, options);
  const byWorld: ExperimentRun[][] = worlds.map(() => []);
  if (options.scheduler === undefined) {
    for (let repetition = 0; repetition < repeat; repetition++) {
      for (const [index, world] of worlds.entries()) byWorld[index]!.push(await runPlanned(planned, world, options));
    }
  } else {
    // Every run handed to the scheduler at once, queued round the worlds as above.
    const pending = worlds.map((): Promise<ExperimentRun>[] => []);
    for (let repetition = 0; repetition < repeat; repetition++) {
      for (const [index, world] of worlds.entries()) pending[index]!.push(runPlanned(planned, world, options));
    }
    const settled = await Promise.all(pending.map((runs) => Promise.all(runs)));
    for (const [index, runs] of settled.entries()) byWorld[index]!.push(...runs);
  }
  return byWorld.map((runs) => combineRepetitions(runs));
}
