/**
 * Seed 004's malloc debugging: mtrace()/muntrace() writing a log to the file
 * MALLOC_TRACE names, turned here into a leak report; mcheck()/mprobe() checking
 * blocks; and the debugging malloc costing memory and time. Since glibc 2.34 all of
 * it lives in libc_malloc_debug.so, which must be preloaded: libc.so.6 keeps stubs.
 *
 * Variants, each a child process:
 * - `debug`: libc_malloc_debug.so preloaded, MALLOC_TRACE pointing at a captured
 *   file and MALLOC_CHECK_=3: mtrace(), a block freed, a block never freed, a block
 *   realloc'd and freed, muntrace(); then N small blocks malloc'd and freed (timed on
 *   the thread's CPU clock); then malloc(20), a NUL written just past it, free();
 * - `mcheck`: preloaded, MALLOC_TRACE unset: mcheck(NULL) before any malloc, the
 *   traced steps, then malloc(20), a read and a write of the byte after it, each
 *   followed by mprobe();
 * - `plain`: nothing preloaded, with the same MALLOC_TRACE and MALLOC_CHECK_=3
 *   (libc.so.6 ignores both): mcheck(NULL), then everything `debug` does.
 */
import { CHUNK_HEADER, chunkSize, SIZE_SZ } from '../../glibc/model.js';
import { parseMtraceLog, type MtraceBlock } from '../../glibc/mtrace-log.js';
import { MCHECK_GUARD_BYTE, MCHECK_STATUS, mcheckStatusName } from '../../glibc/process-constants.js';
import { formatAddress } from '../../infra/units.js';
import { judgeAbort } from '../framework/aborts.js';
import { mallocDebugLibrary } from '../framework/hosts.js';
import {
  at,
  bytes,
  cpuOf,
  MissingMeasurement,
  ms,
  ops,
  run,
  signed,
  succeeded,
  verdict,
} from '../framework/observe.js';
import { StepProgram } from '../framework/program.js';
import type { ClaimContext, ExperimentDefinition, Judgement, Parameters, Variant } from '../framework/types.js';

/** The request overflowed by one byte: malloc(20) sits in a 32-byte chunk with 4 bytes to spare. */
const PROBED = 20;
/** What the overflow writes: the NUL of a 20-character string copied into malloc(20). */
const OVERFLOW_BYTE = 0;
const BUFFER = 4096;
const CACHE = 3000;
const TABLE = 100;
const TABLE_GROWN = 5000;

export const STEPS = {
  mcheck: 'mcheck(NULL)',
  mtrace: 'mtrace()',
  buffer: `malloc(buffer, ${BUFFER}), free it`,
  cache: `malloc(cache, ${CACHE}), never freed`,
  table: `malloc(table, ${TABLE}), realloc to ${TABLE_GROWN}, free it`,
  muntrace: 'muntrace()',
  probe: `malloc(${PROBED})`,
  read: `read the byte after it, mprobe`,
  write: `write a NUL just after it`,
  mprobe: 'mprobe',
  free: 'free it',
  allocate: (count: number, size: number) => `malloc ${count} × ${size} B`,
  release: (count: number) => `free the ${count}`,
} as const;

function traced(program: StepProgram): StepProgram {
  return program
    .step(STEPS.mtrace, (s) => s.mtrace())
    .step(STEPS.buffer, (s) => s.malloc('buffer', BUFFER).fill('buffer', 1).free('buffer'))
    .step(STEPS.cache, (s) => s.malloc('cache', CACHE).fill('cache', 1))
    .step(STEPS.table, (s) => s.malloc('table', TABLE).realloc('table', TABLE_GROWN).free('table'))
    .step(STEPS.muntrace, (s) => s.muntrace());
}

function overflow(program: StepProgram): StepProgram {
  return program
    .step(STEPS.probe, (s) => s.malloc('probe', PROBED).fill('probe', 0x41))
    .step(STEPS.write, (s) => s.unsafeWrite('probe', PROBED, 1, OVERFLOW_BYTE))
    .step(STEPS.free, (s) => s.free('probe'));
}

function mcheckProgram(): StepProgram {
  return traced(new StepProgram({ unsafe: true }).step(STEPS.mcheck, (s) => s.mcheck()))
    .step(STEPS.probe, (s) => s.malloc('probe', PROBED).fill('probe', 0x41))
    .step(STEPS.read, (s) => s.unsafeRead('probe', PROBED).mprobe('probe'))
    .step(STEPS.write, (s) => s.unsafeWrite('probe', PROBED, 1, OVERFLOW_BYTE))
    .step(STEPS.mprobe, (s) => s.mprobe('probe'));
}

/** The traced steps, the timed workload and the overflow; `plain` calls mcheck(NULL) first. */
function workProgram(parameters: Parameters, withMcheck: boolean): StepProgram {
  const { count, size } = parameters as { count: number; size: number };
  const program = new StepProgram({ unsafe: true });
  if (withMcheck) program.step(STEPS.mcheck, (s) => s.mcheck());
  return overflow(
    traced(program)
      .step(STEPS.allocate(count, size), (s) =>
        s
          .clock()
          .batchAlloc('blocks', count, [{ size, fill: 1 }])
          .clock(),
      )
      .step(STEPS.release(count), (s) => s.clock().batchFree('blocks').clock()),
  );
}

/** The debugging malloc's environment, or none when it is not installed (its claims then say so). */
function preload(): Record<string, string> {
  const library = mallocDebugLibrary();
  return library.path === undefined ? {} : { LD_PRELOAD: library.path };
}

function missingLibrary(): void {
  const library = mallocDebugLibrary();
  if (library.missing !== undefined) throw new MissingMeasurement(library.missing);
}

/** The mtrace log a variant captured; null when the process never created it. */
function traceLog(c: ClaimContext, variant: string): string | null {
  const captured = run(c, variant).captured['MALLOC_TRACE'];
  if (captured === undefined) throw new MissingMeasurement(`${variant} captured no MALLOC_TRACE file`);
  return captured;
}

/** Which step of the program allocated an address (malloc, realloc, calloc ops). */
function allocatingStep(c: ClaimContext, variant: string, address: bigint): string | undefined {
  return [...run(c, variant).steps]
    .reverse()
    .find((step) =>
      step.ops.some(
        (record) => ['malloc', 'realloc', 'calloc'].includes(record.op) && BigInt(record.value) === address,
      ),
    )?.label;
}

/** malloc-check's canary for the chunk of a block (glibc 2.36 malloc-check.c magicbyte): never 1. */
export function checkCanary(block: number): number {
  const chunk = BigInt(block) - BigInt(CHUNK_HEADER);
  const magic = Number(((chunk >> 3n) ^ (chunk >> 11n)) & 0xffn);
  return magic === 1 ? 2 : magic;
}

const ratio = (value: number) => `${value.toFixed(2)}×`;

export const mallocDebug: ExperimentDefinition = {
  id: 'malloc-debug',
  title: "glibc's malloc debugging: mtrace's leak report, mcheck/mprobe, MALLOC_CHECK_, and what they cost",
  seeds: ['004', '001'],
  description:
    'mtrace() with MALLOC_TRACE (its log parsed into a leak report that names the leaking step), mcheck()/mprobe() around a read and a one-byte write past a block, ' +
    'MALLOC_CHECK_=3 against the same overflow, all with and without libc_malloc_debug.so preloaded, and N small mallocs and frees timed and measured with and without it.',
  parameters: [
    { name: 'count', description: 'blocks malloc’d and freed for the cost comparison', default: 200_000 },
    { name: 'size', description: 'bytes of each of those blocks', default: 24 },
  ],
  variants: (parameters): Variant[] => {
    const debug = preload();
    return [
      {
        name: 'debug',
        description:
          'debugging malloc preloaded, MALLOC_TRACE set, MALLOC_CHECK_=3: mtrace() around three blocks, the timed workload, a one-byte overflow and free()',
        program: workProgram(parameters, false),
        env: { ...debug, MALLOC_CHECK_: '3' },
        capture: ['MALLOC_TRACE'],
      },
      {
        name: 'mcheck',
        description:
          'debugging malloc preloaded, MALLOC_TRACE unset: mcheck(NULL), the traced steps, a read and a write past malloc(20) with mprobe',
        program: mcheckProgram(),
        env: debug,
      },
      {
        name: 'plain',
        description: 'nothing preloaded, MALLOC_TRACE and MALLOC_CHECK_=3 set: mcheck(NULL), then what debug does',
        program: workProgram(parameters, true),
        env: { MALLOC_CHECK_: '3' },
        capture: ['MALLOC_TRACE'],
      },
    ];
  },
  allocators: ['glibc'],
  claims: [
    {
      id: 'mtrace-needs-env',
      claim: 'Mtrace() and muntrace() … MALLOC_TRACE environment var should also be set',
      judge: (c) => {
        missingLibrary();
        const log = traceLog(c, 'debug');
        const parsed = parseMtraceLog(log ?? '');
        const withUnset =
          at(c, 'mcheck', STEPS.mtrace).mallinfo.uordblks - at(c, 'mcheck', STEPS.mcheck).mallinfo.uordblks;
        return verdict(
          parsed.started && parsed.events.length > 0 && withUnset === 0,
          `with MALLOC_TRACE set, mtrace() wrote a log of ${parsed.events.length} events${parsed.ended ? ' closed by muntrace()' : ''}; ` +
            `with it unset, mtrace() changed the bytes in use by ${signed(withUnset)}: it opened no log file (and traced nothing)`,
        );
      },
    },
    {
      id: 'mtrace-leak-report',
      claim:
        "Writes log output to a file and runs scripts to interpret these logs: any unfree'd memory will be reported as a memory leak.",
      judge: (c) => {
        missingLibrary();
        const log = traceLog(c, 'debug');
        if (log === null) return { verdict: 'refuted', evidence: 'mtrace() wrote no log at all' };
        const parsed = parseMtraceLog(log);
        const cache = succeeded(c, 'debug', STEPS.cache, 'malloc').value;
        const named = (block: MtraceBlock) => {
          const step = allocatingStep(c, 'debug', block.address);
          return `${formatAddress(block.address)} (${bytes(block.size)})${step === undefined ? '' : ` from "${step}"`}`;
        };
        const ours = parsed.leaks.filter((block) => allocatingStep(c, 'debug', block.address) !== undefined);
        const others = parsed.leaks.length - ours.length;
        const found = ours.some((block) => Number(block.address) === cache && block.size === CACHE);
        return verdict(
          found && ours.length === 1,
          `the log (${parsed.events.length} events) read as glibc's mtrace script reads it: ${ours.length} of the program's blocks never freed — ${ours.map(named).join(', ') || 'none'}` +
            (others > 0 ? `; ${others} more unfreed blocks came from other code in the process while tracing` : '') +
            `; the freed buffer and the realloc'd-then-freed table are not reported`,
        );
      },
    },
    {
      id: 'debug-needs-preload',
      claim:
        '(glibc ≥ 2.34) mtrace(), mcheck() and MALLOC_CHECK_ act only when libc_malloc_debug.so is preloaded: libc.so.6 keeps stubs.',
      judge: (c) => {
        missingLibrary();
        const log = traceLog(c, 'plain');
        const mcheck = succeeded(c, 'plain', STEPS.mcheck, 'mcheck').value;
        const plainChild = run(c, 'plain');
        const survived = plainChild.completed && plainChild.signal === null;
        const debugLog = traceLog(c, 'debug') !== null;
        const aborted = run(c, 'debug').signal === 'SIGABRT';
        // A canary equal to the byte written hides the overflow from MALLOC_CHECK_ (check-catches-overflow).
        const hidden = checkCanary(succeeded(c, 'debug', STEPS.probe, 'malloc').value) === OVERFLOW_BYTE;
        const withPreload = debugLog && (aborted || hidden);
        return verdict(
          log === null && mcheck === -1 && survived && withPreload,
          `without the preload: mtrace() ${log === null ? 'created no log file' : 'wrote a log'}, mcheck(NULL) returned ${mcheck}, ` +
            `and MALLOC_CHECK_=3 let a one-byte overflow and its free() pass (${survived ? 'the child ran to its end' : `the child ended with ${plainChild.signal}`}); ` +
            `with it preloaded, mtrace() ${debugLog ? 'wrote its log' : 'wrote no log'} and the same overflow ` +
            (aborted
              ? 'aborted the child'
              : hidden
                ? "went unnoticed only because this block's canary happened to be the very byte written"
                : 'did not abort the child'),
        );
      },
    },
    {
      id: 'mcheck-catches-write',
      claim:
        'Mcheck() and mprobe() … Probes allocated memory regions; checks if your code is trying to … write out of bounds.',
      judge: (c): Judgement => {
        missingLibrary();
        const enabled = succeeded(c, 'mcheck', STEPS.mcheck, 'mcheck').value;
        if (enabled !== 0) {
          const probe = ops(c, 'mcheck', STEPS.mprobe, 'mprobe')[0];
          return {
            verdict: 'inconclusive',
            evidence:
              `mcheck(NULL) returned ${enabled}: malloc had already run in this process before the program's first step, and mcheck must be called before the first malloc; ` +
              `the write past the block went unchecked (mprobe: ${probe === undefined ? 'not reached' : mcheckStatusName(probe.value)})`,
          };
        }
        return judgeAbort(c, 'mcheck', STEPS.mprobe, (aborted) =>
          aborted
            ? `mcheck(NULL) returned 0 before the first malloc; the NUL written one byte past malloc(${PROBED}) replaced mcheck's guard byte, and mprobe() found it (MCHECK_TAIL) and aborted the process.`
            : 'mprobe() did not notice the write.',
        );
      },
    },
    {
      id: 'mcheck-misses-read',
      claim: 'Mcheck() and mprobe() … checks if your code is trying to read … out of bounds.',
      judge: (c): Judgement => {
        missingLibrary();
        const enabled = succeeded(c, 'mcheck', STEPS.mcheck, 'mcheck').value;
        const read = succeeded(c, 'mcheck', STEPS.read, 'unsafe_read').value;
        const probe = succeeded(c, 'mcheck', STEPS.read, 'mprobe').value;
        if (enabled !== 0) {
          return {
            verdict: 'inconclusive',
            evidence: `mcheck(NULL) returned ${enabled} (malloc had already run), so mprobe() checked nothing (${mcheckStatusName(probe)})`,
          };
        }
        return verdict(
          probe !== MCHECK_STATUS.MCHECK_OK,
          `reading the byte after malloc(${PROBED}) returned 0x${read.toString(16)}${read === MCHECK_GUARD_BYTE ? " — mcheck's own guard byte —" : ''} and mprobe() then said ${mcheckStatusName(probe)}: ` +
            'a read changes nothing mcheck can see; it finds writes, by their damage to its guard bytes',
        );
      },
    },
    {
      id: 'check-catches-overflow',
      claim:
        "Writing just past a freshly allocated block is an error usually hard to find: plain malloc lets a one-byte overflow pass, glibc's debugging malloc (MALLOC_CHECK_=3) catches it at free().",
      judge: (c): Judgement => {
        missingLibrary();
        const plain = run(c, 'plain');
        const plainPassed = plain.completed && plain.signal === null;
        const block = succeeded(c, 'debug', STEPS.probe, 'malloc').value;
        const canary = checkCanary(block);
        const usable = chunkSize(PROBED) - SIZE_SZ;
        const result = judgeAbort(c, 'debug', STEPS.free, (aborted) =>
          aborted
            ? `MALLOC_CHECK_=3 puts a canary byte right after each request (0x${canary.toString(16)} for this block); the NUL replaced it and free() found it gone.`
            : 'the debugging malloc did not notice it either.',
        );
        const plainText = plainPassed
          ? `Plain glibc: the NUL written one byte past malloc(${PROBED}) landed in the ${usable - PROBED} spare bytes of its ${usable}-byte usable chunk, and free() accepted the block. With the debugging malloc: `
          : `Plain glibc did not let it pass (${plain.signal ?? `exit ${plain.exitCode}`}). With the debugging malloc: `;
        if (canary === OVERFLOW_BYTE && result.verdict !== 'confirmed') {
          return {
            verdict: 'inconclusive',
            evidence: `${plainText}${result.evidence} This block's canary happened to be 0x${canary.toString(16)}, the very byte the overflow wrote.`,
          };
        }
        return {
          verdict: plainPassed && result.verdict === 'confirmed' ? 'confirmed' : 'refuted',
          evidence: plainText + result.evidence,
        };
      },
    },
    {
      id: 'debug-costs-memory',
      claim:
        'Only use the malloc() package with debugging features in dev environment; turn them off in production … This is because debugging malloc package takes more memory',
      judge: (c) => {
        missingLibrary();
        const { count, size } = c.parameters as { count: number; size: number };
        const label = STEPS.allocate(count, size);
        const grown = (variant: string) =>
          at(c, variant, label).mallinfo.uordblks - at(c, variant, STEPS.muntrace).mallinfo.uordblks;
        const plain = grown('plain');
        const check = grown('debug');
        const perBlock = (bytesInUse: number) => bytesInUse / count;
        const oneMore = chunkSize(size + 1) / chunkSize(size);
        return verdict(
          check > plain,
          `${count} × malloc(${size}): ${bytes(check)} in use with the debugging malloc, ${bytes(plain)} without — ${ratio(check / plain)} ` +
            `(${perBlock(check).toFixed(1)} against ${perBlock(plain).toFixed(1)} bytes a block)` +
            (Math.abs(check / plain - oneMore) < 0.01
              ? `, what one more byte per request costs: a ${chunkSize(size + 1)}-byte chunk instead of ${chunkSize(size)}`
              : ''),
        );
      },
    },
    {
      id: 'debug-costs-time',
      claim: '… debugging malloc package takes more memory, slower run-time etc.',
      judge: (c) => {
        missingLibrary();
        const { count, size } = c.parameters as { count: number; size: number };
        const cost = (variant: string) =>
          cpuOf(c, variant, STEPS.allocate(count, size)) + cpuOf(c, variant, STEPS.release(count));
        const plain = cost('plain');
        const check = cost('debug');
        return verdict(
          check > plain,
          `${count} mallocs and frees of ${size} bytes took ${ms(check)} of CPU with the debugging malloc (MALLOC_CHECK_=3), ${ms(plain)} without: ${ratio(check / plain)} ` +
            '(each on the thread CPU clock, in its own process of this run)',
        );
      },
    },
  ],
};
