/**
 * What an experiment is: named parameters, one or more variants (each a step
 * program run in its own fresh process), and claims in the seed's words judged
 * from the measurements with thresholds derived from the sizes involved.
 */
import type { Ageing } from './ageing.js';
import type { AllocatorLibraries, AllocatorName, HostName, HostRun } from './hosts.js';
import type { StepProgram } from './program.js';
import type { HeapName } from './worlds.js';

export interface Parameter {
  name: string;
  description: string;
  default: number;
  /** The value --full uses (the seed's own size, where the default is scaled down). */
  full?: number;
  /** Position in the seed program's argv (free-and-sbrk takes five). */
  position?: number;
}

export type Parameters = Record<string, number>;

export interface Variant {
  name: string;
  /** One line: what differs in this variant. */
  description: string;
  program: StepProgram;
  env?: Record<string, string>;
  /** Environment variables pointed at temporary files whose contents the run keeps (runOnHost's capture). */
  capture?: string[];
}

export type Verdict = 'confirmed' | 'refuted' | 'inconclusive';

export interface Judgement {
  verdict: Verdict;
  /** The numbers behind the verdict, in human units. */
  evidence: string;
}

export interface ClaimContext {
  host: HostName;
  /** The heap the programs started on: the host's own (clean) or aged first. */
  heap: HeapName;
  /** What aged it, when heap is 'aged'. */
  ageing?: Ageing;
  allocator: AllocatorName;
  /** The glibc the run used (gnu_get_libc_version), or "unknown". */
  glibc: string;
  /** Library files the user named for the other allocators. */
  libraries: AllocatorLibraries;
  parameters: Parameters;
  /** The run's own environment (`--env`), on top of each variant's. */
  env: Record<string, string>;
  /** Each variant's own environment, as the experiment defines it. */
  variantEnv: Record<string, Record<string, string>>;
  runs: Record<string, HostRun>;
}

/**
 * What a claim needs of the run to say anything (default tunables, glibc as the
 * allocator, more threads than the cap …). When one is not met, the verdict is
 * inconclusive with the reason, and the judge does not run.
 */
export interface Precondition {
  /** What is needed, in a few words ("glibc.malloc.arena_max at its default"). */
  needs: string;
  /** Why the run does not meet it ("MALLOC_ARENA_MAX=1 is set for this run, so no arena can be created"), or undefined. */
  unmet(context: ClaimContext): string | undefined;
}

export interface ClaimDefinition {
  id: string;
  /** The seed's statement, in its words (translated where the seed is not in English). */
  claim: string;
  /** What the run must be for the judge to say anything (preconditions.ts). */
  requires?: Precondition[];
  judge(context: ClaimContext): Judgement;
}

export interface ExperimentDefinition {
  id: string;
  title: string;
  /** Seed files this reproduces (by their number: "000", "003"). */
  seeds: string[];
  description: string;
  parameters: Parameter[];
  /** Named argument sets (the seed's own invocations). */
  presets?: Record<string, Parameters>;
  /** libraries: the files the user named for the other allocators (for experiments that preload them). */
  variants(parameters: Parameters, libraries?: AllocatorLibraries): Variant[];
  claims: ClaimDefinition[];
  /** Hosts it runs on (default both). */
  hosts?: HostName[];
  /** Allocators it makes sense for (default all: glibc claims judge what glibc does). */
  allocators?: AllocatorName[];
  /**
   * It compares allocators itself (its variants preload each one): it runs on glibc
   * whichever allocator a run selects, with the libraries the run names.
   */
  comparesAllocators?: boolean;
}

/** How many runs gave each verdict. */
export type VerdictCounts = Partial<Record<Verdict, number>>;

export interface ClaimResult extends Judgement {
  id: string;
  claim: string;
  /** Each verdict's count over the repetitions ("confirmed 5/5"); verdict is the most frequent. */
  counts: VerdictCounts;
  /** Repetitions judged. */
  of: number;
  /** Preconditions this run did not meet, each with why (the verdict is then inconclusive). */
  unmet?: string[];
  /** Present when the verdict differed between repetitions: what differed, from the numbers. */
  unstable?: string;
}
