/** The experiments `malloc-lab list` shows; their ids are part of the interface. */
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import { describe } from '../../infra/validate.js';
import type { ExperimentDefinition } from '../framework/types.js';
import { allocaStack } from './alloca-stack.js';
import { allocators } from './allocators.js';
import { arenaTest } from './arena-test.js';
import { breakAndAlignment } from './break-and-alignment.js';
import { exitAndFork } from './exit-and-fork.js';
import { freeAndSbrk } from './free-and-sbrk.js';
import { freeNotReturned } from './free-not-returned.js';
import { heapCorruption } from './heap-corruption.js';
import { lazyResidency } from './lazy-residency.js';
import { mallocDebug } from './malloc-debug.js';
import { mallocHooks } from './malloc-hooks.js';
import { mallocTrim } from './malloc-trim.js';
import { mmapThreshold } from './mmap-threshold.js';
import { processLimits } from './process-limits.js';
import { reallocCallocMemalign } from './realloc-calloc-memalign.js';
import { reuseAfterFree } from './reuse-after-free.js';
import { sbrk16k } from './sbrk-16k.js';
import { smallOverhead } from './small-overhead.js';
import { threadArenas } from './thread-arenas.js';
import { trimThreshold } from './trim-threshold.js';

export const CATALOGUE: ExperimentDefinition[] = [
  freeNotReturned,
  threadArenas,
  sbrk16k,
  freeAndSbrk,
  mmapThreshold,
  lazyResidency,
  mallocTrim,
  trimThreshold,
  smallOverhead,
  reuseAfterFree,
  heapCorruption,
  reallocCallocMemalign,
  allocators,
  breakAndAlignment,
  allocaStack,
  mallocDebug,
  processLimits,
  exitAndFork,
  mallocHooks,
  arenaTest,
];

export function findExperiment(id: string): ExperimentDefinition {
  const found = CATALOGUE.find((definition) => definition.id === id);
  if (found === undefined) {
    throw new MallocLabError(
      `unknown experiment ${typeof id === 'string' ? JSON.stringify(id) : describe(id)} (expected one of ${CATALOGUE.map((definition) => definition.id).join(', ')}; see \`malloc-lab list\`)`,
      ErrorCodes.UNKNOWN_EXPERIMENT,
    );
  }
  return found;
}
