/**
 * vitest matchers over malloc-lab's measurements and experiment results, with
 * failure messages in human units. Importing `malloc-lab/vitest` registers them
 * (call installMatchers() again for another `expect`):
 *
 *   import 'malloc-lab/vitest';
 *   const m = measure('fill cache', () => fillCache());
 *   expect(m).toGrowRssAnonBy({ atLeast: 9 * MiB });
 *   expect(m).not.toMoveBreak();
 *   expect(runs).toHaveClaim('free-keeps', 'confirmed', { host: 'fresh' });
 *
 * A measured value is anything with `before` and `after`, each a status snapshot
 * (trim()'s result) or holding one in `.status` (measure()'s Sample, snapshot()).
 */
import { expect as vitestExpect } from 'vitest';

import type { Status } from '../bridge/procfs.js';
import type { HostName } from '../experiments/framework/hosts.js';
import type { ExperimentRun } from '../experiments/framework/runner.js';
import type { Verdict } from '../experiments/framework/types.js';
import type { HeapName } from '../experiments/framework/worlds.js';
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { formatAddress, formatBytes } from '../infra/units.js';
import * as check from '../infra/validate.js';
import { worldOf } from '../report/run-summary.js';

/**
 * A size range in bytes, inclusive; give one bound or both. The amount is signed in
 * the matcher's direction, so `toGrowRssAnonBy({ atMost: 64 * KiB })` ("grew by no
 * more than") also passes when RssAnon fell, while an `atLeast` bound needs a move
 * that way.
 */
export interface ByteBounds {
  atLeast?: number;
  atMost?: number;
}

export interface BreakBounds extends ByteBounds {
  /** Only a move in this direction counts. */
  direction?: 'up' | 'down';
}

export interface ClaimOptions {
  /** Judge only the runs on this host; without heap, its clean heap's (default: every run given). */
  host?: HostName;
  /** Judge only the runs that started on this heap ('aged': after the ageing workload). */
  heap?: HeapName;
  /** Judge only the run in this world ('fresh', 'node', 'aged/fresh', 'aged/node'). */
  world?: string;
}

export interface MallocLabMatchers<R = unknown> {
  /** RssAnon (anonymous resident memory: the heap) grew by a size within bounds. */
  toGrowRssAnonBy(bounds: ByteBounds): R;
  /** RssAnon fell by a size within bounds. */
  toShrinkRssAnonBy(bounds: ByteBounds): R;
  /** VmRSS grew by a size within bounds (VmRSS also moves as code pages fault in; prefer RssAnon for heap effects). */
  toGrowRssBy(bounds: ByteBounds): R;
  toShrinkRssBy(bounds: ByteBounds): R;
  /** VmSize (address space) grew by a size within bounds. */
  toGrowVmSizeBy(bounds: ByteBounds): R;
  toShrinkVmSizeBy(bounds: ByteBounds): R;
  /** The program break moved (by a size within bounds, in a direction, if given). Needs measure()'s samples. */
  toMoveBreak(bounds?: BreakBounds): R;
  /** An experiment run (or every run of an array, or the one on options.host) judged claim id with this verdict (default 'confirmed'). */
  toHaveClaim(id: string, verdict?: Verdict, options?: ClaimOptions): R;
}

declare module 'vitest' {
  // Augmenting vitest's own interface: its type parameter must be declared as vitest declares it.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars, @typescript-eslint/no-explicit-any
  interface Assertion<T = any> extends MallocLabMatchers<void> {}
}

interface MatcherContext {
  isNot: boolean;
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

type StatusKey = 'RssAnon' | 'VmRSS' | 'VmSize';

interface Sides {
  before: Status;
  after: Status;
  brkBefore?: bigint;
  brkAfter?: bigint;
  label?: string;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object')
    return `an object with keys ${
      Object.keys(value as object)
        .slice(0, 6)
        .join(', ') || '(none)'
    }`;
  return `${typeof value} ${String(value)}`;
}

function statusOf(side: unknown): Status | undefined {
  if (side === null || typeof side !== 'object') return undefined;
  const record = side as { status?: unknown; RssAnon?: unknown };
  if (typeof record.RssAnon === 'number') return side as Status;
  if (
    record.status !== null &&
    typeof record.status === 'object' &&
    typeof (record.status as Status).RssAnon === 'number'
  ) {
    return record.status as Status;
  }
  return undefined;
}

function sidesOf(received: unknown, matcher: string): Sides {
  const value = received as { before?: unknown; after?: unknown; label?: unknown } | null;
  const before = statusOf(value?.before);
  const after = statusOf(value?.after);
  if (value === null || typeof value !== 'object' || before === undefined || after === undefined) {
    throw new MallocLabError(
      `${matcher}: expected a measurement — measure()'s result, trim()'s result, or { before, after } snapshots — but received ${describeValue(received)}`,
      ErrorCodes.INVALID_ARG_TYPE,
    );
  }
  const sides: Sides = { before, after };
  const brkBefore = (value.before as { brk?: unknown }).brk;
  const brkAfter = (value.after as { brk?: unknown }).brk;
  if (typeof brkBefore === 'bigint' && typeof brkAfter === 'bigint') {
    sides.brkBefore = brkBefore;
    sides.brkAfter = brkAfter;
  }
  if (typeof value.label === 'string') sides.label = value.label;
  return sides;
}

function checkBounds(bounds: unknown, matcher: string, required: boolean): ByteBounds & { direction?: 'up' | 'down' } {
  if (bounds === undefined && !required) return {};
  if (bounds === null || typeof bounds !== 'object' || Array.isArray(bounds)) {
    throw new MallocLabError(
      `${matcher}: bounds must be an object such as { atLeast: 9 * MiB }, received ${describeValue(bounds)}`,
      ErrorCodes.INVALID_ARG_TYPE,
    );
  }
  const { atLeast, atMost, direction } = bounds as BreakBounds;
  for (const [name, bound] of [
    ['atLeast', atLeast],
    ['atMost', atMost],
  ] as const) {
    if (bound !== undefined && (typeof bound !== 'number' || !Number.isFinite(bound) || bound < 0)) {
      throw new MallocLabError(
        `${matcher}: bounds.${name} must be a non-negative number of bytes, received ${describeValue(bound)}`,
        ErrorCodes.OUT_OF_RANGE,
      );
    }
  }
  if (required && atLeast === undefined && atMost === undefined) {
    throw new MallocLabError(
      `${matcher}: give bounds.atLeast, bounds.atMost or both (bytes)`,
      ErrorCodes.INVALID_ARG_TYPE,
    );
  }
  if (atLeast !== undefined && atMost !== undefined && atLeast > atMost) {
    throw new MallocLabError(
      `${matcher}: bounds.atLeast (${formatBytes(atLeast)}) is more than bounds.atMost (${formatBytes(atMost)})`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  if (direction !== undefined && direction !== 'up' && direction !== 'down') {
    throw new MallocLabError(
      `${matcher}: bounds.direction must be 'up' or 'down', received ${describeValue(direction)}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  return bounds as BreakBounds;
}

function boundsText(bounds: ByteBounds): string {
  const parts: string[] = [];
  if (bounds.atLeast !== undefined) parts.push(`at least ${formatBytes(bounds.atLeast)}`);
  if (bounds.atMost !== undefined) parts.push(`at most ${formatBytes(bounds.atMost)}`);
  return parts.join(' and ');
}

function within(amount: number, bounds: ByteBounds): boolean {
  return (
    (bounds.atLeast === undefined || amount >= bounds.atLeast) &&
    (bounds.atMost === undefined || amount <= bounds.atMost)
  );
}

const FIELD_NAMES: Record<StatusKey, string> = { RssAnon: 'RssAnon', VmRSS: 'RSS (VmRSS)', VmSize: 'VmSize' };

function changeMatcher(field: StatusKey, direction: 'grow' | 'shrink', matcher: string) {
  return function (this: MatcherContext, received: unknown, bounds: ByteBounds): MatcherResult {
    const sides = sidesOf(received, matcher);
    const limits = checkBounds(bounds, matcher, true);
    const before = sides.before[field];
    const after = sides.after[field];
    const change = after - before;
    const amount = direction === 'grow' ? change : -change;
    const pass = Number.isFinite(change) && within(amount, limits);
    const happened =
      change > 0 ? `grew by ${formatBytes(change)}` : change < 0 ? `fell by ${formatBytes(-change)}` : 'did not change';
    const verb = direction === 'grow' ? 'grow' : 'shrink';
    const where = sides.label !== undefined ? ` in ${JSON.stringify(sides.label)}` : '';
    return {
      pass,
      message: () =>
        `expected ${FIELD_NAMES[field]} ${this.isNot ? 'not ' : ''}to ${verb} by ${boundsText(limits)}, ` +
        `but it ${happened} (${formatBytes(before)} → ${formatBytes(after)})${where}`,
    };
  };
}

function toMoveBreak(this: MatcherContext, received: unknown, bounds?: BreakBounds): MatcherResult {
  const sides = sidesOf(received, 'toMoveBreak');
  const limits = checkBounds(bounds, 'toMoveBreak', false);
  if (sides.brkBefore === undefined || sides.brkAfter === undefined) {
    throw new MallocLabError(
      'toMoveBreak: the measurement has no program break (before.brk / after.brk); measure the operation with measure(), whose samples include sbrk(0)',
      ErrorCodes.INVALID_ARG_TYPE,
    );
  }
  const moved = Number(sides.brkAfter - sides.brkBefore);
  const direction = moved > 0 ? 'up' : 'down';
  const pass =
    moved !== 0 &&
    (limits.direction === undefined || limits.direction === direction) &&
    within(Math.abs(moved), limits);
  const wanted = [limits.direction, boundsText(limits) && `by ${boundsText(limits)}`].filter(Boolean).join(' ');
  const happened =
    moved === 0
      ? `it stayed at ${formatAddress(sides.brkBefore)}`
      : `it moved ${direction} by ${formatBytes(Math.abs(moved))} (${formatAddress(sides.brkBefore)} → ${formatAddress(sides.brkAfter)})`;
  const where = sides.label !== undefined ? ` in ${JSON.stringify(sides.label)}` : '';
  return {
    pass,
    message: () =>
      `expected the program break ${this.isNot ? 'not ' : ''}to move${wanted ? ` ${wanted}` : ''}, but ${happened}${where}`,
  };
}

const VERDICTS: Verdict[] = ['confirmed', 'refuted', 'inconclusive'];

function isRun(value: unknown): value is ExperimentRun {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as ExperimentRun).experiment === 'string' &&
    Array.isArray((value as ExperimentRun).claims)
  );
}

function toHaveClaim(
  this: MatcherContext,
  received: unknown,
  id: string,
  verdict: Verdict = 'confirmed',
  options: ClaimOptions = {},
): MatcherResult {
  const all = Array.isArray(received) ? received : [received];
  if (all.length === 0 || !all.every(isRun)) {
    throw new MallocLabError(
      `toHaveClaim: expected an ExperimentRun or an array of them (runExperiment's result), received ${describeValue(received)}`,
      ErrorCodes.INVALID_ARG_TYPE,
    );
  }
  if (typeof id !== 'string' || id === '')
    throw new MallocLabError(
      `toHaveClaim: id must be a claim id string, received ${describeValue(id)}`,
      ErrorCodes.INVALID_ARG_TYPE,
    );
  if (!VERDICTS.includes(verdict))
    throw new MallocLabError(
      `toHaveClaim: verdict must be one of ${VERDICTS.join(', ')}, received ${describeValue(verdict)}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new MallocLabError(
      `toHaveClaim: options must be an object such as { host: 'fresh' }, received ${describeValue(options)}`,
      ErrorCodes.INVALID_ARG_TYPE,
    );
  const heap = options.heap ?? (options.host !== undefined ? 'clean' : undefined);
  // Runs from before worlds existed carry a host only: a clean heap, the host's world (worldOf).
  const runs = all.filter(
    (run) =>
      (options.world === undefined || worldOf(run) === options.world) &&
      (options.host === undefined || run.host === options.host) &&
      (heap === undefined || (run.heap ?? 'clean') === heap),
  );
  if (runs.length === 0) {
    const asked = options.world ?? [options.host, heap].filter((part) => part !== undefined).join(' ');
    throw new MallocLabError(
      `toHaveClaim: no run in ${asked} (runs given: ${all.map(worldOf).join(', ')})`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  const lines: string[] = [];
  let pass = true;
  for (const run of runs) {
    const where = `${run.experiment} in ${worldOf(run)}${run.allocator !== 'glibc' ? ` with ${run.allocator}` : ''}`;
    if (run.skipped !== undefined)
      throw new MallocLabError(
        `toHaveClaim: ${where} did not run, so claim ${id} was not judged: ${run.skipped}`,
        ErrorCodes.OUT_OF_RANGE,
      );
    const claim = run.claims.find((candidate) => candidate.id === id);
    if (claim === undefined) {
      throw new MallocLabError(
        `toHaveClaim: ${where} has no claim ${JSON.stringify(id)} (its claims: ${run.claims.map((c) => c.id).join(', ') || 'none'})`,
        ErrorCodes.OUT_OF_RANGE,
      );
    }
    if (claim.verdict !== verdict) pass = false;
    lines.push(
      `  ${where}: ${claim.verdict}${claim.of > 1 ? ` ${claim.counts[claim.verdict]}/${claim.of}` : ''} — ${claim.evidence}`,
    );
  }
  return {
    pass,
    message: () => {
      const claim = runs[0]!.claims.find((candidate) => candidate.id === id)!;
      return `expected claim ${id} ("${claim.claim}") ${this.isNot ? 'not ' : ''}to be ${verdict}${runs.length > 1 ? ' on every run' : ''}, but:\n${lines.join('\n')}`;
    },
  };
}

/** The matchers, for expect.extend(mallocLabMatchers) on an expect of your own. */
export const mallocLabMatchers = {
  toGrowRssAnonBy: changeMatcher('RssAnon', 'grow', 'toGrowRssAnonBy'),
  toShrinkRssAnonBy: changeMatcher('RssAnon', 'shrink', 'toShrinkRssAnonBy'),
  toGrowRssBy: changeMatcher('VmRSS', 'grow', 'toGrowRssBy'),
  toShrinkRssBy: changeMatcher('VmRSS', 'shrink', 'toShrinkRssBy'),
  toGrowVmSizeBy: changeMatcher('VmSize', 'grow', 'toGrowVmSizeBy'),
  toShrinkVmSizeBy: changeMatcher('VmSize', 'shrink', 'toShrinkVmSizeBy'),
  toMoveBreak,
  toHaveClaim,
};

/** Registers the matchers with vitest's expect (or the one given). Importing this module already did it for vitest's. */
export function installMatchers(expect: { extend(matchers: object): void } = vitestExpect): void {
  check.withMethod(
    expect,
    'extend',
    'installMatchers',
    'expect',
    "an expect with an extend method (vitest's, or your own)",
  );
  expect.extend(mallocLabMatchers);
}

installMatchers();
