/** Seed 004 (TLPI chapter 7 summary): the break, malloc and free, debugging, the other allocators, alloca. */
import type { SeedClaim } from './types.js';

export const SEED_004: SeedClaim[] = [
  {
    seed: '004',
    lines: [11],
    text: 'Heap is a contiguous region in memory',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'heap-contiguous' }],
  },
  {
    seed: '004',
    lines: [12, 13],
    text: 'Malloc() to allocate memory … Malloc() builds upon brk() and sbrk()',
    note: 'Below the mmap threshold; larger blocks are mapped with mmap().',
    judgedBy: [{ experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' }],
  },
  {
    seed: '004',
    lines: [14],
    text: 'These are called so because they change the "program break", i.e. the current limit of the heap.',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'heap-contiguous' }],
  },
  {
    seed: '004',
    lines: [15],
    text: 'Simply adjust program break to adjust the size of the heap',
    judgedBy: [
      { experiment: 'break-and-alignment', claim: 'sbrk-one-page' },
      { experiment: 'break-and-alignment', claim: 'sbrk-shrinks' },
    ],
  },
  {
    seed: '004',
    lines: [16],
    text: 'PHYSICAL MEMORY is NOT allocated UNTIL the program tries to ACCESS the newly allocated memory',
    judgedBy: [{ experiment: 'lazy-residency', claim: 'not-until-access' }],
  },
  {
    seed: '004',
    lines: [17, 18, 19],
    text: 'Brk(end_segment) … Set the program break … This gets rounded up to nearest page boundary, as allocation happens in pages.',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'brk-page-rounded' }],
  },
  {
    seed: '004',
    lines: [20],
    text: 'Restrictions on max size based on multiple factors, such as location of various other memory sets (shared libaries, stack etc).',
    judgedBy: [
      { experiment: 'process-limits', claim: 'mapping-stops-break' },
      { experiment: 'process-limits', claim: 'data-limits-brk' },
    ],
  },
  {
    seed: '004',
    lines: [22],
    text: 'Sbrk(1) increases the heap by 1 page.',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'sbrk-one-page' }],
  },
  {
    seed: '004',
    lines: [23],
    text: 'Its return value is the old program break; which is the START of the newly allocated page.',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'sbrk-returns-old-break' }],
  },
  {
    seed: '004',
    lines: [24],
    text: 'Sbrk(0) simply returns the current program break; this can also be useful.',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'sbrk0-current' }],
  },
  {
    seed: '004',
    lines: [25, 26],
    text: 'Void Malloc(size) … Does not allocate memory until used',
    judgedBy: [{ experiment: 'lazy-residency', claim: 'not-until-access' }],
  },
  {
    seed: '004',
    lines: [27],
    text: 'Maintains a list so we can free() unused memory',
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'free-keeps-break' },
      { experiment: 'reuse-after-free', claim: 'same-memory' },
    ],
  },
  {
    seed: '004',
    lines: [29],
    text: 'Is on a BYTE BOUNDARY, so appropriate for any char/int/data type we wish to assign there (efficient access).',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'malloc-aligned' }],
  },
  {
    seed: '004',
    lines: [30, 31],
    text: 'Free(pointer) … Adds the memory block to a "free" list.',
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'free-keeps-break' },
      { experiment: 'reuse-after-free', claim: 'same-memory' },
    ],
  },
  {
    seed: '004',
    lines: [32],
    text: "Note that program break cannot simply be reduced; free'd memory is usually in the middle of the heap.",
    judgedBy: [{ experiment: 'free-and-sbrk', claim: 'free-keeps-break' }],
  },
  {
    seed: '004',
    lines: [33],
    text: 'Another reason is that the program will likely use that memory in the future anyway, so no need to reduce heap size.',
    judgedBy: [{ experiment: 'reuse-after-free', claim: 'second-round-no-growth' }],
  },
  {
    seed: '004',
    lines: [35],
    text: 'In essence, the program break remains the same before and after free().',
    judgedBy: [{ experiment: 'free-and-sbrk', claim: 'free-keeps-break' }],
  },
  {
    seed: '004',
    lines: [36],
    text: 'However, if free() is used at memory regions at the top end of the heap, then the program break is actually decreased.',
    judgedBy: [{ experiment: 'free-and-sbrk', claim: 'top-lowers-break' }],
  },
  {
    seed: '004',
    lines: [37],
    text: "The reason for this is that the glibc free() function checks if free'd memory is adjacent, and if it is, it groups them into one big block of free memory.",
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'top-lowers-break' },
      { experiment: 'break-and-alignment', claim: 'coalesced-satisfies' },
    ],
  },
  {
    seed: '004',
    lines: [38],
    text: 'This is to ensure that we do not have a bunch of small free sets of memory, which might not be able to satisfy a future call to malloc() depending on the size passed to malloc().',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'coalesced-satisfies' }],
  },
  {
    seed: '004',
    lines: [40],
    text: "Upon program termination, all allocated memory is returned to the system (i.e. automatically free'd).",
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'exit-returns' }],
  },
  {
    seed: '004',
    lines: [43],
    text: "Identifying REAL memory leaks: any unfree'd memory will be reported as a memory leak.",
    judgedBy: [{ experiment: 'malloc-debug', claim: 'mtrace-leak-report' }],
  },
  {
    seed: '004',
    lines: [46, 47],
    text: 'It first checks the free list. … If memory with the required size is available, it takes just as much as it needs and allocates it.',
    judgedBy: [
      { experiment: 'break-and-alignment', claim: 'takes-what-it-needs' },
      { experiment: 'reuse-after-free', claim: 'same-memory' },
    ],
  },
  {
    seed: '004',
    lines: [48],
    text: 'Else, it uses sbrk() to allocate memory; usually some multiple of the virtual memory page size, then adds it to the free list.',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'malloc-sbrk-pages' }],
  },
  {
    seed: '004',
    lines: [51],
    text: 'Malloc() includes a length of block, and returns pointer as suggested by the image on the right.',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'record-keeping' }],
  },
  {
    seed: '004',
    lines: [52],
    text: 'Free list includes length of block, pointer to previous and next free blocks, and then the free memory.',
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'record-keeping' }],
  },
  {
    seed: '004',
    lines: [54],
    text: 'If the length value is accidentally incremented, then the block is deallocated, but then re-allocated, then the program thinks it has 2 distinct memory blocks, but the first one actually overlaps with the adjacent one.',
    judgedBy: [{ experiment: 'heap-corruption', claim: 'length-incremented-overlap' }],
  },
  {
    seed: '004',
    lines: [57],
    text: 'Always free memory with a pointer returned by malloc and do not modify it.',
    judgedBy: [{ experiment: 'heap-corruption', claim: 'free-foreign' }],
  },
  {
    seed: '004',
    lines: [58],
    text: 'Do not free memory twice.',
    judgedBy: [
      { experiment: 'heap-corruption', claim: 'double-free' },
      { experiment: 'heap-corruption', claim: 'double-free-fastbin' },
      { experiment: 'heap-corruption', claim: 'double-free-fastbin-dup' },
    ],
  },
  {
    seed: '004',
    lines: [60, 61],
    text: 'Mtrace() and muntrace() … MALLOC_TRACE environment var should also be set',
    judgedBy: [
      { experiment: 'malloc-debug', claim: 'mtrace-needs-env' },
      { experiment: 'malloc-debug', claim: 'debug-needs-preload' },
    ],
  },
  {
    seed: '004',
    lines: [62],
    text: 'Writes log output to a file and runs scripts to interpret these logs',
    judgedBy: [{ experiment: 'malloc-debug', claim: 'mtrace-leak-report' }],
  },
  {
    seed: '004',
    lines: [63, 64],
    text: 'Mcheck() and mprobe() … Probes allocated memory regions; checks if your code is trying to read/write out of bounds.',
    judgedBy: [
      { experiment: 'malloc-debug', claim: 'mcheck-catches-write' },
      { experiment: 'malloc-debug', claim: 'mcheck-misses-read', negates: true },
      { experiment: 'malloc-debug', claim: 'debug-needs-preload' },
    ],
  },
  {
    seed: '004',
    lines: [65, 66],
    text: 'Only use the malloc() package with debugging features in dev environment; turn them off in production (i.e. use the regular malloc package in C standard library) … This is because debugging malloc package takes more memory, slower run-time etc.',
    judgedBy: [
      { experiment: 'malloc-debug', claim: 'debug-costs-memory' },
      { experiment: 'malloc-debug', claim: 'debug-costs-time' },
      { experiment: 'malloc-debug', claim: 'check-catches-overflow' },
    ],
  },
  {
    seed: '004',
    lines: [68, 69, 70, 71],
    text: 'Mallopt() … Use this function to set configuration parameters for malloc() … How much free memory needs to exist at the top of the heap before sbrk() is called to reduce heap size.',
    judgedBy: [
      { experiment: 'trim-threshold', claim: 'threshold-direction' },
      { experiment: 'trim-threshold', claim: 'mechanisms-agree' },
    ],
  },
  {
    seed: '004',
    lines: [73, 74],
    text: 'Calloc(numitems, size) … Allocates memory for a set number of items that each have the same fixed size',
    judgedBy: [{ experiment: 'realloc-calloc-memalign', claim: 'calloc-items' }],
  },
  {
    seed: '004',
    lines: [76, 78],
    text: 'Given a pointer to an existing allocated block of memory, realloc resizes that memory block to size. … If there is enough adjacent memory available, it is allocated.',
    judgedBy: [{ experiment: 'realloc-calloc-memalign', claim: 'realloc-adjacent' }],
  },
  {
    seed: '004',
    lines: [79],
    text: 'If the memory block being resized is at the top end of the heap, the program break is extended.',
    judgedBy: [{ experiment: 'realloc-calloc-memalign', claim: 'realloc-top' }],
  },
  {
    seed: '004',
    lines: [80],
    text: 'If the memory block is in the middle of the heap and there is not enough adjacent memory available, a new memory block is allocated (either from the free list or at the top end of the heap) and all data is copied from old block to new block.',
    judgedBy: [{ experiment: 'realloc-calloc-memalign', claim: 'realloc-middle' }],
  },
  {
    seed: '004',
    lines: [81],
    text: 'Very CPU-intensive. Use very sparingly.',
    judgedBy: [{ experiment: 'realloc-calloc-memalign', claim: 'realloc-move-costs' }],
  },
  {
    seed: '004',
    lines: [82, 83],
    text: 'Memalign(size_t boundary, size_t size) … Allocates size bytes starting at an address aligned to a multiple of boundary (which must be a power of two)',
    judgedBy: [
      { experiment: 'realloc-calloc-memalign', claim: 'memalign-aligned' },
      { experiment: 'realloc-calloc-memalign', claim: 'power-of-two' },
    ],
  },
  {
    seed: '004',
    lines: [85, 86, 87],
    text: 'Alloca(size_t) … Allocates data on the stack … Does this by moving the stack pointer further up',
    judgedBy: [{ experiment: 'alloca-stack', claim: 'on-the-stack' }],
  },
  {
    seed: '004',
    lines: [88],
    text: 'Do NOT use free() or realloc() on this data',
    judgedBy: [
      { experiment: 'alloca-stack', claim: 'free-aborts' },
      { experiment: 'alloca-stack', claim: 'realloc-ruins' },
    ],
  },
  {
    seed: '004',
    lines: [89],
    text: 'The data will be freed automatically when the function that called alloca() returns',
    judgedBy: [{ experiment: 'alloca-stack', claim: 'freed-on-return' }],
  },
  {
    seed: '004',
    lines: [90],
    text: 'Realloc() will ruin the stack frames of subsequent function calls',
    judgedBy: [{ experiment: 'alloca-stack', claim: 'realloc-ruins' }],
  },
  {
    seed: '004',
    lines: [91, 92],
    text: "Especially useful with longjmp() … If you use malloc() and you use longjmp() to handle a signal to jump back to some previous function, any malloc()'d memory will not be free'd. But, if you used alloca(), then as the functions return, they will automatically free their alloca()'d memory.",
    judgedBy: [{ experiment: 'alloca-stack', claim: 'longjmp-clean' }],
  },
  {
    seed: '004',
    lines: [93, 94],
    text: 'You must y = alloca() and not func(x, alloca(), z) … Doing so would put the allocated memory in the function parameter space of the stack frame.',
    notJudgeable: {
      why: 'about how a compiler lays out a call whose argument is alloca(); step programs run fixed native code and cannot express a C call expression',
      needs:
        'C test programs compiled with the compilers in question, inspecting the generated code or the stack contents',
    },
  },
];
