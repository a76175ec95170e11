/**
 * Seed 003's M_TRIM_THRESHOLD answer: the threshold is "the minimum amount of free
 * memory allowed at the top of the data segment. If the amount falls below this
 * threshold, glibc invokes brk() to give back memory", "the default value is 128K,
 * setting a smaller value might save space", the same works "by setting
 * MALLOC_TRIM_THRESHOLD_, with no source changes", and "the remaining portion of
 * the arena initially requested via brk() tends to be retained".
 *
 * Program: malloc(size) below the mmap threshold, memset, free. Variants: the
 * defaults; a small threshold alone; M_TOP_PAD 0 alone (the pad free() keeps when
 * it trims, 128 KiB by default); a small threshold with M_TOP_PAD 0 set three ways
 * (mallopt, environment, tunables); and after the free of an mmapped block has
 * raised the dynamic thresholds, with and without mallopt.
 */
import { MALLOPT_PARAMS } from '../../glibc/mallopt-params.js';
import { afterMmappedFree, mmappedSize, MINSIZE, PAGE, trimmable } from '../../glibc/model.js';
import { at, bytes, delta, signed, verdict } from '../framework/observe.js';
import { designedSettings } from '../framework/preconditions.js';
import { StepProgram } from '../framework/program.js';
import { thresholdsOf } from '../framework/settings.js';
import type { ClaimContext, ExperimentDefinition, Parameters, Variant } from '../framework/types.js';

/** The three ways of setting the threshold (each with M_TOP_PAD 0). */
const MECHANISMS = ['mallopt+pad', 'env+pad', 'tunable+pad'];
/** The settings free()'s trim depends on; the run's own environment must leave them as each variant sets them. */
const TRIM_SETTINGS = ['trim_threshold', 'top_pad', 'mmap_threshold', 'mmap_max'] as const;
const asDesigned = (...variants: string[]) => designedSettings([...TRIM_SETTINGS], variants);

interface Settings {
  /** mallopt(M_TRIM_THRESHOLD, threshold) in the program. */
  threshold?: boolean;
  /** mallopt(M_TOP_PAD, 0) in the program. */
  pad?: boolean;
  /** First malloc(raise) + free: an mmapped chunk whose free raises the dynamic thresholds. */
  raise?: boolean;
}

function build(parameters: Parameters, settings: Settings = {}): StepProgram {
  const { size, threshold, raise } = parameters as { size: number; threshold: number; raise: number };
  const program = new StepProgram();
  program.step('start', (s) => {
    // The mmapped free comes first so that mallopt, which freezes the thresholds, runs after the raise.
    if (settings.raise) s.malloc('mmapped', raise).fill('mmapped', 1).free('mmapped');
    if (settings.threshold) s.mallopt(MALLOPT_PARAMS.M_TRIM_THRESHOLD, threshold);
    if (settings.pad) s.mallopt(MALLOPT_PARAMS.M_TOP_PAD, 0);
  });
  const block = settings.raise ? raise / 2 : size;
  program.step('malloc + memset', (s) => s.malloc('block', block).fill('block', 1));
  program.step('free', (s) => s.free('block'));
  return program;
}

export const trimThreshold: ExperimentDefinition = {
  id: 'trim-threshold',
  title: 'M_TRIM_THRESHOLD: when free() gives the top of the heap back with brk()',
  seeds: ['003'],
  description:
    "Seed 003's M_TRIM_THRESHOLD answer: malloc(size) + memset + free with the default 128 KiB threshold and a small one set by mallopt, MALLOC_TRIM_THRESHOLD_ and GLIBC_TUNABLES, and with M_TOP_PAD lowered too.",
  parameters: [
    { name: 'size', description: 'bytes of the block (below the 128 KiB mmap threshold)', default: 100 * 1024 },
    { name: 'threshold', description: 'the smaller M_TRIM_THRESHOLD', default: 4096 },
    {
      name: 'raise',
      description: 'bytes of the mmapped block whose free raises the dynamic thresholds',
      default: 1024 * 1024,
    },
  ],
  variants: (parameters): Variant[] => {
    const threshold = String(parameters['threshold']);
    return [
      {
        name: 'default',
        description: 'default M_TRIM_THRESHOLD (128 KiB) and M_TOP_PAD (128 KiB)',
        program: build(parameters),
      },
      {
        name: 'mallopt',
        description: 'mallopt(M_TRIM_THRESHOLD, threshold)',
        program: build(parameters, { threshold: true }),
      },
      {
        name: 'top-pad',
        description: 'mallopt(M_TOP_PAD, 0), default threshold',
        program: build(parameters, { pad: true }),
      },
      {
        name: 'mallopt+pad',
        description: 'mallopt(M_TRIM_THRESHOLD, threshold), mallopt(M_TOP_PAD, 0)',
        program: build(parameters, { threshold: true, pad: true }),
      },
      {
        name: 'env+pad',
        description: 'MALLOC_TRIM_THRESHOLD_=threshold MALLOC_TOP_PAD_=0',
        program: build(parameters),
        env: { MALLOC_TRIM_THRESHOLD_: threshold, MALLOC_TOP_PAD_: '0' },
      },
      {
        name: 'tunable+pad',
        description: 'GLIBC_TUNABLES=glibc.malloc.trim_threshold=threshold:glibc.malloc.top_pad=0',
        program: build(parameters),
        env: { GLIBC_TUNABLES: `glibc.malloc.trim_threshold=${threshold}:glibc.malloc.top_pad=0` },
      },
      {
        name: 'dynamic',
        description: 'free of an mmapped raise-byte block first (dynamic thresholds raised), then a raise/2 block',
        program: build(parameters, { raise: true }),
      },
      {
        name: 'dynamic+mallopt',
        description: 'as dynamic, then mallopt(M_TRIM_THRESHOLD, threshold) before the raise/2 block',
        program: build(parameters, { raise: true, threshold: true }),
      },
    ];
  },
  claims: [
    {
      id: 'threshold-direction',
      claim:
        'M_TRIM_THRESHOLD indicates the minimum amount of free memory allowed at the top of the data segment. If the amount falls below this threshold, glibc invokes brk() to give back memory to the kernel.',
      requires: [asDesigned('mallopt+pad', 'top-pad')],
      judge: (c) => {
        const threshold = c.parameters['threshold']!;
        const small = freed(c, 'mallopt+pad');
        const byDefault = freed(c, 'top-pad');
        const staticDefault = thresholdsOf(c, 'top-pad').trim;
        const trimmedAbove = small.breakFell >= PAGE && small.topBefore >= threshold;
        const keptBelow = byDefault.breakFell === 0 && byDefault.topBefore < staticDefault;
        if (small.breakFell === 0 && byDefault.breakFell === 0) {
          return {
            verdict: 'inconclusive',
            evidence: `no free() moved the break (top chunks ${bytes(small.topBefore)}, ${bytes(byDefault.topBefore)})`,
          };
        }
        return verdict(
          // The seed's reading needs a trim only below the threshold: a trim above it, or a top kept below it, refutes it.
          !trimmedAbove && !keptBelow,
          `with M_TOP_PAD 0 and M_TRIM_THRESHOLD ${bytes(threshold)}, free() left a ${bytes(small.topBefore)} top chunk, above the threshold, and brk() gave back ${bytes(small.breakFell)}; ` +
            `with the default threshold the ${bytes(byDefault.topBefore)} top chunk ${byDefault.breakFell === 0 ? 'stayed' : `lost ${bytes(byDefault.breakFell)}`}` +
            (keptBelow
              ? `, below ${bytes(staticDefault)}. `
              : byDefault.breakFell === 0
                ? ` although it is above ${bytes(staticDefault)}: no setting fixed the threshold, so the one in force had been raised by glibc's dynamic rule, which sets M_TRIM_THRESHOLD ` +
                  "to twice an mmap'd chunk freed before the program's first step. "
                : '. ') +
            'The threshold does decide, but the other way round: free() calls brk() when the free memory at the top reaches M_TRIM_THRESHOLD, and keeps it while it is below (the seed has the direction reversed)',
        );
      },
    },
    {
      id: 'default-keeps',
      claim: 'With the default M_TRIM_THRESHOLD (128K) the freed block is not given back to the kernel.',
      requires: [asDesigned('default')],
      judge: (c) => {
        const size = c.parameters['size']!;
        const result = freed(c, 'default');
        const released = -delta(c, 'default', 'malloc + memset', 'free', 'RssAnon');
        const thresholds = thresholdsOf(c, 'default');
        const beyondPad = trimmable(result.topBefore, thresholds.topPad);
        return verdict(
          result.breakFell === 0 && released < size / 2,
          `free() moved the break ${signed(-result.breakFell)} and RssAnon ${signed(-released)}; ` +
            (result.grew > 0
              ? `the block came from the top of the heap (break ${signed(result.grew)}), and its free left a ${bytes(result.topBefore)} top chunk` +
                (result.topBefore < thresholds.trim
                  ? `, below M_TRIM_THRESHOLD (${bytes(thresholds.trim)})`
                  : beyondPad === 0
                    ? `: past M_TRIM_THRESHOLD (${bytes(thresholds.trim)}), yet holding less than a page beyond M_TOP_PAD (${bytes(thresholds.topPad)}), which a trim keeps, so nothing went`
                    : `, ${bytes(beyondPad)} beyond M_TOP_PAD`)
              : `the block came from free space inside the heap (the break did not move), so its free merged with no top chunk; the top stayed ${bytes(result.topBefore)}`),
        );
      },
    },
    {
      id: 'smaller-saves-space',
      claim: 'The default value of M_TRIM_THRESHOLD is 128K; setting a smaller value might save space.',
      requires: [asDesigned('default', 'mallopt', 'mallopt+pad')],
      judge: (c) => {
        const threshold = c.parameters['threshold']!;
        const byDefault = freed(c, 'default');
        const small = freed(c, 'mallopt');
        const withPad = freed(c, 'mallopt+pad');
        const saved = small.breakFell - byDefault.breakFell;
        return verdict(
          saved >= PAGE,
          `mallopt(M_TRIM_THRESHOLD, ${threshold}) alone: free() gave back ${bytes(small.breakFell)} against ${bytes(byDefault.breakFell)} with the default (top chunk ${bytes(small.topBefore)}). ` +
            (saved >= PAGE
              ? 'The smaller threshold trimmed a top the default kept.'
              : `free() trims only down to M_TOP_PAD (${bytes(thresholdsOf(c, 'mallopt').topPad)}), so a top chunk that holds less than a page more gives nothing back whatever the threshold, and a larger one already passes the default ${bytes(thresholdsOf(c, 'default').trim)}: ` +
                `with the static default a smaller threshold alone saves nothing. Lowering M_TOP_PAD too does (${bytes(withPad.breakFell)} back), as does a smaller threshold where the dynamic threshold had raised the default (see smaller-saves-after-raise)`),
        );
      },
    },
    {
      id: 'smaller-saves-after-raise',
      claim:
        'Setting a smaller M_TRIM_THRESHOLD saves space once the dynamic threshold has raised the default (freeing an mmapped chunk sets it to twice the chunk size).',
      requires: [asDesigned('dynamic', 'dynamic+mallopt')],
      judge: (c) => {
        const block = c.parameters['raise']! / 2;
        const raised = freed(c, 'dynamic');
        const small = freed(c, 'dynamic+mallopt');
        const saved = small.breakFell - raised.breakFell;
        const rule = afterMmappedFree(thresholdsOf(c, 'dynamic'), mmappedSize(c.parameters['raise']!));
        return verdict(
          saved >= block - PAGE,
          `after free() of a ${bytes(c.parameters['raise']!)} mmapped block, a ${bytes(block)} block went on the heap (break ${signed(raised.grew)}); ` +
            `its free() left a ${bytes(raised.topBefore)} top chunk, kept (break ${signed(-raised.breakFell)}) below the ${bytes(rule.trim)} the dynamic rule sets M_TRIM_THRESHOLD to after that free, ` +
            `while mallopt(M_TRIM_THRESHOLD, ${c.parameters['threshold']}) made free() give back ${bytes(small.breakFell)} (RssAnon ${signed(delta(c, 'dynamic+mallopt', 'malloc + memset', 'free', 'RssAnon'))}). ` +
            'Setting the threshold in any way also turns the dynamic thresholds off',
        );
      },
    },
    {
      id: 'mechanisms-agree',
      claim:
        'The same behavior could be achieved by setting the trim threshold in the environment variable MALLOC_TRIM_THRESHOLD_ (or GLIBC_TUNABLES), with no source changes.',
      requires: [asDesigned(...MECHANISMS)],
      judge: (c) => {
        const results = MECHANISMS.map((variant) => ({ variant, ...freed(c, variant) }));
        // With M_TOP_PAD 0, a trim leaves less than a page (plus the smallest chunk) on top.
        const trimmedToPage = (result: Freed) => result.breakFell >= PAGE && result.topAfter < PAGE + MINSIZE;
        return verdict(
          results.every(trimmedToPage),
          results
            .map(
              (result) =>
                `${result.variant}: break ${signed(-result.breakFell)}, top chunk left ${bytes(result.topAfter)}`,
            )
            .join('; ') + ' — each setting trimmed the top to under a page at free()',
        );
      },
    },
    {
      id: 'arena-retained',
      claim:
        'Even though the memory allocated by malloc does return to the system, the remaining portion of the actual chunk of memory (the arena) initially requested via brk() tends to be retained.',
      requires: [asDesigned('dynamic+mallopt', 'mallopt+pad')],
      judge: (c) => {
        const block = c.parameters['raise']! / 2;
        const result = freed(c, 'dynamic+mallopt');
        const padless = freed(c, 'mallopt+pad');
        const arena = at(c, 'dynamic+mallopt', 'free').mallinfo.arena;
        const pad = thresholdsOf(c, 'dynamic+mallopt').topPad;
        return verdict(
          result.breakFell >= block - PAGE && result.topAfter >= pad,
          `with a small M_TRIM_THRESHOLD, free() gave the ${bytes(block)} block back (break ${signed(-result.breakFell)}) but kept a ${bytes(result.topAfter)} top chunk (heap ${bytes(arena)}): ` +
            `free() trims with M_TOP_PAD (${bytes(pad)}) as the pad to keep. With M_TOP_PAD 0 the top left is ${bytes(padless.topAfter)}`,
        );
      },
    },
  ],
};

/** What free() of the block did in a variant. */
interface Freed {
  /** Break growth when the block was allocated. */
  grew: number;
  /** How far free() lowered the break. */
  breakFell: number;
  /** The top chunk after free(). */
  topAfter: number;
  /** The top chunk after the free merged, before any trim (topAfter + what went). */
  topBefore: number;
}

function freed(c: ClaimContext, variant: string): Freed {
  const breakFell = -delta(c, variant, 'malloc + memset', 'free', 'brk');
  const topAfter = at(c, variant, 'free').mallinfo.keepcost;
  return {
    grew: delta(c, variant, 'start', 'malloc + memset', 'brk'),
    breakFell,
    topAfter,
    topBefore: topAfter + breakFell,
  };
}
