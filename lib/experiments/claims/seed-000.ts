/** Seed 000 ("More About malloc", in Chinese): free() keeping memory, thread arenas and their caps. */
import type { SeedClaim } from './types.js';

export const SEED_000: SeedClaim[] = [
  {
    seed: '000',
    lines: [42],
    text: '通过top -p $(pidof _progname_) 可以看到malloc阶段占用内存不断变大',
    english:
      'With top -p $(pidof _progname_) you can see the memory the process occupies keep growing during the malloc phase.',
    judgedBy: [{ experiment: 'free-not-returned', claim: 'malloc-grows' }],
  },
  {
    seed: '000',
    lines: [42, 43],
    text: '但free完成后内存占用没有减少， 应用程序已经通过调用free将内存释放，但glic没有将内存归还给操作系统。',
    english:
      'But after the frees complete the memory occupied does not go down: the application has released the memory by calling free, but glibc has not returned it to the operating system.',
    judgedBy: [{ experiment: 'free-not-returned', claim: 'free-keeps' }],
  },
  {
    seed: '000',
    lines: [45],
    text: '如果增加上例中注释的部分，编译执行后glibc将内存归还给操作系统。',
    english:
      'If the commented-out part of the example (malloc(PAGE); free()) is added, the compiled program has glibc return the memory to the operating system.',
    judgedBy: [{ experiment: 'free-not-returned', claim: 'page-free-returns' }],
  },
  {
    seed: '000',
    lines: [48],
    text: 'OpenSUSE 13.2（Glib 2.19）中发现：多线程的程序中malloc内存时，有如下现象：',
    english: 'Found on OpenSUSE 13.2 (glibc 2.19): when a multithreaded program mallocs memory, the following happens:',
    notJudgeable: {
      why: 'the observations that follow are dated to glibc 2.19; this machine runs glibc 2.36, and the experiments judge them there (thread-arenas)',
      needs: 'a glibc 2.19 userland (an OpenSUSE 13.2 or Debian 8 container) to run the fresh host against',
    },
  },
  {
    seed: '000',
    lines: [49],
    text: '线程创建时，进程占用的虚拟内存增加大约`ulimit -s`，这是线程堆栈的大小。',
    english:
      'When a thread is created, the virtual memory the process occupies grows by about `ulimit -s`: that is the size of the thread stack.',
    judgedBy: [{ experiment: 'thread-arenas', claim: 'thread-costs-stack' }],
  },
  {
    seed: '000',
    lines: [50],
    text: '创建一个线程并申请1K内存时，进程占用的内存增加64M，第二次申请时内存不增加。',
    english:
      'When a thread is created and asks for 1K of memory, the memory the process occupies grows by 64M; at the second request it does not grow.',
    judgedBy: [
      { experiment: 'thread-arenas', claim: 'first-malloc-64mib' },
      { experiment: 'thread-arenas', claim: 'second-malloc-free' },
    ],
  },
  {
    seed: '000',
    lines: [99, 100],
    text: '原因为glibc在比较高的版本中参考了tcmalloc等内存分配库的思想；即为每个线程分配自己的arena， 这样就可以尽可能避免在内存分配过程中的锁。',
    english:
      'The reason is that newer glibc versions borrowed the idea of allocators such as tcmalloc: each thread is given its own arena, so that locks during allocation are avoided as far as possible.',
    note: "The thread's own arena is judged; that it avoids lock contention is not measured (no experiment times contended mallocs).",
    judgedBy: [{ experiment: 'thread-arenas', claim: 'first-malloc-64mib' }],
  },
  {
    seed: '000',
    lines: [102, 103],
    text: '默认情况下 … 32位机器arena数量 2*core数量',
    english: 'By default, on 32-bit machines the number of arenas is 2 × the number of cores.',
    notJudgeable: {
      why: 'this machine runs 64-bit processes only; no 32-bit glibc (i386 or armhf) is installed to run a host under',
      needs:
        'a 32-bit build of the fresh host and a 32-bit glibc (gcc-multilib with libc6:i386, or an armhf sysroot under qemu-arm)',
    },
  },
  {
    seed: '000',
    lines: [104],
    text: '64位机器arena数量 8*core数量，每个大小为64M',
    english: 'On 64-bit machines the number of arenas is 8 × the number of cores, each 64M in size.',
    judgedBy: [
      { experiment: 'thread-arenas', claim: 'cap-holds' },
      { experiment: 'thread-arenas', claim: 'first-malloc-64mib' },
      { experiment: 'arena-test', claim: 'test-then-cores' },
    ],
  },
  {
    seed: '000',
    lines: [106, 107],
    text: '相关的行为可以由环境变量控制 … `MALLOC_ARENA_TEST_`: memory pools达到此值时检查CPU核心数量',
    english:
      'The behaviour can be controlled with environment variables: `MALLOC_ARENA_TEST_`: when the number of memory pools (arenas) reaches this value, the number of CPU cores is checked.',
    note: 'glibc reads MALLOC_ARENA_TEST, without the trailing underscore: arena-test judges both the mechanism and the spelling.',
    judgedBy: [
      { experiment: 'arena-test', claim: 'test-then-cores' },
      { experiment: 'arena-test', claim: 'seed-spelling' },
    ],
  },
  {
    seed: '000',
    lines: [108],
    text: '`MALLOC_ARENA_MAX_`: 最大memory pools数量（不论几核）。',
    english: '`MALLOC_ARENA_MAX_`: the maximum number of memory pools (arenas), whatever the number of cores.',
    note: 'glibc reads MALLOC_ARENA_MAX, without the trailing underscore.',
    judgedBy: [
      { experiment: 'thread-arenas', claim: 'arena-max-agree' },
      { experiment: 'arena-test', claim: 'seed-spelling' },
    ],
  },
  {
    seed: '000',
    lines: [108],
    text: '实践中有建议设其为4',
    english: 'In practice it is recommended to set it to 4.',
    notJudgeable: {
      why: 'advice whose worth depends on the service: fewer arenas trade memory for lock contention under its own load',
      needs: "the service's own workload run under both settings, comparing RSS and throughput",
    },
  },
  {
    seed: '000',
    lines: [110],
    text: '程序中可以使用mallopt(M_ARENA_MAX, 4)修改',
    english: 'In a program it can be changed with mallopt(M_ARENA_MAX, 4).',
    judgedBy: [
      { experiment: 'thread-arenas', claim: 'arena-max-agree' },
      { experiment: 'thread-arenas', claim: 'late-cap-keeps-arenas', negates: true },
    ],
  },
];
