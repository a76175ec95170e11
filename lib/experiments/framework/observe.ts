/**
 * Reading measurements inside claims: a run's steps by label, deltas between
 * steps, op results, and verdict helpers. A missing step (a run that stopped)
 * makes a claim inconclusive rather than throwing.
 */
import { MODEL_GLIBC } from '../../glibc/model.js';
import { formatBytes } from '../../infra/units.js';
import type { HostRun } from './hosts.js';
import type { OpName, OpRecord, Sample } from './program.js';
import type { ClaimContext, Judgement } from './types.js';

export class MissingMeasurement extends Error {}

export function run(context: ClaimContext, variant: string): HostRun {
  const found = context.runs[variant];
  if (found === undefined) throw new MissingMeasurement(`variant ${variant} did not run`);
  return found;
}

export function at(context: ClaimContext, variant: string, label: string): Sample {
  const step = run(context, variant).steps.find((candidate) => candidate.label === label);
  if (step?.sample === undefined) throw new MissingMeasurement(`no snapshot after "${label}" in variant ${variant}`);
  return step.sample;
}

export function ops(context: ClaimContext, variant: string, label: string, op?: OpName): OpRecord[] {
  const step = run(context, variant).steps.find((candidate) => candidate.label === label);
  if (step === undefined) throw new MissingMeasurement(`no step "${label}" in variant ${variant}`);
  return op === undefined ? step.ops : step.ops.filter((record) => record.op === op);
}

/** The index-th op of a kind in a step, which must have succeeded (else the claim is inconclusive). */
export function succeeded(c: ClaimContext, variant: string, label: string, op: OpName, index = 0): OpRecord {
  const record = ops(c, variant, label, op)[index];
  if (record === undefined || record.status !== 0) {
    throw new MissingMeasurement(`no successful ${op} in "${label}" of ${variant}`);
  }
  return record;
}

/** CPU time of the op between a step's two clock ops (ns, this thread). */
export function cpuOf(c: ClaimContext, variant: string, label: string): number {
  const clocks = ops(c, variant, label, 'clock');
  if (clocks.length !== 2) throw new MissingMeasurement(`no clocks around "${label}" in ${variant}`);
  return clocks[1]!.value2 - clocks[0]!.value2;
}

/** to - from for a status field, the break or a mallinfo2 field. */
export function delta(
  context: ClaimContext,
  variant: string,
  from: string,
  to: string,
  field: StatusOrHeapField,
): number {
  return read(at(context, variant, to), field) - read(at(context, variant, from), field);
}

export type StatusOrHeapField = keyof Sample['status'] | 'brk' | `mallinfo.${keyof Sample['mallinfo']}`;

export function read(sample: Sample, field: StatusOrHeapField): number {
  if (field === 'brk') return Number(sample.brk);
  if (field.startsWith('mallinfo.')) return sample.mallinfo[field.slice(9) as keyof Sample['mallinfo']];
  return sample.status[field as keyof Sample['status']];
}

/** Where the top chunk starts: it runs up to the break, and mallinfo2's keepcost is its size. */
export function topStart(sample: Sample): number {
  return Number(sample.brk) - sample.mallinfo.keepcost;
}

/** "glibc 2.36" for evidence resting on a fact of that version; the model's version when the run's is unknown. */
export function glibcOf(c: ClaimContext): string {
  return `glibc ${c.glibc === 'unknown' ? MODEL_GLIBC : c.glibc}`;
}

export function verdict(holds: boolean, evidence: string): Judgement {
  return { verdict: holds ? 'confirmed' : 'refuted', evidence };
}

/** Runs judge; a measurement that is missing makes the claim inconclusive, with why. */
export function judged(judge: () => Judgement): Judgement {
  try {
    return judge();
  } catch (error) {
    if (error instanceof MissingMeasurement) return { verdict: 'inconclusive', evidence: error.message };
    throw error;
  }
}

export const bytes = (value: number) => formatBytes(value);
/** "1 chunk", "3 chunks". */
export const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
export const signed = (value: number) => formatBytes(value, { signed: true });
/** A duration in nanoseconds as milliseconds: "1.25 ms". */
export const ms = (ns: number) => `${(ns / 1e6).toFixed(2)} ms`;
