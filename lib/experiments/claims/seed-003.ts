/** Seed 003 (questions and answers on free() and the OS): trimming, thresholds, brk and mmap, exit and fork. */
import type { SeedClaim } from './types.js';

export const SEED_003: SeedClaim[] = [
  {
    seed: '003',
    lines: [5],
    text: 'Memory is allocated onto a heap.',
    note: 'Only below the mmap threshold: larger blocks get mappings of their own.',
    judgedBy: [{ experiment: 'mmap-threshold', claim: 'brk-below-mmap-above', negates: true }],
  },
  {
    seed: '003',
    lines: [7],
    text: 'Your program requests some memory from its heap, which in turn requests it from the operating system{1}. Since this is an expensive operation, it gets a chunk of memory from the OS, not just what you ask for.',
    note: 'That the system call is expensive is not measured; that the heap takes more than was asked is.',
    judgedBy: [{ experiment: 'sbrk-16k', claim: 'asks-more' }],
  },
  {
    seed: '003',
    lines: [7],
    text: 'The memory manager puts everything it gets into the heap, just returning to you the perhaps small amount you asked for.',
    judgedBy: [{ experiment: 'sbrk-16k', claim: 'sixth-fits' }],
  },
  {
    seed: '003',
    lines: [7],
    text: 'When you free() or delete() this memory, it simply gets returned to the heap, not the OS.',
    judgedBy: [
      { experiment: 'free-not-returned', claim: 'free-keeps' },
      { experiment: 'mmap-threshold', claim: 'mmap-free-returns', negates: true },
    ],
  },
  {
    seed: '003',
    lines: [9],
    text: "It's absolutely normal for that memory to not be returned to the operating system until your program exits, as you may request further memory later on.",
    judgedBy: [
      { experiment: 'free-not-returned', claim: 'free-keeps' },
      { experiment: 'exit-and-fork', claim: 'exit-returns' },
      { experiment: 'reuse-after-free', claim: 'second-round-no-growth' },
    ],
  },
  {
    seed: '003',
    lines: [11],
    text: 'If your program design relies on this memory be recycled, it may be achievable using multiple copies of your program (by fork()~ing) which run and exit.',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'fork-recycles' }],
  },
  {
    seed: '003',
    lines: [13],
    text: "{1} The heap is probably non-empty on program start, but assuming it's not illustrates my point.",
    judgedBy: [{ experiment: 'break-and-alignment', claim: 'heap-at-start' }],
  },
  {
    seed: '003',
    lines: [17],
    text: 'With glibc malloc try to call malloc_trim function.',
    judgedBy: [
      { experiment: 'malloc-trim', claim: 'trim-releases-freed' },
      { experiment: 'free-not-returned', claim: 'trim-returns' },
    ],
  },
  {
    seed: '003',
    lines: [17],
    text: 'It is not well documented and there were changes inside it at around 2007 (glibc 2.9)',
    notJudgeable: {
      why: "a statement about glibc's history; only glibc 2.36 runs here",
      needs:
        'a glibc older than 2.9 to run the malloc-trim experiment against (malloc_trim then only trimmed the top of the main heap)',
    },
  },
  {
    seed: '003',
    lines: [19],
    text: 'Since 2007 this function will: Iterate over all malloc memory arenas (used in multithreaded applications) doing trim and fastbin consolidation; and release all aligned (4KB) pages fully freed.',
    judgedBy: [
      { experiment: 'malloc-trim', claim: 'trims-every-arena' },
      { experiment: 'malloc-trim', claim: 'trim-releases-freed' },
    ],
  },
  {
    seed: '003',
    lines: [26, 28, 29, 30],
    text: 'Iterate over all arenas and call mTRIm for all of them. (mTRIm): Additionally iterate over all free blocks and use madvise to free memory for all those blocks which contain at least one memory page.',
    judgedBy: [
      { experiment: 'malloc-trim', claim: 'trims-every-arena' },
      { experiment: 'malloc-trim', claim: 'trim-releases-freed' },
      { experiment: 'malloc-trim', claim: 'madvise-keeps-vsize' },
    ],
  },
  {
    seed: '003',
    lines: [54],
    text: 'So, calling malloc_trim will release almost all freed memory back to the OS.',
    judgedBy: [
      { experiment: 'malloc-trim', claim: 'trim-releases-freed' },
      { experiment: 'small-overhead', claim: 'trim-returns' },
    ],
  },
  {
    seed: '003',
    lines: [54],
    text: 'Only pages containing still not freed data will be kept;',
    judgedBy: [{ experiment: 'malloc-trim', claim: 'live-pages-kept' }],
  },
  {
    seed: '003',
    lines: [54],
    text: 'OS may unmap or not unmap physical page when madvised with MADV_DONTNEED and linux usually does unmap. madvised pages are still count to VSIZE (total virtual memory size of the process), but usually help to reduce RSS (amount of physical memory used by process).',
    judgedBy: [{ experiment: 'malloc-trim', claim: 'madvise-keeps-vsize' }],
  },
  {
    seed: '003',
    lines: [56],
    text: 'Alternatively, you can try to switch into alternative malloc library: tcmalloc (gperftools / google-perftools) or jemalloc (facebook), both of them have aggressive rules of returning freed memory back to OS (with madvise MADV_DONTNEED or even MADV_FREE).',
    judgedBy: [
      { experiment: 'allocators', claim: 'tcmalloc-returns' },
      { experiment: 'allocators', claim: 'jemalloc-returns' },
      { experiment: 'allocators', claim: 'mimalloc-returns' },
    ],
  },
  {
    seed: '003',
    lines: [63],
    text: 'mallopt() (defined in malloc.h) does provide an option to set the trim threshold value using one of the parameter option M_TRIM_THRESHOLD, this indicates the minimum amount of free memory (in bytes) allowed at the top of the data segment. If the amount falls below this threshold, glibc invokes brk() to give back memory to the kernel.',
    judgedBy: [{ experiment: 'trim-threshold', claim: 'threshold-direction' }],
  },
  {
    seed: '003',
    lines: [65],
    text: 'The default value of M_TRIM_THRESHOLD in Linux is set to 128K, setting a smaller value might save space.',
    judgedBy: [
      { experiment: 'trim-threshold', claim: 'default-keeps' },
      { experiment: 'trim-threshold', claim: 'smaller-saves-space' },
      { experiment: 'trim-threshold', claim: 'smaller-saves-after-raise' },
    ],
  },
  {
    seed: '003',
    lines: [67],
    text: 'The same behavior could be achieved by setting trim threshold value in the environment variable MALLOC_TRIM_THRESHOLD_, with no source changes absolutely.',
    judgedBy: [{ experiment: 'trim-threshold', claim: 'mechanisms-agree' }],
  },
  {
    seed: '003',
    lines: [69],
    text: 'However, preliminary test programs run using M_TRIM_THRESHOLD has shown that even though the memory allocated by malloc does return to the system, the remaining portion of the actual chunk of memory (the arena) initially requested via brk() tends to be retained.',
    judgedBy: [{ experiment: 'trim-threshold', claim: 'arena-retained' }],
  },
  {
    seed: '003',
    lines: [71],
    text: 'It is possible to trim the memory arena and give any unused memory back to the system by calling malloc_trim(pad) (defined in malloc.h).',
    judgedBy: [{ experiment: 'malloc-trim', claim: 'trim-releases-freed' }],
  },
  {
    seed: '003',
    lines: [71],
    text: 'This function resizes the data segment, leaving at least pad bytes at the end of it and failing if less than one page worth of bytes can be freed.',
    judgedBy: [
      { experiment: 'malloc-trim', claim: 'all-freed-shrinks-break' },
      { experiment: 'malloc-trim', claim: 'trim-leaves-pad' },
      { experiment: 'malloc-trim', claim: 'trim-fails-under-a-page' },
      { experiment: 'malloc-trim', claim: 'trim-returns-1' },
    ],
  },
  {
    seed: '003',
    lines: [71],
    text: 'Segment size is always a multiple of one page, which is 4,096 bytes on i386.',
    note: 'Judged on x86-64, whose page is also 4,096 bytes; no i386 process runs here.',
    judgedBy: [
      { experiment: 'break-and-alignment', claim: 'brk-page-rounded' },
      { experiment: 'break-and-alignment', claim: 'malloc-sbrk-pages' },
    ],
  },
  {
    seed: '003',
    lines: [73],
    text: 'The implementation of this modified behavior of free() using malloc_trim could be done using the malloc hook functionality. This would not require any source code changes to the core glibc library.',
    judgedBy: [{ experiment: 'malloc-hooks', claim: 'free-hook-trim' }],
  },
  {
    seed: '003',
    lines: [75],
    text: '3. Using madvise() system call inside the free implementation of glibc.',
    notJudgeable: {
      why: "a proposal to change glibc's free(), not a statement about what it does",
      needs: 'a glibc built with that change, preloaded into the hosts',
    },
  },
  {
    seed: '003',
    lines: [83],
    text: 'Library call malloc uses system calls brk and mmap under the hood when allocating memory.',
    judgedBy: [{ experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' }],
  },
  {
    seed: '003',
    lines: [84],
    text: 'a linux process would choose to use brk or mmap allocating mem depending on how much you request.',
    judgedBy: [
      { experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' },
      { experiment: 'mmap-threshold', claim: 'settings-agree' },
    ],
  },
  {
    seed: '003',
    lines: [85, 244],
    text: 'If allocating by brk, the process is probably not returning the memory to the OS before it terminates (sometimes it does).',
    judgedBy: [
      { experiment: 'mmap-threshold', claim: 'brk-free-keeps' },
      { experiment: 'free-and-sbrk', claim: 'top-lowers-break' },
    ],
  },
  {
    seed: '003',
    lines: [85],
    text: 'If by mmap, for my simple test the process returns the mem to OS before it terminates.',
    judgedBy: [{ experiment: 'mmap-threshold', claim: 'mmap-free-returns' }],
  },
  {
    seed: '003',
    lines: [124],
    text: 'When it comes to "free done\\n", and sleep(), you can see that the program still takes up the memory and doesn\'t return to the OS.',
    judgedBy: [{ experiment: 'small-overhead', claim: 'free-keeps' }],
  },
  {
    seed: '003',
    lines: [124],
    text: 'And strace ./a.out showing brk gets called many times.',
    notJudgeable: {
      why: 'step programs record what the process sees (the break, its status), not the system calls it makes',
      needs:
        'a system call count around the run: the host started under `strace -f -c -e trace=brk`, or a seccomp/ptrace counter in the runner',
    },
  },
  {
    seed: '003',
    lines: [128],
    text: 'I expected it to take up only 1GiB ram but in fact it takes up 8GiB ram in total. malloc adds some extra bytes for bookeeping or whatever else.',
    judgedBy: [{ experiment: 'small-overhead', claim: 'bookkeeping-32' }],
  },
  {
    seed: '003',
    lines: [178],
    text: "The scecond allocation doesn't increase memory usage, it uses the freed yet not returned mem again.",
    judgedBy: [
      { experiment: 'reuse-after-free', claim: 'second-round-no-growth' },
      { experiment: 'reuse-after-free', claim: 'same-memory' },
    ],
  },
  {
    seed: '003',
    lines: [240],
    text: 'you will see only for the last example, the program break decreases, aka, the process returns some blocks of mem to OS (if I understand correctly).',
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'top-lowers-break' },
      { experiment: 'free-and-sbrk', claim: 'free-keeps-break' },
    ],
  },
  {
    seed: '003',
    lines: [249, 250, 251],
    text: 'In general, free() doesn’t lower the program break, but instead adds the block of memory to a list of free blocks that are recycled by future calls to malloc().',
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'free-keeps-break' },
      { experiment: 'reuse-after-free', claim: 'same-memory' },
    ],
  },
  {
    seed: '003',
    lines: [253, 254, 255],
    text: 'The block of memory being freed is typically somewhere in the middle of the heap, rather than at the end, so that lowering the program break is not possible.',
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'free-keeps-break' },
      { experiment: 'free-and-sbrk', claim: 'top-lowers-break' },
    ],
  },
  {
    seed: '003',
    lines: [256, 257, 258],
    text: 'It minimizes the number of sbrk() calls that the program must perform. (As noted in Section 3.1, system calls have a small but significant overhead.)',
    notJudgeable: {
      why: 'step programs do not count system calls or time them apart from the work around them',
      needs:
        'a system call count and per-call timing (strace -c, or perf trace) of the same program with and without trimming',
    },
  },
  {
    seed: '003',
    lines: [259, 260, 261, 262, 263],
    text: 'In many cases, lowering the break would not help programs that allocate large amounts of memory, since they typically tend to hold on to allocated memory or repeatedly release and reallocate memory, rather than release it all and then continue to run for an extended period of time.',
    notJudgeable: {
      why: 'a statement about how programs tend to behave, not about the allocator',
      needs: 'allocation traces of real long-running programs',
    },
  },
  {
    seed: '003',
    lines: [273, 275],
    text: 'By default Rust uses the system allocator. This is based on malloc on Unix platforms and HeapAlloc on Windows, plus related functions.',
    notJudgeable: {
      why: 'malloc-lab runs its step programs in its own hosts (C++ and Node); no Rust program runs in an experiment',
      needs:
        'a Rust host (a rustc-built program whose Box allocations are traced, e.g. under mtrace) and a Windows machine for HeapAlloc',
    },
  },
  {
    seed: '003',
    lines: [277],
    text: 'Whether calling free() actually makes the memory available to other processes depends on the libc implementation and your operating system',
    judgedBy: [
      { experiment: 'allocators', claim: 'jemalloc-returns' },
      { experiment: 'allocators', claim: 'tcmalloc-returns' },
      { experiment: 'allocators', claim: 'mimalloc-returns' },
    ],
  },
  {
    seed: '003',
    lines: [277],
    text: "In any case, memory that was freed should be available for future allocations, so long-running processes don't leak memory.",
    judgedBy: [{ experiment: 'reuse-after-free', claim: 'second-round-no-growth' }],
  },
  {
    seed: '003',
    lines: [287, 289],
    text: 'What operating systems won\'t free memory on program exit? … Short answer is "none". … but you can assume that app-exit returns all the memory your user mode code acquired.',
    note: 'Judged on Linux, the one operating system here.',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'exit-returns' }],
  },
  {
    seed: '003',
    lines: [289],
    text: 'Even a program on DOS years ago would release memory on program termination',
    notJudgeable: {
      why: 'about other operating systems (DOS, Windows 3.x, embedded ones); only Linux runs here',
      needs: 'those operating systems',
    },
  },
  {
    seed: '003',
    lines: [299],
    text: 'No, terminating a program, as with exit or abort, does not reclaim memory in the same way as free. Using free causes some activity that ultimately has no effect when the operating system discards the data maintained by malloc and free.',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'free-before-exit-wasted' }],
  },
  {
    seed: '003',
    lines: [303],
    text: 'In a general-purpose multi-user operating system, when a process is terminated, the operating system releases the memory it was using for other purposes.',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'exit-returns' }],
  },
  {
    seed: '003',
    lines: [305],
    text: 'In contrast, when you call free, software inside the program runs, and it has to look up the size of the memory you are freeing and then insert information about that memory into the pool of memory it is maintaining. … Yet, in the end, when the program exits, all of the changes produced by free will vanish',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'free-before-exit-wasted' }],
  },
  {
    seed: '003',
    lines: [307],
    text: 'So, in this regard, the answer you link to is correct, calling free is a waste.',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'free-before-exit-wasted' }],
  },
  {
    seed: '003',
    lines: [307],
    text: 'the necessity of going through all the data structures in the program to fetch the pointers in them so the memory they point to can be freed causes all those data structures to be read into memory if they had been swapped out to disk.',
    notJudgeable: {
      why: 'this machine has no swap, so nothing is ever swapped out',
      needs: 'swap space and memory pressure that pushes the data out before the frees',
    },
  },
  {
    seed: '003',
    lines: [313],
    text: 'So, if you want to be sure libraries you have used in your program are not calling free when you end the program, you have to call abort, not exit.',
    notJudgeable: {
      why: "about the exit handlers libraries register, not the allocator; the hosts' children end with _exit and load no such library",
      needs:
        'a program linking a library whose atexit handler frees, traced (mtrace) through exit() and through abort()',
    },
  },
  {
    seed: '003',
    lines: [319],
    text: 'If the memory is shared with other processes, it is still needed for them, so releasing it from use by this process only decrements the number of processes using the memory. It is not immediately available for any other use.',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'shared-stays' }],
  },
  {
    seed: '003',
    lines: [320],
    text: 'If the memory is not in use by any other processes but contains data mapped from a file on disk, the operating system might mark it as available when needed but leave it alone for the moment.',
    notJudgeable: {
      why: "about file pages and the page cache; malloc's memory is anonymous",
      needs: 'an experiment that maps a file, exits, and watches the page cache (Cached in /proc/meminfo)',
    },
  },
  {
    seed: '003',
    lines: [321],
    text: 'If the memory is not in use by any other processes and was just used by the program as a work area, not mapped from a file, then system may mark it as immediately available and not containing anything useful.',
    judgedBy: [{ experiment: 'exit-and-fork', claim: 'exit-returns' }],
  },
];
