/**
 * What an experiment is: named parameters, one or more variants (each a step
 * program run in its own fresh process), and claims in the seed's words judged
 * from the measurements with thresholds derived from the sizes involved.
 */
import type { AllocatorLibraries, AllocatorName, HostName, HostRun } from './hosts.js';
import type { StepProgram } from './program.js';

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
  allocator: AllocatorName;
  /** Library files the user named for the other allocators. */
  libraries: AllocatorLibraries;
  parameters: Parameters;
  runs: Record<string, HostRun>;
}

export interface ClaimDefinition {
  id: string;
  /** The seed's statement, in its words (translated where the seed is not in English). */
  claim: string;
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

export interface ClaimResult extends Judgement {
  id: string;
  claim: string;
}
