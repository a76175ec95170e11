/**
 * Seeds 002 and 003: malloc uses the brk heap for requests within
 * MMAP_THRESHOLD and mmap() above it; memory from mmap goes back to the OS at
 * free(), memory from brk "probably" does not. Variants: the default threshold
 * (64 KiB, 256 KiB and 1 MiB requests), glibc's dynamic threshold (free a mapped
 * 1 MiB block, malloc 1 MiB again), and the threshold set by mallopt(), by
 * MALLOC_MMAP_THRESHOLD_ and by GLIBC_TUNABLES.
 *
 * glibc looks at the threshold only in sysmalloc(), when neither a free chunk
 * nor the top chunk can serve the request. So the set threshold is raised
 * (2 MiB) rather than lowered: a request between a lowered threshold and 128 KiB
 * (say 100 KiB under 64 KiB) is served from the ~131 KiB top chunk that the
 * fresh process's first malloc (tcache's) sets up, and from the free chunks
 * Node's heap already holds, so it would show nothing about the threshold. A
 * 1 MiB request below a raised threshold and a 4 MiB one above it both exceed
 * any free space, so the threshold decides both.
 */
import { MALLOPT_PARAMS } from '../../glibc/mallopt-params.js';
import {
  afterMmappedFree,
  DEFAULT_MMAP_THRESHOLD,
  DEFAULT_THRESHOLDS,
  mmappedSize,
  mmapsRequest,
  trimmable,
  type Thresholds,
} from '../../glibc/model.js';
import { at, bytes, MissingMeasurement, ops, run, signed, verdict } from '../framework/observe.js';
import { designedSettings } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import { settingSource, settingsOf, thresholdsOf } from '../framework/settings.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters, Variant } from '../framework/types.js';

type Role = 'small' | 'medium' | 'large' | 'above';
const SETTINGS = ['mallopt', 'env', 'tunable'] as const;

const mallocLabel = (role: Role, size: number, again = false) =>
  `malloc ${role} (${bytes(size)})${again ? ' again' : ''}`;
const freeLabel = (role: Role, size: number, again = false) => `free ${role} (${bytes(size)})${again ? ' again' : ''}`;
const malloptLabel = (threshold: number) => `mallopt(M_MMAP_THRESHOLD, ${bytes(threshold)})`;

function sizes(parameters: Parameters): Record<Role | 'threshold', number> {
  const { small, medium, large, threshold, above } = parameters as Record<Role | 'threshold', number>;
  return { small, medium, large, threshold, above };
}

/** Each block is touched so that RssAnon follows VmSize for the mapped ones. */
function allocateThenFree(program: StepProgram, blocks: [Role, number][]): StepProgram {
  for (const [role, size] of blocks) program.step(mallocLabel(role, size), (s) => s.malloc(role, size).touch(role));
  for (const [role, size] of [...blocks].reverse()) program.step(freeLabel(role, size), (s) => s.free(role));
  return program;
}

function defaultProgram(parameters: Parameters): StepProgram {
  const { small, medium, large } = sizes(parameters);
  return allocateThenFree(new StepProgram().step('start'), [
    ['small', small],
    ['medium', medium],
    ['large', large],
  ]);
}

function dynamicProgram(parameters: Parameters): StepProgram {
  const { large } = sizes(parameters);
  return new StepProgram()
    .step('start')
    .step(mallocLabel('large', large), (s) => s.malloc('large', large).touch('large'))
    .step(freeLabel('large', large), (s) => s.free('large'))
    .step(mallocLabel('large', large, true), (s) => s.malloc('again', large).touch('again'))
    .step(freeLabel('large', large, true), (s) => s.free('again'));
}

function settingProgram(parameters: Parameters, setting: (typeof SETTINGS)[number]): StepProgram {
  const { large, threshold, above } = sizes(parameters);
  const program = new StepProgram().step('start');
  if (setting === 'mallopt')
    program.step(malloptLabel(threshold), (s) => s.mallopt(MALLOPT_PARAMS.M_MMAP_THRESHOLD, threshold));
  return allocateThenFree(program, [
    ['large', large],
    ['above', above],
  ]);
}

/** The label of the snapshot before label in variant. */
function previous(c: ClaimContext, variant: string, label: string): string {
  const steps = run(c, variant).steps;
  const index = steps.findIndex((step) => step.label === label);
  if (index < 1) throw new MissingMeasurement(`no step before "${label}" in variant ${variant}`);
  return steps[index - 1]!.label;
}

interface Placement {
  where: 'heap' | 'mapped' | 'unclear';
  size: number;
  address: number;
  breakMoved: number;
  vmSize: number;
  freeShrank: number;
  text: string;
}

/**
 * Where a malloc went: mapped when mallinfo counts one more mmap'd chunk of at
 * least its size and the address is outside [break - arena, break); heap when the
 * address is inside that range (arena sums every arena's system bytes, so the
 * range is a superset of the main heap, still far below the mmap area).
 */
function placement(c: ClaimContext, variant: string, label: string, size: number): Placement {
  const before = at(c, variant, previous(c, variant, label));
  const after = at(c, variant, label);
  const record = ops(c, variant, label).find((op) => op.op === 'malloc');
  if (record === undefined) throw new MissingMeasurement(`no malloc in "${label}" (variant ${variant})`);
  const address = record.value;
  const brk = Number(after.brk);
  const inHeap = address >= brk - after.mallinfo.arena && address < brk;
  const mappedCount = after.mallinfo.hblks - before.mallinfo.hblks;
  const mappedBytes = after.mallinfo.hblkhd - before.mallinfo.hblkhd;
  const breakMoved = brk - Number(before.brk);
  const vmSize = after.status.VmSize - before.status.VmSize;
  const freeShrank = before.mallinfo.fordblks - after.mallinfo.fordblks;
  // Judged on the block's own address: the step runs on the main thread, so the block
  // is in the main arena's brk heap or a mapping of its own. mallinfo's mmap counters are
  // process-wide, and Node's helper threads map and unmap chunks of their own at any time.
  let where: Placement['where'] = 'unclear';
  if (Number.isFinite(address) && address > 0) where = inHeap ? 'heap' : 'mapped';
  const text =
    where === 'mapped'
      ? `${bytes(size)} mmap'd at 0x${address.toString(16)} (mmap'd chunks +${mappedCount}, ${signed(mappedBytes)}; break ${signed(breakMoved)}; VmSize ${signed(vmSize)})`
      : where === 'heap'
        ? `${bytes(size)} from the brk heap at 0x${address.toString(16)}, below the break (` +
          (breakMoved > 0
            ? `break ${signed(breakMoved)}`
            : `break unchanged: served from free heap space, free bytes ${signed(-freeShrank)}`) +
          ')'
        : `${bytes(size)} unclear (address 0x${address.toString(16)}, break 0x${brk.toString(16)}, mmap'd chunks ${signed(mappedCount)})`;
  return { where, size, address, breakMoved, vmSize, freeShrank, text };
}

interface Release {
  vmSize: number;
  rssAnon: number;
  breakMoved: number;
  top: number;
  text: string;
}

function release(c: ClaimContext, variant: string, label: string): Release {
  const before = at(c, variant, previous(c, variant, label));
  const after = at(c, variant, label);
  const vmSize = after.status.VmSize - before.status.VmSize;
  const rssAnon = after.status.RssAnon - before.status.RssAnon;
  const breakMoved = Number(after.brk) - Number(before.brk);
  const top = after.mallinfo.keepcost;
  return {
    vmSize,
    rssAnon,
    breakMoved,
    top,
    text: `VmSize ${signed(vmSize)}, RssAnon ${signed(rssAnon)}, break ${signed(breakMoved)}`,
  };
}

const expectedPlace = (size: number, thresholds: Thresholds) => (mmapsRequest(size, thresholds) ? 'mapped' : 'heap');

function defaultBlocks(c: ClaimContext): [Role, number][] {
  const { small, medium, large } = sizes(c.parameters);
  return [
    ['small', small],
    ['medium', medium],
    ['large', large],
  ];
}

export const mmapThreshold: ExperimentDefinition = {
  id: 'mmap-threshold',
  title: 'brk below MMAP_THRESHOLD, mmap above it, and what free() gives back',
  seeds: ['002', '003'],
  description:
    "malloc of 64 KiB, 256 KiB and 1 MiB against the default 128 KiB threshold, then free; glibc's dynamic threshold (free a mapped 1 MiB block, malloc 1 MiB again); " +
    'the threshold raised to 2 MiB by mallopt(), MALLOC_MMAP_THRESHOLD_ and GLIBC_TUNABLES with 1 MiB and 4 MiB requests.',
  parameters: [
    { name: 'small', description: 'a request below the default 128 KiB threshold', default: 64 * 1024 },
    { name: 'medium', description: 'a request above the default threshold', default: 256 * 1024 },
    {
      name: 'large',
      description: 'a request above the default threshold (the dynamic-threshold block; below the set threshold)',
      default: 1024 * 1024,
    },
    { name: 'threshold', description: 'M_MMAP_THRESHOLD set by mallopt / env / tunable', default: 2 * 1024 * 1024 },
    { name: 'above', description: 'a request above the set threshold', default: 4 * 1024 * 1024 },
  ],
  variants: (parameters): Variant[] => {
    const threshold = String(sizes(parameters).threshold);
    return [
      {
        name: 'default',
        description: `small, medium and large against the default threshold, freed in reverse`,
        program: defaultProgram(parameters),
      },
      {
        name: 'fixed',
        description: `the default program with the threshold fixed at its 128 KiB default (MALLOC_MMAP_THRESHOLD_=${DEFAULT_MMAP_THRESHOLD}: no dynamic threshold)`,
        program: defaultProgram(parameters),
        env: { MALLOC_MMAP_THRESHOLD_: String(DEFAULT_MMAP_THRESHOLD) },
      },
      {
        name: 'dynamic',
        description: "malloc(large) mmap'd, free it, malloc(large) again",
        program: dynamicProgram(parameters),
      },
      {
        name: 'mallopt',
        description: `mallopt(M_MMAP_THRESHOLD, ${threshold}), then large and above`,
        program: settingProgram(parameters, 'mallopt'),
      },
      {
        name: 'env',
        description: `MALLOC_MMAP_THRESHOLD_=${threshold}, then large and above`,
        program: settingProgram(parameters, 'env'),
        env: { MALLOC_MMAP_THRESHOLD_: threshold },
      },
      {
        name: 'tunable',
        description: `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=${threshold}, then large and above`,
        program: settingProgram(parameters, 'tunable'),
        env: { GLIBC_TUNABLES: `glibc.malloc.mmap_threshold=${threshold}` },
      },
    ];
  },
  claims: [
    {
      id: 'brk-below-mmap-above',
      claim:
        'malloc calls sbrk() when the size to allocate is within the MMAP_THRESHOLD (128 KiB by default) and mmap() above it: ' +
        'brk() expands the arena within the heap, mmap() maps anywhere in the virtual address space.',
      requires: [designedSettings(['mmap_max'], ['default'])],
      judge: (c) => {
        const thresholds = thresholdsOf(c, 'default');
        const setting = settingsOf(c, 'default').mmap_threshold;
        const placed = defaultBlocks(c).map(([role, size]) => ({
          role,
          ...placement(c, 'default', mallocLabel(role, size), size),
        }));
        const wrong = placed.filter((block) => block.where !== expectedPlace(block.size, thresholds));
        const lines =
          `M_MMAP_THRESHOLD ${bytes(thresholds.mmap)} (${settingSource(setting)}): ` +
          placed.map((block) => block.text).join('; ');
        let why = '';
        const heapAbove = wrong.filter((block) => block.where === 'heap' && mmapsRequest(block.size, thresholds));
        if (heapAbove.length > 0) {
          const mappedAbove = placed.filter((block) => block.where === 'mapped').map((block) => bytes(block.size));
          why =
            `. ${heapAbove.map((block) => bytes(block.size)).join(', ')} came from the heap although above ${bytes(thresholds.mmap)}, so the threshold in force was higher than that` +
            (mappedAbove.length > 0 ? ` and below the ${mappedAbove.join(', ')} it still mapped` : '') +
            (thresholds.dynamic
              ? `. No setting fixed it in this run, and glibc raises it only by its dynamic rule, at the free of an mmap'd chunk larger than the threshold: ` +
                "the process had freed such a chunk before the program's first step (the dynamic claim shows the rule at work)"
              : '') +
            '. The rule holds with the threshold in force, not with its default';
          const fixed: string[] = [];
          for (const block of heapAbove) {
            try {
              fixed.push(placement(c, 'fixed', mallocLabel(block.role, block.size), block.size).text);
            } catch (error) {
              if (!(error instanceof MissingMeasurement)) throw error;
            }
          }
          if (fixed.length > 0)
            why += `. With the threshold fixed at ${bytes(DEFAULT_MMAP_THRESHOLD)} by MALLOC_MMAP_THRESHOLD_ (variant fixed, no dynamic threshold): ${fixed.join('; ')}`;
        }
        const heapBreak = placed.filter((block) => block.where === 'heap' && block.breakMoved === 0);
        if (heapBreak.length > 0)
          why += `. ${heapBreak.map((block) => bytes(block.size)).join(', ')} left the break where it was: free space the heap already had held ${heapBreak.length === 1 ? 'it' : 'them'} (free bytes fell by as much)`;
        return verdict(wrong.length === 0, `${lines}${why}`);
      },
    },
    {
      id: 'mmap-free-returns',
      claim:
        'If allocating by mmap, the process returns the memory to the OS before it terminates: free() unmaps the block at once.',
      judge: (c) => {
        const mapped: { variant: string; size: number; freed: Release }[] = [];
        for (const [role, size] of defaultBlocks(c)) {
          if (placement(c, 'default', mallocLabel(role, size), size).where === 'mapped') {
            mapped.push({ variant: 'default', size, freed: release(c, 'default', freeLabel(role, size)) });
          }
        }
        const large = sizes(c.parameters).large;
        if (placement(c, 'dynamic', mallocLabel('large', large), large).where === 'mapped') {
          mapped.push({ variant: 'dynamic', size: large, freed: release(c, 'dynamic', freeLabel('large', large)) });
        }
        if (mapped.length === 0)
          return { verdict: 'inconclusive', evidence: "no block was mmap'd, so there was no mapped block to free" };
        const holds = mapped.every((block) => -block.freed.vmSize >= block.size);
        // An mmap'd chunk's mapping: the block and its size field, in whole pages.
        const whole = mapped.every((block) => -block.freed.vmSize === mmappedSize(block.size));
        return verdict(
          holds,
          mapped.map((block) => `${block.variant}: free(${bytes(block.size)} mmap'd): ${block.freed.text}`).join('; ') +
            (holds && whole
              ? ` — each free gave back exactly its chunk's mapping (the block and its size field, in whole pages: ${mapped.map((block) => bytes(mmappedSize(block.size))).join(', ')})`
              : ''),
        );
      },
    },
    {
      id: 'brk-free-keeps',
      claim:
        'If allocating by brk, the process is probably not returning the memory to the OS before it terminates (sometimes it does).',
      requires: [designedSettings(['mmap_max'], ['default'])],
      judge: (c) => {
        const heap: { size: number; freed: Release }[] = [];
        for (const [role, size] of defaultBlocks(c)) {
          if (placement(c, 'default', mallocLabel(role, size), size).where === 'heap') {
            heap.push({ size, freed: release(c, 'default', freeLabel(role, size)) });
          }
        }
        if (heap.length === 0) return { verdict: 'inconclusive', evidence: 'no block came from the heap' };
        // Returned: VmSize fell by a tenth of the block or more.
        const kept = heap.every((block) => -block.freed.vmSize < 0.1 * block.size);
        const top = heap.at(-1)!.freed.top;
        const evidence = heap
          .map((block) => `free(${bytes(block.size)} from the heap): ${block.freed.text}`)
          .join('; ');
        const thresholds = thresholdsOf(c, 'default');
        const beyondPad = trimmable(top, thresholds.topPad);
        const why = kept
          ? `. The top chunk ends at ${bytes(top)}` +
            (top < thresholds.trim
              ? `, below M_TRIM_THRESHOLD (${bytes(thresholds.trim)} in this run), so free() did not trim it`
              : beyondPad === 0
                ? `: it passes M_TRIM_THRESHOLD (${bytes(thresholds.trim)}) but holds less than a page beyond M_TOP_PAD (${bytes(thresholds.topPad)}), which a trim keeps, so there was nothing to give back`
                : `, past the static M_TRIM_THRESHOLD (${bytes(thresholds.trim)}) with ${bytes(beyondPad)} beyond M_TOP_PAD, yet free() kept it: ` +
                  (thresholds.dynamic
                    ? "the threshold in force was higher, raised by glibc's dynamic rule (see brk-below-mmap-above)"
                    : 'the last free did not merge a chunk of 64 KiB into it')) +
            ''
          : `. The freed block bordered the top chunk, which passed M_TRIM_THRESHOLD, so free() trimmed the heap with sbrk(-n)`;
        // The "sometimes it does": the setting variants, where the trim threshold stays at 128 KiB.
        const { large, threshold } = sizes(c.parameters);
        const sometimes: { setting: string; returned: boolean; text: string }[] = [];
        for (const setting of SETTINGS) {
          try {
            if (placement(c, setting, mallocLabel('large', large), large).where !== 'heap') continue;
            const freed = release(c, setting, freeLabel('large', large));
            sometimes.push({
              setting,
              returned: -freed.vmSize >= 0.9 * large,
              text: `${setting}: ${freed.text}, top chunk ${bytes(freed.top)}`,
            });
          } catch (error) {
            if (!(error instanceof MissingMeasurement)) throw error;
          }
        }
        const returned = sometimes.filter((entry) => entry.returned).map((entry) => entry.setting);
        const also = sometimes.length
          ? `. With the threshold set to ${bytes(threshold)}, freeing the ${bytes(large)} heap block that borders the top chunk: ${sometimes.map((entry) => entry.text).join('; ')}` +
            (returned.length
              ? ` — in ${returned.join(', ')} it was given back: setting the mmap threshold turns the dynamic rule off, so M_TRIM_THRESHOLD stayed ${bytes(thresholdsOf(c, returned[0]!).trim)}, ` +
                'the merged top chunk passed it, and free() cut the heap back to M_TOP_PAD with a negative sbrk — the "sometimes it does"'
              : ' — kept as well: the merged top chunk stayed below M_TRIM_THRESHOLD')
          : '';
        return verdict(kept, `${evidence}${why}${also}`);
      },
    },
    {
      id: 'dynamic-threshold',
      claim:
        "glibc raises the mmap threshold to the size of a freed mapped block (and M_TRIM_THRESHOLD to twice that): after freeing an mmap'd 1 MiB block, the next 1 MiB malloc comes from the heap.",
      // Any of these set (mallopt, alias or tunable) turns the dynamic rule off.
      requires: [designedSettings(['mmap_threshold', 'trim_threshold', 'top_pad', 'mmap_max'], ['dynamic'])],
      judge: (c): Judgement => {
        const large = sizes(c.parameters).large;
        const first = placement(c, 'dynamic', mallocLabel('large', large), large);
        const freed = release(c, 'dynamic', freeLabel('large', large));
        if (first.where !== 'mapped') {
          return {
            verdict: 'inconclusive',
            evidence: `the first malloc(${bytes(large)}) was not mmap'd (${first.text}): the threshold was already above it, so there was no mapped block to free`,
          };
        }
        const second = placement(c, 'dynamic', mallocLabel('large', large, true), large);
        const again = release(c, 'dynamic', freeLabel('large', large, true));
        const trimmed = -again.vmSize >= 0.1 * large;
        // What the rule makes of the thresholds once the first block's mapping is freed.
        const raised = afterMmappedFree(thresholdsOf(c, 'dynamic'), mmappedSize(large));
        if (second.where === 'mapped') {
          const env = Object.entries(run(c, 'dynamic').env)
            .map(([key, value]) => `${key}=${value}`)
            .join(' ');
          return verdict(
            false,
            `first: ${first.text}; its free: ${freed.text}; again: ${second.text} — the threshold did not rise. glibc adjusts it only while none of ` +
              `M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX has been set${env ? `; this run had ${env}` : ''}`,
          );
        }
        return verdict(
          second.where === 'heap',
          `first: ${first.text}; its free: ${freed.text}; again: ${second.text}. ` +
            `Freeing the heap block again: ${again.text}, leaving a ${bytes(again.top)} top chunk ` +
            (trimmed
              ? `trimmed although the rule sets M_TRIM_THRESHOLD to ${bytes(raised.trim)}`
              : again.top >= DEFAULT_THRESHOLDS.trim
                ? `kept: above the ${bytes(DEFAULT_THRESHOLDS.trim)} default M_TRIM_THRESHOLD, below the ${bytes(raised.trim)} the rule sets it to (twice the ${bytes(raised.mmap)} mapping freed)`
                : `kept: below even the ${bytes(DEFAULT_THRESHOLDS.trim)} default M_TRIM_THRESHOLD`),
        );
      },
    },
    {
      id: 'settings-agree',
      claim:
        'M_MMAP_THRESHOLD set by mallopt(), by MALLOC_MMAP_THRESHOLD_ and by GLIBC_TUNABLES=glibc.malloc.mmap_threshold has the same effect: ' +
        "requests below it come from the heap, requests above it are mmap'd.",
      requires: [designedSettings(['mmap_threshold', 'mmap_max'], [...SETTINGS])],
      judge: (c) => {
        const { large, threshold, above } = sizes(c.parameters);
        const set = { ...DEFAULT_THRESHOLDS, mmap: threshold, dynamic: false };
        const results = SETTINGS.map((setting) => {
          const placed = (
            [
              ['large', large],
              ['above', above],
            ] as [Role, number][]
          ).map(([role, size]) => placement(c, setting, mallocLabel(role, size), size));
          return { setting, placed, ok: placed.every((block) => block.where === expectedPlace(block.size, set)) };
        });
        const holds = results.every((result) => result.ok);
        let baseline = '';
        try {
          const byDefault = placement(c, 'default', mallocLabel('large', large), large);
          baseline = `. Without a setting (default variant) the ${bytes(large)} request was ${byDefault.where === 'mapped' ? "mmap'd" : 'from the heap'}`;
        } catch (error) {
          if (!(error instanceof MissingMeasurement)) throw error;
        }
        return verdict(
          holds,
          `threshold ${bytes(threshold)}: ` +
            results
              .map((result) => `${result.setting}: ${result.placed.map((block) => block.text).join(', ')}`)
              .join('; ') +
            baseline,
        );
      },
    },
  ],
};
