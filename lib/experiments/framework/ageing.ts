/**
 * The aged world: an experiment's program run after a churn of mallocs and frees,
 * as in a service that has run for hours, on either host. The churn runs natively
 * in the same call as the program (one `age` op in a step of its own before the
 * program's first step), so nothing happens between the two. Fixed seed: the same
 * parameters give the same sizes and the same frees on every run.
 */
import { formatBytes } from '../../infra/units.js';
import * as check from '../../infra/validate.js';
import { StepProgram } from './program.js';

/** A share of the blocks (percent, fractions allowed down to 0.01) with sizes drawn uniformly from min..max bytes. */
export interface AgeingClass {
  percent: number;
  min: number;
  max: number;
}

export interface Ageing {
  /** mallocs in the churn. */
  blocks: number;
  /** Percent of them freed, in a random order. */
  freedPercent: number;
  /** The sizes' mix. */
  mix: AgeingClass[];
  /** Fixes the sizes and which blocks are freed. */
  seed: number;
}

/** 50 000 mallocs: 80 % of 16–256 B, 19.5 % of 257 B–4 KiB, 0.5 % of 4–32 KiB, each memset; a random half freed. */
export const DEFAULT_AGEING: Ageing = {
  blocks: 50_000,
  freedPercent: 50,
  mix: [
    { percent: 80, min: 16, max: 256 },
    { percent: 19.5, min: 257, max: 4096 },
    { percent: 0.5, min: 4097, max: 32 * 1024 },
  ],
  seed: 1,
};

/** The label of the step that ages the heap: it comes first, before the program's own steps. */
export const AGEING_STEP = 'ageing workload';
/** The batch the survivors stay in for the rest of the run (freed at its end). */
const AGEING_SET = '(aged heap)';
/** The native op's limits (native/core/plain_age.h, plain_bounds.h). */
const MAX_CLASSES = 16;
const MAX_BLOCK = 2 ** 30;
const MAX_BLOCKS = 2 ** 28;
const BASIS_POINTS = 100;

function basisPoints(percent: number): number {
  return Math.round(percent * BASIS_POINTS);
}

/** given over DEFAULT_AGEING, checked: every count whole, shares in hundredths of a percent. */
export function resolveAgeing(given: Partial<Ageing> = {}): Ageing {
  return checkAgeing(given, 'resolveAgeing', 'given');
}

/** resolveAgeing for fn, whose name (and the parameter's) its errors carry. */
export function checkAgeing(given: Partial<Ageing> | undefined, fn: string, param = 'options.ageing'): Ageing {
  const options = check.options<Ageing>(given ?? {}, fn, param);
  const ageing: Ageing = { ...DEFAULT_AGEING, ...options };
  check.integer(ageing.blocks, fn, `${param}.blocks`, 1, MAX_BLOCKS);
  check.integer(ageing.seed, fn, `${param}.seed`, 0, Number.MAX_SAFE_INTEGER);
  percentOf(ageing.freedPercent, fn, `${param}.freedPercent`);
  if (!Array.isArray(ageing.mix) || ageing.mix.length === 0 || ageing.mix.length > MAX_CLASSES)
    throw check.typeError(
      fn,
      `${param}.mix`,
      `an array of 1 to ${MAX_CLASSES} { percent, min, max } classes`,
      ageing.mix,
    );
  ageing.mix.forEach((entry, index) => {
    const name = `${param}.mix[${index}]`;
    if (entry === null || typeof entry !== 'object')
      throw check.typeError(fn, name, 'a { percent, min, max } class', entry);
    percentOf(entry.percent, fn, `${name}.percent`);
    check.integer(entry.min, fn, `${name}.min`, 0, MAX_BLOCK);
    check.integer(entry.max, fn, `${name}.max`, entry.min, MAX_BLOCK);
  });
  if (ageing.mix.every((entry) => basisPoints(entry.percent) === 0))
    throw check.rangeError(fn, `${param}.mix`, 'classes whose shares add up to more than 0 %', 0);
  return { ...ageing, mix: ageing.mix.map((entry) => ({ ...entry })) };
}

function percentOf(value: unknown, fn: string, param: string): number {
  if (typeof value !== 'number') throw check.typeError(fn, param, 'a percentage from 0 to 100', value);
  if (!(value >= 0 && value <= 100) || Math.abs(basisPoints(value) - value * BASIS_POINTS) > 1e-6)
    throw check.rangeError(fn, param, 'a percentage from 0 to 100 in steps of 0.01', value);
  return value;
}

/** "80:16-256,19.5:257-4096,0.5:4097-32768" (percent:min-max, sizes in bytes) → the mix. */
export function parseAgeingMix(text: string): AgeingClass[] {
  if (typeof text !== 'string')
    throw check.typeError('parseAgeingMix', 'text', 'a string such as "80:16-256,20:257-4096"', text);
  return text.split(',').map((entry) => {
    const match = /^\s*(\d+(?:\.\d+)?):(\d+)-(\d+)\s*$/.exec(entry);
    if (match === null)
      throw check.rangeError('parseAgeingMix', 'text', 'comma-separated percent:min-max classes ("80:16-256")', text);
    return { percent: Number(match[1]), min: Number(match[2]), max: Number(match[3]) };
  });
}

const sizeText = (bytes: number) => formatBytes(bytes).replace(/\.0 /, ' ');

/** One line: what the churn did, for reports. */
export function describeAgeing(ageing: Ageing): string {
  const mix = ageing.mix
    .map((entry) => `${entry.percent} % of ${sizeText(entry.min)}–${sizeText(entry.max)}`)
    .join(', ');
  return `${ageing.blocks.toLocaleString('en-US')} mallocs (${mix}), each memset, then ${ageing.freedPercent} % of them freed in a random order (seed ${ageing.seed})`;
}

/** program run on an aged heap: the ageing step first, then the program's own steps under their labels. */
export function agedProgram(program: StepProgram, ageing: Ageing): StepProgram {
  if (!(program instanceof StepProgram)) throw check.typeError('agedProgram', 'program', 'a StepProgram', program);
  const resolved = checkAgeing(ageing, 'agedProgram', 'ageing');
  return program.withPrelude(AGEING_STEP, (s) =>
    s.age(
      AGEING_SET,
      resolved.blocks,
      resolved.seed,
      basisPoints(resolved.freedPercent),
      resolved.mix.map((entry) => ({ weight: basisPoints(entry.percent), min: entry.min, max: entry.max })),
    ),
  );
}
