/**
 * Seed 002's note to "check process limits (use the prlimit api)" and seed 004's
 * "restrictions on max size based on … location of various other memory sets".
 *
 * Two programs lower a limit with prlimit to what the process uses now plus a
 * headroom, then malloc blocks until malloc refuses, first from the heap (below the
 * mmap threshold, brk-backed), then, once those are freed, blocks mmap'd one by one
 * (above a threshold set with mallopt): one program under RLIMIT_DATA (the data
 * segment: the break and private writable mappings, VmData), one under RLIMIT_AS
 * (all address space, VmSize). The blocks are never written. A third maps a page
 * just above the break and mallocs heap-sized blocks past it.
 */
import { MALLOPT_PARAMS } from '../../glibc/mallopt-params.js';
import { DEFAULT_TOP_PAD, PAGE } from '../../glibc/model.js';
import { RLIMIT } from '../../glibc/process-constants.js';
import { formatAddress, KiB, MiB } from '../../infra/units.js';
import { at, bytes, ops, signed, succeeded, verdict } from '../framework/observe.js';
import { designedSettings } from '../framework/preconditions.js';
import { StepProgram, statusName } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Parameters, Variant } from '../framework/types.js';

/** Blocks the wall program mallocs: below the mmap threshold, so they come from the heap. */
const WALL_BLOCK = 120 * KiB;
const WALL_BLOCKS = 64;

type Resource = 'data' | 'as';
type Backing = 'brk' | 'mmap';

const RESOURCES: Record<Resource, { name: string; rlimit: number; counter: 'VmData' | 'VmSize' }> = {
  data: { name: 'RLIMIT_DATA', rlimit: RLIMIT.RLIMIT_DATA, counter: 'VmData' },
  as: { name: 'RLIMIT_AS', rlimit: RLIMIT.RLIMIT_AS, counter: 'VmSize' },
};

export const STEPS = {
  start: 'start',
  limit: (resource: Resource, headroom: number) =>
    `prlimit(${RESOURCES[resource].name}, ${RESOURCES[resource].counter} + ${bytes(headroom)})`,
  allocate: (backing: Backing, block: number) =>
    `malloc(${bytes(block)}) until refused${backing === 'mmap' ? ", mmap'd" : ''}`,
  free: (backing: Backing, block: number) => `free the ${bytes(block)} blocks${backing === 'mmap' ? ", mmap'd" : ''}`,
  threshold: (block: number) => `mallopt(M_MMAP_THRESHOLD, ${bytes(Math.floor(block / 2))})`,
  wall: (gap: number) => `map a page ${bytes(gap)} above the break`,
  past: `malloc(${bytes(WALL_BLOCK)}) × ${WALL_BLOCKS}`,
  after: 'the heap afterwards',
} as const;

function blockOf(parameters: Parameters, backing: Backing): number {
  return parameters[backing === 'brk' ? 'heapBlock' : 'mappedBlock']!;
}

/** The step before a backing's allocations: the limit for the heap blocks, the threshold for the mapped ones. */
function before(parameters: Parameters, resource: Resource, backing: Backing): string {
  return backing === 'brk'
    ? STEPS.limit(resource, parameters['headroom']!)
    : STEPS.threshold(blockOf(parameters, 'mmap'));
}

function limitProgram(parameters: Parameters, resource: Resource): StepProgram {
  const headroom = parameters['headroom']!;
  const heap = blockOf(parameters, 'brk');
  const mapped = blockOf(parameters, 'mmap');
  const most = (block: number) => Math.ceil((4 * headroom) / block);
  return (
    new StepProgram({ unsafe: true })
      .step(STEPS.start)
      .step(STEPS.limit(resource, headroom), (s) => s.prlimit(RESOURCES[resource].rlimit, headroom))
      .step(STEPS.allocate('brk', heap), (s) => s.allocUntilRefused('heap', heap, most(heap)))
      .step(STEPS.free('brk', heap), (s) => s.batchFree('heap'))
      // A threshold set by mallopt is fixed: every block above it is mmap'd on both hosts.
      .step(STEPS.threshold(mapped), (s) => s.mallopt(MALLOPT_PARAMS.M_MMAP_THRESHOLD, Math.floor(mapped / 2)))
      .step(STEPS.allocate('mmap', mapped), (s) => s.allocUntilRefused('mapped', mapped, most(mapped)))
      .step(STEPS.free('mmap', mapped), (s) => s.batchFree('mapped'))
  );
}

function wallProgram(gap: number): StepProgram {
  return new StepProgram()
    .step(STEPS.start, (s) => s.heapRange())
    .step(STEPS.wall(gap), (s) => s.mmapAboveBreak('wall', gap))
    .step(STEPS.past, (s) => {
      for (let i = 0; i < WALL_BLOCKS; i++) s.malloc(`block${i}`, WALL_BLOCK);
    })
    .step(STEPS.after, (s) => s.heapRange());
}

/** What one limited run measured for one backing. */
function limited(c: ClaimContext, resource: Resource, backing: Backing) {
  const headroom = c.parameters['headroom']!;
  const block = blockOf(c.parameters, backing);
  const { counter } = RESOURCES[resource];
  const limit = succeeded(c, resource, STEPS.limit(resource, headroom), 'prlimit');
  const allocated = succeeded(c, resource, STEPS.allocate(backing, block), 'alloc_until_refused');
  const start = at(c, resource, before(c.parameters, resource, backing));
  const end = at(c, resource, STEPS.allocate(backing, block));
  return {
    name: `${RESOURCES[resource].name}, ${backing === 'brk' ? 'heap' : "mmap'd"} blocks`,
    block,
    counter,
    limit: limit.value,
    blocks: allocated.value,
    refusal: allocated.value2,
    used: end.status[counter],
    grown: end.status[counter] - start.status[counter],
    rssAnon: end.status.RssAnon - start.status.RssAnon,
    brk: Number(end.brk) - Number(start.brk),
    mapped: end.mallinfo.hblks - start.mallinfo.hblks,
  };
}

/** malloc refused (ENOMEM) when the next block, with what glibc adds to it, would have passed the limit. */
function judgeLimit(c: ClaimContext, resource: Resource, backing: Backing) {
  const run = limited(c, resource, backing);
  const { name } = RESOURCES[resource];
  // What one more block costs at most: itself rounded to pages, plus the top pad of a heap extension.
  const nextCost = run.block + DEFAULT_TOP_PAD + PAGE;
  const left = run.limit - run.used;
  const stoppedByLimit = run.refusal !== 0 && run.used <= run.limit && left < nextCost;
  const total = run.blocks * run.block;
  // Most heap blocks grow the break (a used heap serves some from free space); mapped ones leave it.
  const backed =
    backing === 'brk'
      ? run.brk >= total / 2 && run.mapped < run.blocks / 2
      : run.mapped >= run.blocks && run.brk < run.block;
  return verdict(
    stoppedByLimit && backed,
    `${name} set to ${run.counter} + ${bytes(c.parameters['headroom']!)} = ${bytes(run.limit)}: ${run.blocks} × malloc(${bytes(run.block)}) = ${bytes(total)} succeeded, ` +
      `then malloc returned NULL (${run.refusal === 0 ? 'never refused' : statusName(run.refusal)}) with ${run.counter} at ${bytes(run.used)}, ${bytes(left)} below the limit — ` +
      `less than the next block needs; ` +
      (backing === 'brk'
        ? `the blocks came from the heap (the break ${signed(run.brk)}, ${run.mapped} mmap'd blocks)`
        : `each block was its own mapping (${run.mapped} mmap'd blocks, the break ${signed(run.brk)})`),
  );
}

/** Whether a block goes to the heap or its own mapping, as the variants expect: a run's own thresholds would move it. */
const PLACEMENT_AS_DESIGNED = designedSettings(['mmap_threshold', 'mmap_max', 'top_pad']);

export const processLimits: ExperimentDefinition = {
  id: 'process-limits',
  title: 'RLIMIT_DATA and RLIMIT_AS against heap and mmap allocations; a mapping above the break',
  seeds: ['002', '004'],
  description:
    'prlimit lowers RLIMIT_DATA or RLIMIT_AS to the current use plus 32 MiB, then blocks are malloc’d (never written) until malloc refuses: ' +
    '64 KiB blocks from the heap and 1 MiB blocks mmap’d one by one; and 64 heap-sized blocks malloc’d past a page mapped just above the break.',
  parameters: [
    { name: 'headroom', description: 'bytes the limit leaves above the current use', default: 32 * MiB },
    { name: 'heapBlock', description: 'bytes of each heap (brk-backed) block', default: 64 * KiB },
    { name: 'mappedBlock', description: 'bytes of each mmap-backed block', default: 1 * MiB },
    { name: 'gap', description: 'bytes between the break and the page mapped above it', default: 256 * KiB },
  ],
  variants: (parameters): Variant[] => [
    ...(['data', 'as'] as Resource[]).map((resource) => ({
      name: resource,
      description: `${RESOURCES[resource].name} at ${RESOURCES[resource].counter} + ${bytes(parameters['headroom']!)}: ${bytes(blockOf(parameters, 'brk'))} heap blocks, then ${bytes(blockOf(parameters, 'mmap'))} mmap'd blocks`,
      program: limitProgram(parameters, resource),
    })),
    {
      name: 'wall',
      description: `a page mapped ${bytes(parameters['gap']!)} above the break, then ${WALL_BLOCKS} × malloc(${bytes(WALL_BLOCK)})`,
      program: wallProgram(parameters['gap']!),
    },
  ],
  allocators: ['glibc'],
  claims: [
    {
      id: 'data-limits-brk',
      requires: [PLACEMENT_AS_DESIGNED],
      claim:
        'Check process limits (prlimit): RLIMIT_DATA stops malloc from growing the heap with brk — malloc returns NULL.',
      judge: (c) => judgeLimit(c, 'data', 'brk'),
    },
    {
      id: 'data-limits-mmap',
      requires: [PLACEMENT_AS_DESIGNED],
      claim:
        "Check process limits (prlimit): RLIMIT_DATA also stops malloc's mmap'd blocks (Linux counts private writable mappings as data since 4.7).",
      judge: (c) => judgeLimit(c, 'data', 'mmap'),
    },
    {
      id: 'as-limits-brk',
      requires: [PLACEMENT_AS_DESIGNED],
      claim:
        'Check process limits (prlimit): RLIMIT_AS, the whole address space, stops malloc from growing the heap with brk.',
      judge: (c) => judgeLimit(c, 'as', 'brk'),
    },
    {
      id: 'as-limits-mmap',
      requires: [PLACEMENT_AS_DESIGNED],
      claim: "Check process limits (prlimit): RLIMIT_AS stops malloc's mmap'd blocks.",
      judge: (c) => judgeLimit(c, 'as', 'mmap'),
    },
    {
      id: 'limits-count-address-space',
      requires: [PLACEMENT_AS_DESIGNED],
      claim:
        "These limits count address space, not resident memory: blocks never written stop at the limit all the same (malloc-lab's own claim).",
      judge: (c) => {
        const runs = (['data', 'as'] as Resource[]).flatMap((resource) =>
          (['brk', 'mmap'] as Backing[]).map((backing) => limited(c, resource, backing)),
        );
        const holds = runs.every((run) => run.refusal !== 0 && run.rssAnon < 0.25 * run.grown);
        return verdict(
          holds,
          runs
            .map(
              (run) =>
                `${run.name}: ${run.counter} ${signed(run.grown)} up to the limit, RssAnon ${signed(run.rssAnon)}`,
            )
            .join('; ') + ' — the program never wrote the blocks (malloc itself writes only a header per block)',
        );
      },
    },
    {
      id: 'mapping-stops-break',
      requires: [PLACEMENT_AS_DESIGNED],
      claim:
        'Restrictions on max size based on multiple factors, such as location of various other memory sets (shared libaries, stack etc).',
      judge: (c) => {
        const gap = c.parameters['gap']!;
        const wall = succeeded(c, 'wall', STEPS.wall(gap), 'mmap_above_break').value;
        const start = succeeded(c, 'wall', STEPS.start, 'heap_range');
        const end = succeeded(c, 'wall', STEPS.after, 'heap_range');
        const blocks = ops(c, 'wall', STEPS.past, 'malloc');
        const failed = blocks.filter((record) => record.status !== 0).length;
        const outside = blocks.filter(
          (record) => record.status === 0 && (record.value < start.value || record.value >= wall),
        );
        if (outside.length === 0) {
          return {
            verdict: 'inconclusive',
            evidence: `every block fitted below the page at ${formatAddress(wall)}: the heap's free space served them, and the break never reached it`,
          };
        }
        return verdict(
          end.value2 <= wall && failed === 0,
          `a page mapped at ${formatAddress(wall)}, ${bytes(wall - start.value2)} above the break; ${WALL_BLOCKS} × malloc(${bytes(WALL_BLOCK)}) then moved the break from ${formatAddress(start.value2)} ` +
            `to ${formatAddress(end.value2)}, ${end.value2 <= wall ? 'never past the mapping' : 'past the mapping'}; ` +
            `${blocks.length - failed} of them succeeded, ${outside.length} lying outside the heap (first at ${formatAddress(outside[0]!.value)}): ` +
            `the mapping capped the heap, and glibc went on in memory it mmap'd`,
        );
      },
    },
  ],
};
