/**
 * Runs an experiment's variants on each host (always in child processes),
 * judges its claims per host, and returns one ExperimentRun per host: the shape
 * `malloc-lab run --json` prints (schema/experiment-run.schema.json).
 */
import { release } from 'node:os';

import { glibcRuntimeVersion } from '../../infra/binaries.js';
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import * as check from '../../infra/validate.js';
import { checkLibraries } from './allocator-libraries.js';
import {
  allocatorLibrary,
  HOSTS,
  runOnHost,
  type AllocatorLibraries,
  type AllocatorName,
  type HostName,
  type HostRun,
} from './hosts.js';
import { judged } from './observe.js';
import { statusName } from './program.js';
import type { OpName } from './program.js';
import { type RunScheduler, runKind } from './scheduler.js';
import type { ClaimResult, ExperimentDefinition, Parameters, Variant } from './types.js';

export interface RunOptions {
  hosts?: HostName[];
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
}

export interface ExperimentRun {
  experiment: string;
  title: string;
  seeds: string[];
  host: HostName;
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

export async function runExperiment(
  definition: ExperimentDefinition,
  options: RunOptions = {},
): Promise<ExperimentRun[]> {
  requireDefinition(definition, 'runExperiment');
  options = check.options<RunOptions>(options, 'runExperiment');
  if (options.scheduler !== undefined && typeof (options.scheduler as Partial<RunScheduler> | null)?.run !== 'function')
    throw check.typeError(
      'runExperiment',
      'options.scheduler',
      'a scheduler (from createScheduler)',
      options.scheduler,
    );
  const parameters = resolveParameters(definition, options.parameters, options.full);
  const libraries = checkLibraries(options.libraries, 'runExperiment', 'options.libraries');
  const allocator = definition.comparesAllocators === true ? 'glibc' : (options.allocator ?? 'glibc');
  const hosts = (options.hosts ?? HOSTS).filter((host) => (definition.hosts ?? HOSTS).includes(host));
  const variants = definition.variants(parameters, libraries);
  const scheduler = options.scheduler;
  const runVariant = (variant: Variant, host: HostName): Promise<HostRun> => {
    const launch = (started?: () => void) => {
      options.onProgress?.(`${definition.id}: ${variant.name} on ${host}`);
      return runOnHost(variant.program, host, {
        env: { ...(variant.env ?? {}), ...(options.env ?? {}) },
        allocator,
        libraries,
        ...(variant.capture === undefined ? {} : { capture: variant.capture }),
        ...(started === undefined ? {} : { onStarted: started }),
      });
    };
    return scheduler === undefined
      ? launch()
      : scheduler.run(runKind(variant.program), (run) => launch(() => run.started()));
  };
  const runHost = async (host: HostName): Promise<ExperimentRun> => {
    const started = performance.now();
    const base: ExperimentRun = {
      experiment: definition.id,
      title: definition.title,
      seeds: definition.seeds,
      host,
      glibc: glibcRuntimeVersion() ?? 'unknown',
      kernel: release(),
      allocator,
      env: { ...(options.env ?? {}) },
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
    const hostRuns: HostRun[] = [];
    if (scheduler === undefined) for (const variant of variants) hostRuns.push(await runVariant(variant, host));
    else hostRuns.push(...(await Promise.all(variants.map((variant) => runVariant(variant, host)))));
    const runs: Record<string, HostRun> = {};
    variants.forEach((variant, index) => {
      const run = hostRuns[index]!;
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
      });
      base.steps.push(...stepRecords(variant.name, run));
    });
    const context = { host, allocator, libraries, parameters, runs };
    base.claims = definition.claims.map((claim) => ({
      id: claim.id,
      claim: claim.claim,
      ...judged(() => claim.judge(context)),
    }));
    base.durationMs = Math.round(performance.now() - started);
    return base;
  };
  const results: ExperimentRun[] = [];
  if (scheduler === undefined) for (const host of hosts) results.push(await runHost(host));
  else results.push(...(await Promise.all(hosts.map(runHost))));
  return results;
}
