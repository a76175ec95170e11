/**
 * Seeds 002 and 004: a fresh allocation is address space only — VmSize grows,
 * VmRSS does not — until the program touches it; mincore() tells which pages
 * are resident and mlock() makes them resident. A large block (mmap'd, so its
 * pages are new to the process) is allocated, half of it written, and a second
 * block mlock'ed without being touched.
 *
 * mlock comes last: a failing op stops the run, and mlock fails (EPERM, ENOMEM)
 * where RLIMIT_MEMLOCK is smaller than the block and the process lacks
 * CAP_IPC_LOCK; only the mlock claim then goes without measurements.
 */

import { MCL } from '../../glibc/process-constants.js';
import { at, bytes, MissingMeasurement, ops, signed, verdict } from '../framework/observe.js';
import { StepProgram, statusName } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Parameters } from '../framework/types.js';

const BEFORE = 'before malloc';
const MUNLOCK = 'munlock';
const FREE = 'free';

function sizes(parameters: Parameters): { size: number; half: number; locked: number } {
  const { size, locked } = parameters as { size: number; locked: number };
  return { size, half: Math.floor(size / 2), locked };
}

const mallocLabel = (size: number) => `malloc(${bytes(size)})`;
const halfLabel = (half: number) => `write the first ${bytes(half)}`;
const mlockLabel = (locked: number) => `malloc(${bytes(locked)}) + mlock`;

function build(parameters: Parameters): StepProgram {
  const { size, half, locked } = sizes(parameters);
  return new StepProgram()
    .step(BEFORE)
    .step(mallocLabel(size), (s) => s.malloc('big', size).mincore('big'))
    .step(halfLabel(half), (s) => s.fill('big', 1, 0, half).mincore('big'))
    .step(mlockLabel(locked), (s) => s.malloc('locked', locked).mincore('locked').mlock('locked').mincore('locked'))
    .step(MUNLOCK, (s) => s.munlock('locked').mincore('locked'))
    .step(FREE, (s) => s.free('locked').free('big'));
}

export const MLOCKALL_STEPS = {
  before: 'before mlockall',
  untouched: (size: number) => `malloc(${bytes(size)}), untouched`,
  current: 'mlockall(MCL_CURRENT)',
  future: (size: number) => `mlockall(MCL_CURRENT | MCL_FUTURE), then malloc(${bytes(size)})`,
  unlocked: 'munlockall()',
} as const;

/**
 * mlockall beside mlock (seed 002): a block malloc'd and left untouched, then
 * mlockall(MCL_CURRENT); then MCL_FUTURE and a second block, resident as soon as it
 * is mapped. Locking all memory is for a child (the program is unsafe): in Node it
 * faults in every mapping the process has.
 */
function mlockallProgram(parameters: Parameters): StepProgram {
  const { locked } = sizes(parameters);
  return new StepProgram({ unsafe: true })
    .step(MLOCKALL_STEPS.before)
    .step(MLOCKALL_STEPS.untouched(locked), (s) => s.malloc('current', locked).mincore('current'))
    .step(MLOCKALL_STEPS.current, (s) => s.mlockall(MCL.MCL_CURRENT).mincore('current'))
    .step(MLOCKALL_STEPS.future(locked), (s) =>
      s
        .mlockall(MCL.MCL_CURRENT | MCL.MCL_FUTURE)
        .malloc('future', locked)
        .mincore('future'),
    )
    .step(MLOCKALL_STEPS.unlocked, (s) => s.munlockall());
}

/** mincore's count for the block: resident pages, pages the block spans. */
function mincore(c: ClaimContext, label: string, index = 0, variant = 'seed'): { resident: number; pages: number } {
  const record = ops(c, variant, label, 'mincore')[index];
  if (record === undefined || record.status !== 0) throw new MissingMeasurement(`no mincore result in "${label}"`);
  return { resident: record.value, pages: record.value2 };
}

const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)} %`;
const within = (value: number, expected: number, tolerance: number) =>
  Math.abs(value - expected) <= tolerance * expected;

export const lazyResidency: ExperimentDefinition = {
  id: 'lazy-residency',
  title: 'Physical memory arrives on first access; mincore() sees it, mlock() forces it',
  seeds: ['002', '004'],
  description:
    "malloc a 64 MiB block (mmap'd) and check VmSize, RssAnon and mincore(); write its first half; malloc a second 64 MiB block and mlock() it without touching it; munlock; free. In a second child, mlockall(MCL_CURRENT) over an untouched block, then MCL_FUTURE and a new block.",
  parameters: [
    { name: 'size', description: 'bytes of the block that is allocated, then half written', default: 64 * 1024 * 1024 },
    {
      name: 'locked',
      description: "bytes of the block that is mlock'ed without being touched",
      default: 64 * 1024 * 1024,
    },
  ],
  variants: (parameters) => [
    { name: 'seed', description: 'malloc, write half, mlock a second block', program: build(parameters) },
    {
      name: 'mlockall',
      description: 'an untouched block, mlockall(MCL_CURRENT); MCL_FUTURE and a second block; munlockall',
      program: mlockallProgram(parameters),
    },
  ],
  claims: [
    {
      id: 'not-until-access',
      claim: 'PHYSICAL MEMORY is NOT allocated UNTIL the program tries to ACCESS the newly allocated memory.',
      judge: (c) => {
        const { size, half } = sizes(c.parameters);
        const vmSize = at(c, 'seed', mallocLabel(size)).status.VmSize - at(c, 'seed', BEFORE).status.VmSize;
        const atMalloc = at(c, 'seed', mallocLabel(size)).status.RssAnon - at(c, 'seed', BEFORE).status.RssAnon;
        const atWrite = at(c, 'seed', halfLabel(half)).status.RssAnon - at(c, 'seed', mallocLabel(size)).status.RssAnon;
        // Untouched: under 1 % of the block resident (the chunk header's page). Written: the written half, within 10 %.
        const holds = vmSize >= size && atMalloc < 0.01 * size && within(atWrite, half, 0.1);
        return verdict(
          holds,
          `malloc(${bytes(size)}): VmSize ${signed(vmSize)}, RssAnon ${signed(atMalloc)}; writing the first ${bytes(half)}: RssAnon ${signed(atWrite)} ` +
            `(${percent(atWrite, half)} of what was written) — the kernel maps a page frame at the first write to each page`,
        );
      },
    },
    {
      id: 'vmsize-not-resident',
      claim:
        'The size of the virtual memory (VmSize) allocated to the process is not what is resident: only part of the total VmSize is resident in memory (VmRSS).',
      judge: (c) => {
        const { size, half } = sizes(c.parameters);
        const before = at(c, 'seed', BEFORE).status;
        const after = at(c, 'seed', halfLabel(half)).status;
        const vmSize = after.VmSize - before.VmSize;
        const vmRss = after.VmRSS - before.VmRSS;
        const holds = vmSize >= size && within(vmRss, half, 0.1);
        return verdict(
          holds,
          `with the ${bytes(size)} block half written: VmSize ${signed(vmSize)} but VmRSS ${signed(vmRss)} (RssAnon ${signed(after.RssAnon - before.RssAnon)}); ` +
            `the whole process: VmSize ${bytes(after.VmSize)}, VmRSS ${bytes(after.VmRSS)} (${percent(after.VmRSS, after.VmSize)} resident)`,
        );
      },
    },
    {
      id: 'mincore-tells',
      claim: 'To check if memory is resident or not: mincore().',
      judge: (c) => {
        const { size, half } = sizes(c.parameters);
        const fresh = mincore(c, mallocLabel(size));
        const written = mincore(c, halfLabel(half));
        const expected = (half / size) * written.pages;
        const residentBytes = ((written.resident - fresh.resident) / written.pages) * size;
        const rssAnon = at(c, 'seed', halfLabel(half)).status.RssAnon - at(c, 'seed', mallocLabel(size)).status.RssAnon;
        // mincore's count must match the write (within 10 %) and what the kernel counts in RssAnon (within 10 % of the half).
        const holds =
          fresh.resident <= 0.01 * fresh.pages &&
          within(written.resident, expected, 0.1) &&
          Math.abs(residentBytes - rssAnon) <= 0.1 * half;
        return verdict(
          holds,
          `after malloc: ${fresh.resident} of ${fresh.pages} pages resident (${percent(fresh.resident, fresh.pages)}); after writing half: ${written.resident} ` +
            `(${percent(written.resident, written.pages)}); the pages it gained make ${bytes(residentBytes)}, RssAnon grew ${signed(rssAnon)}`,
        );
      },
    },
    {
      id: 'mlock-ensures',
      claim: 'Ensuring residency: mlock().',
      judge: (c) => {
        const { locked } = sizes(c.parameters);
        const label = mlockLabel(locked);
        const call = ops(c, 'seed', label, 'mlock')[0];
        if (call === undefined) throw new MissingMeasurement(`mlock did not run in "${label}"`);
        if (call.status !== 0) {
          const name = statusName(call.status);
          return {
            verdict: 'inconclusive',
            evidence: `mlock(${bytes(locked)}) failed with ${name}: the block exceeds RLIMIT_MEMLOCK and the process lacks CAP_IPC_LOCK, so residency could not be forced`,
          };
        }
        const untouched = mincore(c, label, 0);
        const lockedPages = mincore(c, label, 1);
        const before = at(c, 'seed', halfLabel(sizes(c.parameters).half)).status;
        const after = at(c, 'seed', label).status;
        const rssAnon = after.RssAnon - before.RssAnon;
        const vmLck = after.VmLck - before.VmLck;
        let unlocked = '';
        try {
          const kept = mincore(c, MUNLOCK);
          unlocked = `; after munlock VmLck ${bytes(at(c, 'seed', MUNLOCK).status.VmLck)} and ${kept.resident} pages still resident (munlock does not evict)`;
        } catch (error) {
          if (!(error instanceof MissingMeasurement)) throw error;
        }
        const root = process.getuid?.() === 0 ? ' (run as root: CAP_IPC_LOCK lifts RLIMIT_MEMLOCK)' : '';
        const holds =
          untouched.resident <= 0.01 * untouched.pages &&
          lockedPages.resident === lockedPages.pages &&
          rssAnon >= 0.9 * locked &&
          vmLck >= locked;
        return verdict(
          holds,
          `untouched ${bytes(locked)} block: ${untouched.resident} of ${untouched.pages} pages resident; after mlock: ${lockedPages.resident} of ${lockedPages.pages}, ` +
            `RssAnon ${signed(rssAnon)}, VmLck ${signed(vmLck)}${root} — mlock faults every page in and pins it${unlocked}`,
        );
      },
    },
    {
      id: 'mlockall-ensures',
      claim: 'Ensuring residency: mlockall().',
      judge: (c) => {
        const { locked } = sizes(c.parameters);
        const child = ops(c, 'mlockall', MLOCKALL_STEPS.current, 'mlockall')[0];
        if (child === undefined) throw new MissingMeasurement(`mlockall did not run`);
        const failed = ops(c, 'mlockall', MLOCKALL_STEPS.future(locked), 'mlockall')[0];
        const failure = [child, failed].find((record) => record !== undefined && record.status !== 0);
        if (failure !== undefined) {
          return {
            verdict: 'inconclusive',
            evidence: `mlockall failed with ${statusName(failure.status)}: the process may not lock that much (RLIMIT_MEMLOCK, no CAP_IPC_LOCK), so residency could not be forced`,
          };
        }
        const untouched = mincore(c, MLOCKALL_STEPS.untouched(locked), 0, 'mlockall');
        const current = mincore(c, MLOCKALL_STEPS.current, 0, 'mlockall');
        const future = mincore(c, MLOCKALL_STEPS.future(locked), 0, 'mlockall');
        const vmLck = at(c, 'mlockall', MLOCKALL_STEPS.future(locked)).status.VmLck;
        const unlocked = at(c, 'mlockall', MLOCKALL_STEPS.unlocked).status.VmLck;
        const holds =
          untouched.resident <= 0.01 * untouched.pages &&
          current.resident === current.pages &&
          future.resident === future.pages &&
          vmLck >= 2 * locked &&
          unlocked === 0;
        return verdict(
          holds,
          `a ${bytes(locked)} block left untouched: ${untouched.resident} of ${untouched.pages} pages resident; after mlockall(MCL_CURRENT): ${current.resident} of ${current.pages}. ` +
            `With MCL_FUTURE, a second ${bytes(locked)} block was resident as malloc returned it, untouched: ${future.resident} of ${future.pages}. ` +
            `VmLck then ${bytes(vmLck)} — every mapping of the process, not only the blocks; after munlockall ${bytes(unlocked)}`,
        );
      },
    },
  ],
};
