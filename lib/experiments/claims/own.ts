/** Experiment claims that no seed sentence makes: malloc-lab's own, each stated because a seed result needs it. */
import type { OwnClaim } from './types.js';

export const OWN_CLAIMS: OwnClaim[] = [
  {
    experiment: 'mmap-threshold',
    claim: 'dynamic-threshold',
    why: 'explains why blocks above 128 KiB come from the heap in Node: freeing a mapped block raises the threshold',
  },
  {
    experiment: 'process-limits',
    claim: 'limits-count-address-space',
    why: 'what the limits measure: the blocks the limited runs allocate are never touched',
  },
];
