/** Seed 001 (Chinese and English): sbrk and mmap, memory kept in the malloc pool, heap corruption, the 5 × 16 kB demo. */
import type { SeedClaim } from './types.js';

export const SEED_001: SeedClaim[] = [
  {
    seed: '001',
    lines: [1],
    text: '操作系统管理内存，应用需要使用内存时，需要通过系统调用来向OS进行申请。',
    english:
      'The operating system manages memory; when an application needs memory it has to ask the OS for it through a system call.',
    judgedBy: [{ experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' }],
  },
  {
    seed: '001',
    lines: [3],
    text: '在Linux中，并没有名为malloc的系统调用，实际上关于应用内存分配的系统调用有两个：**sbrk** and **mmap**',
    english:
      'In Linux there is no system call named malloc; the system calls an application allocates memory with are in fact two: sbrk and mmap.',
    note: 'sbrk is the C library wrapper of the brk system call; the experiment watches the break and the mappings move.',
    judgedBy: [{ experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' }],
  },
  {
    seed: '001',
    lines: [11],
    text: 'The free memory space between the top of the heap and the top of the stack is large.',
    judgedBy: [{ experiment: 'alloca-stack', claim: 'heap-stack-gap' }],
  },
  {
    seed: '001',
    lines: [14],
    text: '分配过程通常使用 sbrk 系统调用。**尽管 sbrk 既可以增加 heap size 也可以减小 heap size，',
    english:
      'Allocation usually uses the sbrk system call. Although sbrk can both increase and decrease the heap size,',
    judgedBy: [
      { experiment: 'break-and-alignment', claim: 'sbrk-shrinks' },
      { experiment: 'mmap-threshold', claim: 'brk-below-mmap-above' },
    ],
  },
  {
    seed: '001',
    lines: [14],
    text: '但是大部分版本的 malloc&free 永远不会减小他们控制的内存空间。',
    english: 'most versions of malloc & free never reduce the memory space they control.',
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'top-lowers-break', negates: true },
      { experiment: 'malloc-trim', claim: 'all-freed-shrinks-break', negates: true },
    ],
  },
  {
    seed: '001',
    lines: [14],
    text: '也就是说不会将已经从OS获取的内存还给OS，而是留着供下次malloc使用。**',
    english: 'That is, they do not give memory obtained from the OS back to it, but keep it for the next malloc.',
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'free-keeps-break' },
      { experiment: 'reuse-after-free', claim: 'second-round-no-growth' },
    ],
  },
  {
    seed: '001',
    lines: [16],
    text: 'The space that we free is available for a later allocation, but the freed space is not usually returned to the kernel; instead, that space is kept in the malloc pool.',
    judgedBy: [
      { experiment: 'free-and-sbrk', claim: 'free-keeps-break' },
      { experiment: 'reuse-after-free', claim: 'same-memory' },
    ],
  },
  {
    seed: '001',
    lines: [18],
    text: 'Most implementations allocate more space than requested and use the additional space for record keeping — the size of the block, a pointer to the next allocated block, and the like.',
    judgedBy: [
      { experiment: 'small-overhead', claim: 'bookkeeping-32' },
      { experiment: 'break-and-alignment', claim: 'record-keeping' },
    ],
  },
  {
    seed: '001',
    lines: [18],
    text: '因此，当我们对一块刚分配的内存区域之前/之后的地址进行写操作时，就有可能修改其他block的元信息，这种err通常比较难以发现。',
    english:
      "So when we write to the addresses just before/after a freshly allocated region, we may modify another block's metadata; this kind of error is usually hard to find.",
    judgedBy: [
      { experiment: 'heap-corruption', claim: 'write-past-end' },
      { experiment: 'malloc-debug', claim: 'check-catches-overflow' },
    ],
  },
  {
    seed: '001',
    lines: [20],
    text: '还有一种严重的错误是释放一个已经被释放过的block，以及通过free去释放一个不是通过malloc() family 获得的block。',
    english:
      'Another serious error is freeing a block that has already been freed, and freeing through free a block that was not obtained from the malloc() family.',
    judgedBy: [
      { experiment: 'heap-corruption', claim: 'double-free' },
      { experiment: 'heap-corruption', claim: 'double-free-fastbin' },
      { experiment: 'heap-corruption', claim: 'double-free-fastbin-dup' },
      { experiment: 'heap-corruption', claim: 'free-foreign' },
    ],
  },
  {
    seed: '001',
    lines: [56],
    text: '0xebe000 - 0xe99000 = 0x25000，即 151552 bytes，即 148 kB。实际代码里申请的是 5 * 16 = 80 kB。',
    english: '0xebe000 - 0xe99000 = 0x25000, that is 151552 bytes, 148 kB; the code actually requested 5 × 16 = 80 kB.',
    judgedBy: [{ experiment: 'sbrk-16k', claim: 'moved-148k' }],
  },
  {
    seed: '001',
    lines: [56],
    text: '说明 malloc 会向OS申请超过用户调用传入的地址空间，多出的地址空间会用于保存block元信息以及处于性能考虑的预申请（存疑）。',
    english:
      'This shows that malloc asks the OS for more address space than the user passed; the extra is used to keep block metadata and as advance allocation for performance (uncertain).',
    judgedBy: [{ experiment: 'sbrk-16k', claim: 'asks-more' }],
  },
  {
    seed: '001',
    lines: [56],
    text: '比如当我们第6次malloc 16kB时，sbrk返回的heap top地址没有变动。说明用到的是预分配的内存空间。',
    english:
      'For example, when we malloc 16 kB for the 6th time, the heap top address sbrk returns does not change: the memory allocated in advance is used.',
    judgedBy: [{ experiment: 'sbrk-16k', claim: 'sixth-fits' }],
  },
  {
    seed: '001',
    lines: [58],
    text: '在将最后一个16kB释放后，sbrk返回的heap top address依然没有减少，说明malloc并没有将这部分内存归还给操作系统。',
    english:
      'After the last 16 kB block is freed, the heap top address sbrk returns still does not decrease: malloc has not returned this memory to the operating system.',
    judgedBy: [{ experiment: 'sbrk-16k', claim: 'free-keeps-break' }],
  },
  {
    seed: '001',
    lines: [58],
    text: '直到我们最后一次申请90kB空间时，heep top 才发生了增长。',
    english: 'Only when we finally ask for 90 kB does the heap top grow.',
    judgedBy: [{ experiment: 'sbrk-16k', claim: 'last-grows' }],
  },
];
