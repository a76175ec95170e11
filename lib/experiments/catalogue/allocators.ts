/**
 * Seed 003's advice: "switch to an alternative malloc library: tcmalloc or
 * jemalloc — both of them have aggressive rules of returning freed memory back
 * to the system (with madvise MADV_DONTNEED or even MADV_FREE)"; mimalloc too.
 *
 * The same program as free-not-returned's seed variant (1024 × (10 KiB + 1 B),
 * memset, all freed), then watched while the process idles, once per allocator:
 * each variant preloads its library (LD_PRELOAD), so one run compares them all
 * on the same host. The library defaults are what the claims judge; a second
 * variant per library sets its documented knob for giving memory back sooner.
 *
 * Judged on RssAnon only: mallinfo2 and the break are glibc's and say nothing
 * about another allocator. RssAnon still counts pages an allocator released
 * with MADV_FREE until the kernel needs the memory.
 */
import { allocatorLibrary, type AllocatorLibraries, type AllocatorName } from '../framework/hosts.js';
import { at, bytes, judged } from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters, Variant } from '../framework/types.js';

type Alternative = Exclude<AllocatorName, 'glibc'>;
const ALTERNATIVES: Alternative[] = ['jemalloc', 'tcmalloc', 'mimalloc'];

/** What each library does by default (Debian 12: jemalloc 5.3, gperftools 2.10, mimalloc 2.0), and why that keeps memory in an idle process. */
const DEFAULTS: Record<Alternative, string> = {
  jemalloc:
    'dirty_decay_ms 10000, muzzy_decay_ms 0, background_thread false: freed pages wait out a 10 s decay, and without a background thread ' +
    'the purge runs only inside later malloc/free calls, which an idle process does not make',
  tcmalloc:
    'TCMALLOC_RELEASE_RATE 1, aggressive decommit off: free spans go back to the OS a few at a time as more pages are freed, ' +
    'and freed objects first wait in the thread and central caches',
  mimalloc:
    'decommit_delay 25 ms, allow_decommit on: empty pages are decommitted 25 ms after they are freed, but only by a later allocator call ' +
    'that looks at them, which an idle process does not make',
};

/** The documented knob that makes each one give memory back sooner. */
export const TUNING: Record<Alternative, Record<string, string>> = {
  jemalloc: { MALLOC_CONF: 'background_thread:true,dirty_decay_ms:1000' },
  tcmalloc: { TCMALLOC_AGGRESSIVE_DECOMMIT: 'true' },
  // mimalloc 2.0 names it decommit_delay; 2.1 renamed it purge_delay.
  mimalloc: { MIMALLOC_DECOMMIT_DELAY: '0', MIMALLOC_PURGE_DELAY: '0' },
};

/** Milliseconds after the frees at which the process is looked at (the last one is the watch parameter). */
export function timePoints(watch: number): number[] {
  return [...new Set([100, 1000, watch].filter((ms) => ms <= watch))];
}

export const afterLabel = (ms: number) => (ms < 1000 ? `${ms} ms after free` : `${ms / 1000} s after free`);

function build(parameters: Parameters): StepProgram {
  const { size, page, watch } = parameters as Record<string, number>;
  const program = new StepProgram();
  program.step('before malloc');
  program.step('malloc OK', (s) =>
    s.batchAlloc('ab', size!, [
      { size: page!, fill: 1 },
      { size: 1, fill: 1 },
    ]),
  );
  program.step('free OK', (s) => s.batchFree('ab'));
  let slept = 0;
  for (const ms of timePoints(watch!)) {
    const pause = ms - slept;
    program.step(afterLabel(ms), (s) => s.sleep(pause));
    slept = ms;
  }
  return program;
}

const envText = (env: Record<string, string>) =>
  Object.entries(env)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');

/** RssAnon held at each time point (against before malloc), as "free OK 10.1 MiB, 100 ms 10.1 MiB, …". */
function timeline(c: ClaimContext, variant: string): { text: string; last: number } {
  const base = at(c, variant, 'before malloc').status.RssAnon;
  const labels = ['free OK', ...timePoints(c.parameters['watch']!).map(afterLabel)];
  const held = labels.map((label) => at(c, variant, label).status.RssAnon - base);
  return {
    text: labels.map((label, i) => `${label.replace(' after free', '')} ${bytes(held[i]!)}`).join(', '),
    last: held.at(-1)!,
  };
}

function judgeAlternative(c: ClaimContext, allocator: Alternative): Judgement {
  const missing = allocatorLibrary(allocator, c.libraries).missing;
  if (missing !== undefined) return { verdict: 'inconclusive', evidence: missing };
  const { size, page, watch } = c.parameters as Record<string, number>;
  const workload = size! * (page! + 1);
  const glibc = timeline(c, 'glibc');
  const other = timeline(c, allocator);
  const lower = glibc.last - other.last;
  const holds = lower >= 0.5 * workload;
  const last = afterLabel(watch!).replace(' after free', '');
  let tuned = '';
  if (c.runs[`${allocator}-tuned`] !== undefined) {
    const t = timeline(c, `${allocator}-tuned`);
    tuned = ` With ${envText(TUNING[allocator])} it held ${t.text}${glibc.last - t.last >= 0.5 * workload ? '' : ' — not much better'}.`;
  }
  return {
    verdict: holds ? 'confirmed' : 'refuted',
    evidence:
      `RssAnon held after freeing ${bytes(workload)} (against before malloc) — glibc: ${glibc.text}; ${allocator} with its defaults: ${other.text}. ` +
      `At ${last} ${allocator} held ${bytes(Math.abs(lower))} ${lower >= 0 ? 'less' : 'more'} than glibc (the bar: half the workload, ${bytes(0.5 * workload)}). ` +
      (holds
        ? `It gave the memory back on its own.`
        : `Its defaults (${DEFAULTS[allocator]}) kept the memory for the ${last} this idle process was watched.`) +
      tuned,
  };
}

export const allocators: ExperimentDefinition = {
  id: 'allocators',
  title: 'Do jemalloc, tcmalloc and mimalloc give freed memory back sooner than glibc?',
  seeds: ['003', '000'],
  description:
    "Seed 000's free-not-returned program (1024 × (10 KiB + 1 B), memset, all freed), watched for seconds while the process idles, " +
    'under glibc and under each preloaded allocator with its defaults, then with the knob each documents for giving memory back sooner.',
  parameters: [
    { name: 'size', description: 'SIZE: rounds of the loop', default: 1024 },
    { name: 'page', description: 'PAGE: bytes of each large block', default: 10240 },
    {
      name: 'watch',
      description: 'milliseconds the process is watched after the frees (looked at after 100 ms, 1 s and this)',
      default: 5000,
    },
  ],
  variants: (parameters, libraries: AllocatorLibraries = {}) => {
    const program = build(parameters);
    const variants: Variant[] = [{ name: 'glibc', description: 'glibc 2.36, no preload', program }];
    for (const allocator of ALTERNATIVES) {
      const library = allocatorLibrary(allocator, libraries);
      if (library.path === undefined) continue; // its claim says which package is missing
      variants.push({
        name: allocator,
        description: `${allocator} preloaded, its defaults`,
        program,
        env: { LD_PRELOAD: library.path },
      });
      variants.push({
        name: `${allocator}-tuned`,
        description: `${allocator} preloaded with ${envText(TUNING[allocator])}`,
        program,
        env: { LD_PRELOAD: library.path, ...TUNING[allocator] },
      });
    }
    return variants;
  },
  // The variants preload each library themselves; a run-wide LD_PRELOAD would replace glibc's baseline.
  allocators: ['glibc'],
  comparesAllocators: true,
  claims: ALTERNATIVES.map((allocator) => ({
    id: `${allocator}-returns`,
    claim:
      (allocator === 'mimalloc' ? '(The seed names tcmalloc and jemalloc; mimalloc is judged the same way.) ' : '') +
      `Switch to an alternative malloc library: ${allocator} has aggressive rules of returning freed memory back to the system ` +
      '(with madvise MADV_DONTNEED or even MADV_FREE), so after the same frees it holds less memory than glibc.',
    judge: (c: ClaimContext) => judged(() => judgeAlternative(c, allocator)),
  })),
};
