/**
 * Batches: allocate N blocks (of one size or an interleaved pattern of sizes, as
 * seed 000 does) in one native call, at C speed, and free them by TLPI's
 * (step, min, max) rule. The blocks belong to the returned BlockSet.
 */
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { native } from '../infra/native.js';
import * as check from '../infra/validate.js';

export interface PatternEntry {
  size: number;
  /** A byte to memset over the whole block right after malloc (makes it resident). */
  fill?: number;
}

export interface BatchSpec {
  /** Rounds: each round allocates every pattern entry once, in order. */
  count: number;
  /** One size for every block (instead of pattern). */
  size?: number;
  /** With size: memset each block with this byte. */
  fill?: number;
  /** Interleaved sizes, e.g. [{size: 10240, fill: 1}, {size: 1, fill: 1}]. */
  pattern?: PatternEntry[];
  /** Use calloc(1, size) instead of malloc(size). */
  calloc?: boolean;
}

/** TLPI free_and_sbrk's rule: free blocks min..max (1-based, inclusive) in steps of step. */
export interface FreeRule {
  step?: number;
  min?: number;
  max?: number;
}

export const MAX_BATCH_BLOCKS: number = native.maxBatchBlocks;
/** The most entries a batch's pattern may have. */
const MAX_PATTERN_LENGTH: number = native.maxPatternLength;

export class BlockSet {
  readonly id: number;
  readonly blocks: number;

  /** allocBatch makes these; a set id comes from the addon. */
  constructor(id: number, blocks: number) {
    this.id = check.integer(id, 'BlockSet', 'id', 1, 0xffffffff);
    this.blocks = check.size(blocks, 'BlockSet', 'blocks');
  }

  /** Frees by the rule (default: all). Blocks already freed are skipped. Returns how many it freed. */
  free(rule?: FreeRule): number {
    const { step = 1, min = 1, max = this.blocks } = check.options<FreeRule>(rule, 'BlockSet.free', 'rule');
    return native.freeBatch(
      this.id,
      check.integer(step, 'BlockSet.free', 'rule.step', 1, this.blocks),
      check.integer(min, 'BlockSet.free', 'rule.min', 1, this.blocks),
      check.integer(max, 'BlockSet.free', 'rule.max', 1, this.blocks),
    );
  }

  /** Frees what is left and forgets the set. */
  release(): void {
    native.releaseBatch(this.id);
  }

  info(): { blocks: number; live: number; liveBytes: number } {
    return native.batchInfo(this.id);
  }

  /** The address of block index (0-based, allocation order); 0n once freed. */
  address(index: number): bigint {
    return native.batchAddress(this.id, check.size(index, 'BlockSet.address', 'index'));
  }
}

export function allocBatch(spec: BatchSpec): BlockSet {
  const options = check.options<BatchSpec>(spec, 'allocBatch', 'spec');
  if (options.size === undefined && options.pattern === undefined) {
    throw check.typeError('allocBatch', 'spec', 'an object with size or pattern', spec);
  }
  if (options.size !== undefined && options.pattern !== undefined) {
    throw new MallocLabError('allocBatch: spec must have size or pattern, not both', ErrorCodes.INVALID_ARG_TYPE);
  }
  const pattern: PatternEntry[] = options.pattern ?? [
    { size: options.size!, ...(options.fill === undefined ? {} : { fill: options.fill }) },
  ];
  if (!Array.isArray(pattern) || pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
    throw new MallocLabError(
      `allocBatch: spec.pattern must be an array of 1 to ${MAX_PATTERN_LENGTH} entries, received ${check.describe(pattern)}`,
      ErrorCodes.LIMIT_EXCEEDED,
    );
  }
  const sizes = new Float64Array(pattern.length);
  const fills = new Float64Array(pattern.length);
  pattern.forEach((entry, k) => {
    const item = check.options<PatternEntry>(entry, 'allocBatch', `spec.pattern[${k}]`);
    sizes[k] = check.size(item.size, 'allocBatch', `spec.pattern[${k}].size`);
    fills[k] = item.fill === undefined ? -1 : check.integer(item.fill, 'allocBatch', `spec.pattern[${k}].fill`, 0, 255);
  });
  const count = check.size(options.count, 'allocBatch', 'spec.count');
  if (count === 0 || count * pattern.length > MAX_BATCH_BLOCKS) {
    throw new MallocLabError(
      `allocBatch: spec.count × pattern length must be from 1 to ${MAX_BATCH_BLOCKS} blocks, received ${count} × ${pattern.length}`,
      ErrorCodes.LIMIT_EXCEEDED,
    );
  }
  const id = native.allocBatch(sizes, fills, count, options.calloc === true);
  return new BlockSet(id, count * pattern.length);
}
