/** Seed 002 ("Memory allocation in Linux"): malloc over brk and mmap, /proc status, limits, residency. */
import type { SeedClaim } from './types.js';

export const SEED_002: SeedClaim[] = [
  {
    seed: '002',
    lines: [20, 21],
    text: 'Malloc is a … library call … which implements functions internally to allocate memory through system calls; itself not a system call.',
    note: 'The break and the mappings move only on some mallocs (through brk and mmap); the 6th 16 kB malloc of sbrk-16k moves neither.',
    judgedBy: [
      { experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' },
      { experiment: 'sbrk-16k', claim: 'sixth-fits' },
    ],
  },
  {
    seed: '002',
    lines: [43, 72],
    text: 'It calls to sbrk() when value for the size of memory to allocate is within the MMAP_THRESHOLD.',
    judgedBy: [
      { experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' },
      { experiment: 'mmap-threshold', claim: 'settings-agree' },
    ],
  },
  {
    seed: '002',
    lines: [46, 47],
    text: '//check process liits (user prlmit api ) //refer to api interface hands-on linux hard and soft',
    note: 'A note to check process limits with prlimit: judged as what RLIMIT_DATA and RLIMIT_AS, set with prlimit, do to brk-backed and mmap-backed allocations.',
    judgedBy: [
      { experiment: 'process-limits', claim: 'data-limits-brk' },
      { experiment: 'process-limits', claim: 'data-limits-mmap' },
      { experiment: 'process-limits', claim: 'as-limits-brk' },
      { experiment: 'process-limits', claim: 'as-limits-mmap' },
    ],
  },
  {
    seed: '002',
    lines: [51],
    text: 'Each process has its own heap',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'own-heap' }],
  },
  {
    seed: '002',
    lines: [62, 63],
    text: 'The size of the virtual memory allocated to the process bash at the time of issuing the command was 16152 kb but only 4132 kB of the total VmSize was resident in memory',
    judgedBy: [{ experiment: 'lazy-residency', claim: 'vmsize-not-resident' }],
  },
  {
    seed: '002',
    lines: [67],
    text: 'Memory are then mappedd in pages to the virtual memory of each process.',
    judgedBy: [
      { experiment: 'break-and-alignment', claim: 'sbrk-one-page' },
      { experiment: 'lazy-residency', claim: 'mincore-tells' },
    ],
  },
  {
    seed: '002',
    lines: [81],
    text: 'brk() expands in arena ( within heap)',
    judgedBy: [
      { experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' },
      { experiment: 'break-and-alignment', claim: 'heap-contiguous' },
    ],
  },
  {
    seed: '002',
    lines: [82],
    text: 'mmap() anywhere whitn virtual address space',
    judgedBy: [{ experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' }],
  },
  {
    seed: '002',
    lines: [87],
    text: 'to check if memory resisdent or not . mincore()',
    judgedBy: [{ experiment: 'lazy-residency', claim: 'mincore-tells' }],
  },
  {
    seed: '002',
    lines: [89, 90],
    text: 'Ensuring residency … int mlock(const void *addr, size_t len);',
    judgedBy: [{ experiment: 'lazy-residency', claim: 'mlock-ensures' }],
  },
  {
    seed: '002',
    lines: [89, 91],
    text: 'Ensuring residency … int mlockall(int flags);',
    judgedBy: [{ experiment: 'lazy-residency', claim: 'mlockall-ensures' }],
  },
];
