// The bad-input matrix: every exported function and every step op, fed wrong
// types, out-of-range numbers, huge values, bad pointers, bad byte ranges and
// malformed programs. Each case is refused with its documented code, in this
// process, and the process carries on with its registry unchanged.
//
// The cases are generated from one table (MATRIX below): classes of bad values
// per kind of parameter, crossed with each function's parameters, plus the
// scenarios that need state (sbrk, sets, threads, step programs). The README's
// error-code table must list every code the matrix produces; run with
// MATRIX_MARKDOWN=path to write the matrix itself as a markdown table.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import {
  OPS,
  PROGRAM_MAGIC,
  StepProgram,
  type OpName,
  type StepBuilder,
} from '../lib/experiments/framework/program.js';
import * as lab from '../lib/index.js';
import { native } from '../lib/infra/native.js';
import * as prometheusEntry from '../lib/integrations/prometheus.js';
import * as vitestEntry from '../lib/integrations/vitest.js';
import * as probeEntry from '../lib/probe.js';

// ---------------------------------------------------------------------------
// Codes (the README's table) and fixtures.

const TYPE = 'ERR_INVALID_ARG_TYPE';
const RANGE = 'ERR_OUT_OF_RANGE';
const UNKNOWN = 'ERR_UNKNOWN_POINTER';
const FREED = 'ERR_FREED_POINTER';
const INTERIOR = 'ERR_INTERIOR_POINTER';
const BOUNDS = 'ERR_OUT_OF_BOUNDS';
const NOT_OWNED = 'ERR_NOT_OWNED';
const UNALIGNED = 'ERR_UNALIGNED';
const BAD_PROGRAM = 'ERR_BAD_PROGRAM';
const ENOMEM = { code: 'ENOMEM', errno: 12 };
const EINVAL = { code: 'EINVAL', errno: 22 };
const ENOENT = { code: 'ENOENT', errno: 2 };

const PAGE = BigInt(lab.PAGE_SIZE);
const registryBefore = lab.registryStats();

// A block glibc handed out that malloc-lab's registry does not own (a set's block).
// Taken before this file frees anything, in a size class nothing else here uses:
// a set block that reused an address the registry saw freed would be named
// "already freed", which is a different case.
const foreignSet = lab.allocBatch({ count: 1, size: 200 });
const foreign = foreignSet.address(0);
const live = lab.malloc(64); // a 64-byte heap block
const freed = lab.malloc(64);
lab.free(freed);
const mapping = lab.mmap(lab.PAGE_SIZE * 4);
const unmapped = lab.mmap(lab.PAGE_SIZE); // a mapping made and unmapped again
lab.munmap(unmapped, lab.PAGE_SIZE);
const thread = lab.startThread();
const closedThread = lab.startThread();
closedThread.close();
const releasedSet = lab.allocBatch({ count: 2, size: 8 });
releasedSet.release();
// A report to render, and directories for the agent: a safe one and one others may enter.
const selfExplained = await lab.explainProcess(0, { agent: false });
const scratchDirectory = mkdtempSync(join(tmpdir(), 'malloc-lab-matrix-'));
const agentDirectory = join(scratchDirectory, 'agent');
const looseDirectory = join(scratchDirectory, 'loose');
mkdirSync(looseDirectory, { mode: 0o755 });
chmodSync(looseDirectory, 0o755);
// A comparison to render, and a file that exists but cannot be executed.
const compared = await lab.compareAllocators({ command: ['true'], configurations: ['glibc'] });
const NOT_EXECUTABLE = new URL('../package.json', import.meta.url).pathname;

interface Expected {
  code: string;
  errno?: number;
}

/** One row of the matrix: what is called, with what, and the code it must yield. */
interface Row extends Expected {
  area: string;
  fn: string;
  input: string;
  call: () => unknown;
  /** Words the message must contain (the parameter's name, for argument errors). */
  mentions?: string[];
}

function expectation(code: string | Expected): Expected {
  return typeof code === 'string' ? { code } : code;
}

// ---------------------------------------------------------------------------
// Bad values by kind of parameter.

interface Bad extends Expected {
  input: string;
  value: unknown;
}

const bad = (input: string, value: unknown, code: string | Expected): Bad => ({ input, value, ...expectation(code) });

/** Not a number at all, or a number that is no integer. */
const NOT_AN_INTEGER: Bad[] = [
  bad('a string', '10', TYPE),
  bad('an object', { size: 10 }, TYPE),
  bad('an array', [10], TYPE),
  bad('null', null, TYPE),
  bad('a boolean', true, TYPE),
  bad('a bigint (bigint where a number belongs)', 10n, TYPE),
  bad('a symbol', Symbol('10'), TYPE),
  bad('a function', () => 10, TYPE),
  bad('NaN', NaN, RANGE),
  bad('Infinity', Infinity, RANGE),
  bad('-Infinity', -Infinity, RANGE),
  bad('a fraction (1.5)', 1.5, RANGE),
];
const MISSING: Bad[] = [bad('undefined (missing)', undefined, TYPE)];
const NEGATIVE: Bad[] = [bad('negative (-1)', -1, RANGE), bad('-2^53', -(2 ** 53), RANGE)];
/** Numbers a byte count cannot carry exactly. */
const BEYOND_EXACT: Bad[] = [
  bad('2^53', 2 ** 53, RANGE),
  bad('SIZE_MAX / 2 (2^63 as a number)', 2 ** 63, RANGE),
  bad('2^64 − 1 (2^64 as a number)', 2 ** 64 - 1, RANGE),
];
const HUGE = 2 ** 53 - 1;

/** A byte count (size, nmemb, offset, length): optional ones may be undefined. */
function sizeKind(options: { optional?: boolean; huge?: string | Expected; zero?: string | Expected } = {}): Bad[] {
  return [
    ...NOT_AN_INTEGER,
    ...(options.optional ? [] : MISSING),
    ...NEGATIVE,
    ...BEYOND_EXACT,
    ...(options.huge ? [bad('huge (2^53 − 1)', HUGE, options.huge)] : []),
    ...(options.zero ? [bad('zero', 0, options.zero)] : []),
  ];
}

/** Not a bigint, or a bigint no address can be. */
const NOT_AN_ADDRESS: Bad[] = [
  bad('a number (number where a bigint belongs)', 4096, TYPE),
  bad('a string', '0x1000', TYPE),
  bad('null', null, TYPE),
  bad('undefined (missing)', undefined, TYPE),
  bad('an object', { ptr: 4096n }, TYPE),
  bad('NaN', NaN, TYPE),
  bad('a boolean', false, TYPE),
  bad('negative (-1n)', -1n, RANGE),
  bad('2^64', 1n << 64n, RANGE),
];

/** Addresses that are not the start of a live block malloc-lab owns. */
function pointerKind(options: { mapping: string; heap?: string; freedMapping?: string }): Bad[] {
  return [
    ...NOT_AN_ADDRESS,
    bad('unknown (0x1234n)', 0x1234n, UNKNOWN),
    bad('2^64 − 1', (1n << 64n) - 1n, UNKNOWN),
    bad('freed (double free / use after free)', freed, FREED),
    bad('interior (block + 8)', live + 8n, INTERIOR),
    bad('misaligned (block + 1)', live + 1n, INTERIOR),
    bad('foreign (a glibc block malloc-lab did not return)', foreign, UNKNOWN),
    bad('the program break', lab.programBreak(), UNKNOWN),
    bad('a mapping', mapping, options.mapping),
    ...(options.heap ? [bad('a malloc block', live, options.heap)] : []),
    ...(options.freedMapping ? [bad('an unmapped mapping', unmapped, options.freedMapping)] : []),
  ];
}

/** Addresses for calls that change memory (madvise, mlock): inside memory malloc-lab owns. */
function ownedRangeKind(options: { aligned: boolean }): Bad[] {
  return [
    ...NOT_AN_ADDRESS,
    bad('unknown (page 16)', 16n * PAGE, NOT_OWNED),
    bad('freed mapping', unmapped, NOT_OWNED),
    bad('foreign (a glibc block malloc-lab did not return)', foreign - (foreign % PAGE), NOT_OWNED),
    ...(options.aligned ? [bad('misaligned (mapping + 1)', mapping + 1n, UNALIGNED)] : []),
  ];
}

/** Addresses for mincore, which only reads and may look anywhere mapped. */
const ANY_PAGE: Bad[] = [
  ...NOT_AN_ADDRESS,
  // 8 bytes into the page holding the block: never page-aligned, always mapped (a block itself may be aligned).
  bad("unaligned (inside a malloc block's page)", live - (live % PAGE) + 8n, UNALIGNED),
  bad('misaligned (mapping + 1)', mapping + 1n, UNALIGNED),
  bad('unmapped (page 1)', PAGE, ENOMEM),
  bad('beyond user space (2^64 − page)', (1n << 64n) - PAGE, ENOMEM),
];

/** A pid: omitted or 0 means this process. */
const PID: Bad[] = [
  ...NOT_AN_INTEGER,
  ...NEGATIVE,
  bad('2^31', 2 ** 31, RANGE),
  bad('a pid that does not exist', 0x7ffffffe, ENOENT),
];

/** An options object. */
const OPTIONS: Bad[] = [
  bad('a string', 'all', TYPE),
  bad('a number', 1, TYPE),
  bad('null', null, TYPE),
  bad('an array', [], TYPE),
];

/** A byte (fill value). */
const BYTE: Bad[] = [...NOT_AN_INTEGER, bad('negative', -1, RANGE), bad('256', 256, RANGE)];

/** Byte data to write. */
const DATA: Bad[] = [
  bad('a string', 'abc', TYPE),
  bad('an array of numbers', [1, 2, 3], TYPE),
  bad('an ArrayBuffer', new ArrayBuffer(4), TYPE),
  bad('a DataView', new DataView(new ArrayBuffer(4)), TYPE),
  bad('a Uint16Array', new Uint16Array(2), TYPE),
  bad('null', null, TYPE),
  bad('undefined (missing)', undefined, TYPE),
];

// ---------------------------------------------------------------------------
// Functions: their parameters' kinds, and a valid call to vary one argument of.

interface Valid {
  args: unknown[];
  /** Undoes what the valid arguments (and a call that succeeded) made. */
  dispose?: (result: unknown) => void;
}

interface FunctionSpec {
  area: string;
  fn: string;
  params: [name: string, values: Bad[]][];
  valid: () => Valid;
  call: (...args: any[]) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const block = (size = 64): Valid => {
  const ptr = lab.malloc(size);
  return { args: [ptr], dispose: () => tryFree(ptr) };
};
function tryFree(ptr: bigint): void {
  try {
    lab.free(ptr);
  } catch {
    // already freed by the call under test
  }
}
const freeResult = (result: unknown) => {
  if (typeof result === 'bigint' && result !== 0n) lab.free(result);
};

/** What the size matchers take instead of a measurement. */
const NOT_A_MEASUREMENT: Bad[] = [
  bad('a number', 42, TYPE),
  bad('null', null, TYPE),
  bad('undefined (missing)', undefined, TYPE),
  bad('a string', 'measurement', TYPE),
  bad('before and after that are not snapshots', { before: 1, after: 2 }, TYPE),
];
/** A measurement in which nothing changed. */
function unchanged(): { before: lab.Sample; after: lab.Sample } {
  const now = lab.sample();
  return { before: now, after: now };
}
/** A measurement in which the break moved up a page. */
function breakMoved(): { before: lab.Sample; after: lab.Sample } {
  const now = lab.sample();
  return { before: now, after: { ...now, brk: now.brk + 4096n } };
}
/** An experiment run (as runExperiment returns it) with one judged claim. */
function judgedRun(): lab.ExperimentRun {
  return {
    experiment: 'example',
    host: 'fresh',
    allocator: 'glibc',
    claims: [{ id: 'claim', claim: 'what the seed says', verdict: 'confirmed', evidence: 'the numbers' }],
  } as unknown as lab.ExperimentRun;
}
/** A metric sample with some fields replaced. */
function sampleWith(fields: Record<string, unknown>): Record<string, unknown> {
  return { name: 'example_bytes', help: 'An example.', type: 'gauge', value: 1, ...fields };
}
/** The parts of prom-client registerMallocLabMetrics uses. */
function fakeRegistry(): prometheusEntry.PromRegistryLike {
  return { removeSingleMetric: () => {} };
}
function fakeClient(): prometheusEntry.PromClientLike {
  return {
    Gauge: class {
      set(): void {}
    } as unknown as prometheusEntry.PromClientLike['Gauge'],
    register: fakeRegistry(),
  };
}

const FUNCTIONS: FunctionSpec[] = [
  // Allocation
  {
    area: 'allocation',
    fn: 'malloc',
    params: [['size', sizeKind({ huge: ENOMEM })]],
    valid: () => ({ args: [64], dispose: freeResult }),
    call: lab.malloc,
  },
  {
    area: 'allocation',
    fn: 'calloc',
    params: [
      ['nmemb', sizeKind({ huge: ENOMEM })],
      ['size', sizeKind({ huge: ENOMEM })],
    ],
    valid: () => ({ args: [4, 16], dispose: freeResult }),
    call: lab.calloc,
  },
  {
    area: 'allocation',
    fn: 'realloc',
    params: [
      ['ptr', pointerKind({ mapping: NOT_OWNED })],
      ['size', sizeKind({ huge: ENOMEM })],
    ],
    valid: () => {
      const ptr = lab.malloc(64);
      let current = ptr;
      return {
        args: [ptr, 128],
        dispose: (result) => {
          if (typeof result === 'bigint' && result !== 0n) current = result;
          tryFree(current);
        },
      };
    },
    call: lab.realloc,
  },
  {
    area: 'allocation',
    fn: 'free',
    params: [['ptr', pointerKind({ mapping: NOT_OWNED })]],
    valid: block,
    call: lab.free,
  },
  {
    area: 'allocation',
    fn: 'posix_memalign',
    params: [
      [
        'alignment',
        [
          ...sizeKind(),
          bad('zero', 0, EINVAL),
          bad('3 (not a power of two)', 3, EINVAL),
          bad('24 (not a power of two)', 24, EINVAL),
          bad('4 (below sizeof(void *))', 4, EINVAL),
          bad('2^52', 2 ** 52, ENOMEM),
        ],
      ],
      ['size', sizeKind({ huge: ENOMEM })],
    ],
    valid: () => ({ args: [64, 100], dispose: freeResult }),
    call: lab.posix_memalign,
  },
  {
    area: 'allocation',
    fn: 'aligned_alloc',
    params: [
      [
        'alignment',
        [...sizeKind(), bad('zero', 0, RANGE), bad('24 (not a power of two)', 24, RANGE), bad('2^52', 2 ** 52, ENOMEM)],
      ],
      ['size', sizeKind({ huge: ENOMEM })],
    ],
    valid: () => ({ args: [64, 128], dispose: freeResult }),
    call: lab.aligned_alloc,
  },
  {
    area: 'allocation',
    fn: 'memalign',
    params: [
      [
        'alignment',
        [...sizeKind(), bad('zero', 0, RANGE), bad('3 (not a power of two)', 3, RANGE), bad('2^52', 2 ** 52, ENOMEM)],
      ],
      ['size', sizeKind({ huge: ENOMEM })],
    ],
    valid: () => ({ args: [64, 100], dispose: freeResult }),
    call: lab.memalign,
  },
  {
    area: 'allocation',
    fn: 'valloc',
    params: [['size', sizeKind({ huge: ENOMEM })]],
    valid: () => ({ args: [100], dispose: freeResult }),
    call: lab.valloc,
  },
  {
    area: 'allocation',
    fn: 'malloc_usable_size',
    params: [['ptr', pointerKind({ mapping: NOT_OWNED })]],
    valid: () => ({ args: [live] }),
    call: lab.malloc_usable_size,
  },
  {
    area: 'bytes',
    fn: 'fill',
    params: [
      ['ptr', pointerKind({ mapping: 'none' }).filter((b) => b.code !== 'none')],
      ['value', BYTE.filter((b) => b.value !== undefined)],
      ['options', OPTIONS],
      ['offset', [...sizeKind({ optional: true, huge: BOUNDS }), bad('past the end (65 of 64)', 65, BOUNDS)]],
      ['length', [...sizeKind({ optional: true, huge: BOUNDS }), bad('past the end (65 of 64)', 65, BOUNDS)]],
    ],
    valid: () => ({ args: [live, 7, { offset: 0, length: 8 }] }),
    call: (ptr, value, options) => lab.fill(ptr, value, options),
  },
  {
    area: 'bytes',
    fn: 'touch',
    params: [
      ['ptr', pointerKind({ mapping: 'none' }).filter((b) => b.code !== 'none')],
      ['options', OPTIONS],
      ['offset', [...sizeKind({ optional: true, huge: BOUNDS }), bad('past the end (65 of 64)', 65, BOUNDS)]],
      ['length', [...sizeKind({ optional: true, huge: BOUNDS }), bad('past the end (65 of 64)', 65, BOUNDS)]],
    ],
    valid: () => ({ args: [live, { offset: 0, length: 64 }] }),
    call: (ptr, options) => lab.touch(ptr, options),
  },
  {
    area: 'bytes',
    fn: 'read',
    params: [
      ['ptr', pointerKind({ mapping: 'none' }).filter((b) => b.code !== 'none')],
      ['offset', [...sizeKind({ huge: BOUNDS }), bad('past the end (64 + 1 byte)', 64, BOUNDS)]],
      [
        'length',
        [
          ...sizeKind({ huge: RANGE }),
          bad('past the end (65 of 64)', 65, BOUNDS),
          bad('2^32 (the longest Uint8Array, past the end)', 2 ** 32, BOUNDS),
        ],
      ],
    ],
    valid: () => ({ args: [live, 0, 1] }),
    call: lab.read,
  },
  {
    area: 'bytes',
    fn: 'write',
    params: [
      ['ptr', pointerKind({ mapping: 'none' }).filter((b) => b.code !== 'none')],
      ['data', DATA],
      ['offset', [...sizeKind({ optional: true, huge: BOUNDS }), bad('past the end (64 + 1 byte)', 64, BOUNDS)]],
    ],
    valid: () => ({ args: [live, new Uint8Array(1), 0] }),
    call: lab.write,
  },
  // Heap controls
  {
    area: 'heap',
    fn: 'sbrk',
    params: [
      [
        'increment',
        [
          ...NOT_AN_INTEGER,
          ...MISSING,
          ...BEYOND_EXACT,
          bad('-2^53', -(2 ** 53), RANGE),
          bad('huge (2^53 − 1)', HUGE, ENOMEM),
          bad("shrinking into malloc's heap (-4096)", -4096, 'ERR_SBRK_REFUSED'),
          bad('shrinking by -(2^53 − 1)', -HUGE, 'ERR_SBRK_REFUSED'),
        ],
      ],
    ],
    valid: () => ({ args: [0] }),
    call: lab.sbrk,
  },
  {
    area: 'heap',
    fn: 'mallopt',
    params: [
      [
        'param',
        [
          bad('an unknown name', 'M_FOO', 'ERR_UNKNOWN_MALLOPT_PARAM'),
          bad('a name in the wrong case', 'm_mxfast', 'ERR_UNKNOWN_MALLOPT_PARAM'),
          bad('the empty string', '', 'ERR_UNKNOWN_MALLOPT_PARAM'),
          ...NOT_AN_INTEGER.filter((b) => typeof b.value !== 'string'),
          ...MISSING,
          bad('2^31', 2 ** 31, RANGE),
          // Every small constant glibc does not act on (it would silently return 1).
          ...Array.from({ length: 41 }, (_, i) => i - 20)
            .filter((n) => !Object.values(lab.MALLOPT_PARAMS).includes(n as never))
            .map((n) => bad(`unknown constant ${n}`, n, 'ERR_UNKNOWN_MALLOPT_PARAM')),
        ],
      ],
      ['value', [...NOT_AN_INTEGER, ...MISSING, bad('2^31', 2 ** 31, RANGE), bad('-2^31 - 1', -(2 ** 31) - 1, RANGE)]],
    ],
    valid: () => ({ args: ['M_PERTURB', 0] }),
    call: lab.mallopt,
  },
  {
    area: 'heap',
    fn: 'malloc_trim',
    params: [['pad', sizeKind({ optional: true })]],
    valid: () => ({ args: [0] }),
    call: lab.malloc_trim,
  },
  {
    area: 'heap',
    fn: 'parseMallocInfo',
    params: [
      [
        'xml',
        [
          bad('a number', 1, 'ERR_BAD_MALLOC_INFO'),
          bad('null', null, 'ERR_BAD_MALLOC_INFO'),
          bad('the empty string', '', 'ERR_BAD_MALLOC_INFO'),
          bad('text that is not XML', 'hello', 'ERR_BAD_MALLOC_INFO'),
          bad('XML cut in half', lab.malloc_info().xml.slice(0, 200), 'ERR_BAD_MALLOC_INFO'),
          bad('a non-numeric size', lab.malloc_info().xml.replace(/size="\d+"/, 'size="x"'), 'ERR_BAD_MALLOC_INFO'),
        ],
      ],
    ],
    valid: () => ({ args: [lab.malloc_info().xml] }),
    call: lab.parseMallocInfo,
  },
  // Pages
  {
    area: 'pages',
    fn: 'mincore',
    params: [
      ['addr', ANY_PAGE],
      ['length', [...sizeKind({ huge: RANGE }), bad('past the mapping into unmapped memory (2^40)', 2 ** 40, ENOMEM)]],
    ],
    valid: () => ({ args: [mapping, lab.PAGE_SIZE] }),
    call: lab.mincore,
  },
  {
    area: 'pages',
    fn: 'residency',
    params: [
      [
        'addr',
        [
          ...NOT_AN_ADDRESS,
          bad('unmapped (page 1 + 8)', PAGE + 8n, ENOMEM),
          bad('beyond user space (2^64 − 8)', (1n << 64n) - 8n, ENOMEM),
        ],
      ],
      ['length', [...sizeKind({ huge: RANGE }), bad('past the mapping into unmapped memory (2^40)', 2 ** 40, ENOMEM)]],
    ],
    valid: () => ({ args: [live, 64] }),
    call: lab.residency,
  },
  {
    area: 'pages',
    fn: 'madvise',
    params: [
      ['addr', ownedRangeKind({ aligned: true })],
      ['length', [...sizeKind({ huge: BOUNDS }), bad('past the mapping (5 pages of 4)', lab.PAGE_SIZE * 5, BOUNDS)]],
      [
        'advice',
        [
          bad('an unknown name', 'MADV_EXPLODE', RANGE),
          bad('an unknown number (MADV_HWPOISON, 100)', 100, RANGE),
          bad('a negative number', -1, RANGE),
          bad('a fraction', 4.5, RANGE),
          bad('NaN', NaN, RANGE),
          bad('null', null, TYPE),
          bad('undefined (missing)', undefined, TYPE),
          bad('a bigint', 4n, TYPE),
          bad('an object', {}, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [mapping, lab.PAGE_SIZE, 'MADV_NORMAL'] }),
    call: lab.madvise,
  },
  ...(['mlock', 'munlock'] as const).map((fn): FunctionSpec => ({
    area: 'pages',
    fn,
    params: [
      ['addr', ownedRangeKind({ aligned: false })],
      ['length', [...sizeKind({ huge: BOUNDS }), bad('past the mapping (5 pages of 4)', lab.PAGE_SIZE * 5, BOUNDS)]],
    ],
    valid: () => ({ args: [mapping, lab.PAGE_SIZE], dispose: () => lab.munlock(mapping, lab.PAGE_SIZE) }),
    call: lab[fn],
  })),
  {
    area: 'pages',
    fn: 'mmap',
    params: [
      ['length', sizeKind({ huge: ENOMEM, zero: RANGE })],
      ['options', OPTIONS],
    ],
    valid: () => ({
      args: [lab.PAGE_SIZE * 2, {}],
      dispose: (result) => {
        if (typeof result === 'bigint') lab.munmap(result, lab.PAGE_SIZE * 2);
      },
    }),
    call: lab.mmap,
  },
  {
    area: 'pages',
    fn: 'munmap',
    params: [
      [
        'addr',
        [
          ...pointerKind({ mapping: 'none', heap: NOT_OWNED, freedMapping: FREED }).filter((b) => b.code !== 'none'),
          bad('interior (mapping + one page)', mapping + PAGE, INTERIOR),
        ],
      ],
      [
        'length',
        [
          ...sizeKind({ huge: BOUNDS }),
          bad('part of the mapping', lab.PAGE_SIZE, BOUNDS),
          bad('more than the mapping', lab.PAGE_SIZE * 3, BOUNDS),
        ],
      ],
    ],
    valid: () => {
      // Two pages: a new mapping never starts at the one-page hole the unmapped fixture left.
      const map = lab.mmap(lab.PAGE_SIZE * 2);
      return {
        args: [map, lab.PAGE_SIZE * 2],
        dispose: () => {
          try {
            lab.munmap(map, lab.PAGE_SIZE * 2);
          } catch {
            /* the call unmapped it */
          }
        },
      };
    },
    call: lab.munmap,
  },
  // Measurement
  ...(['status', 'smapsRollup', 'statm', 'resetPeakRss'] as const).map((fn): FunctionSpec => ({
    area: 'measurement',
    fn,
    params: [['pid', PID]],
    valid: () => ({ args: [0] }),
    call: lab[fn],
  })),
  {
    area: 'measurement',
    fn: 'snapshot',
    params: [
      ['pid', PID],
      ['options', OPTIONS],
    ],
    valid: () => ({ args: [0, { statm: true }] }),
    call: lab.snapshot,
  },
  {
    area: 'measurement',
    fn: 'measure',
    params: [
      ['label', [bad('a number', 1, TYPE), bad('undefined (missing)', undefined, TYPE), bad('null', null, TYPE)]],
      ['op', [bad('a string', 'op', TYPE), bad('undefined (missing)', undefined, TYPE), bad('an object', {}, TYPE)]],
    ],
    valid: () => ({ args: ['label', () => 1] }),
    call: lab.measure,
  },
  // Batches
  {
    area: 'batches',
    fn: 'allocBatch',
    params: [
      [
        'spec',
        [
          ...OPTIONS,
          bad('undefined (missing)', undefined, TYPE),
          bad('neither size nor pattern', { count: 1 }, TYPE),
          bad('both size and pattern', { count: 1, size: 8, pattern: [{ size: 8 }] }, TYPE),
          ...NOT_AN_INTEGER.filter((b) => b.value !== undefined).map((b) =>
            bad(`count: ${b.input}`, { count: b.value, size: 8 }, b.code),
          ),
          ...NOT_AN_INTEGER.filter((b) => b.value !== undefined).map((b) =>
            bad(`size: ${b.input}`, { count: 1, size: b.value }, b.code),
          ),
          bad('count: zero', { count: 0, size: 8 }, 'ERR_LIMIT_EXCEEDED'),
          bad('count: 2^28 + 1 blocks', { count: 2 ** 28 + 1, size: 8 }, 'ERR_LIMIT_EXCEEDED'),
          bad('count: 2^40', { count: 2 ** 40, size: 8 }, 'ERR_LIMIT_EXCEEDED'),
          bad('count: negative', { count: -1, size: 8 }, RANGE),
          bad('size: negative', { count: 1, size: -1 }, RANGE),
          bad('size: huge (2^53 − 1)', { count: 1, size: HUGE }, ENOMEM),
          bad('fill: 256', { count: 1, size: 8, fill: 256 }, RANGE),
          bad('fill: a string', { count: 1, size: 8, fill: 'x' }, TYPE),
          bad('pattern: empty', { count: 1, pattern: [] }, 'ERR_LIMIT_EXCEEDED'),
          bad(
            'pattern: 65 entries',
            { count: 1, pattern: Array.from({ length: 65 }, () => ({ size: 8 })) },
            'ERR_LIMIT_EXCEEDED',
          ),
          bad('pattern: not an array', { count: 1, pattern: { size: 8 } }, 'ERR_LIMIT_EXCEEDED'),
          bad('pattern: an entry that is not an object', { count: 1, pattern: [8] }, TYPE),
          bad('pattern: an entry with a fractional size', { count: 1, pattern: [{ size: 1.5 }] }, RANGE),
          bad(
            'pattern: 2^27 rounds of 3 entries',
            { count: 2 ** 27, pattern: [{ size: 1 }, { size: 1 }, { size: 1 }] },
            'ERR_LIMIT_EXCEEDED',
          ),
        ],
      ],
    ],
    valid: () => ({ args: [{ count: 2, size: 8 }], dispose: (set) => (set as lab.BlockSet | undefined)?.release() }),
    call: lab.allocBatch,
  },
  {
    area: 'batches',
    fn: 'BlockSet.free',
    params: [
      [
        'rule',
        [
          ...OPTIONS,
          ...NOT_AN_INTEGER.map((b) => bad(`step: ${b.input}`, { step: b.value }, b.code)),
          bad('step: zero', { step: 0 }, RANGE),
          bad('min: zero', { min: 0 }, RANGE),
          bad('max past the set (9 of 4)', { min: 3, max: 9 }, RANGE),
          bad('min above max', { min: 3, max: 2 }, RANGE),
          bad('step: huge', { step: HUGE }, RANGE),
        ],
      ],
    ],
    valid: () => {
      const set = lab.allocBatch({ count: 4, size: 8 });
      return { args: [set, { step: 2 }], dispose: () => set.release() };
    },
    call: (set: lab.BlockSet, rule: lab.FreeRule) => set.free(rule),
  } as unknown as FunctionSpec,
  {
    area: 'batches',
    fn: 'BlockSet.address',
    params: [['index', [...sizeKind({ huge: BOUNDS }), bad('past the set (4 of 4)', 4, BOUNDS)]]],
    valid: () => {
      const set = lab.allocBatch({ count: 4, size: 8 });
      return { args: [set, 0], dispose: () => set.release() };
    },
    call: (set: lab.BlockSet, index: number) => set.address(index),
  } as unknown as FunctionSpec,
  // Threads
  ...(['malloc', 'realloc', 'free', 'fill', 'touch', 'malloc_usable_size'] as const)
    .map((method): FunctionSpec => ({
      area: 'threads',
      fn: `AllocatorThread.${method}`,
      params: [
        [
          'ptr',
          pointerKind({ mapping: method === 'fill' || method === 'touch' ? 'none' : NOT_OWNED }).filter(
            (b) => b.code !== 'none',
          ),
        ],
      ],
      valid: () => {
        if (method === 'malloc') return { args: [64], dispose: freeResult };
        const ptr = lab.malloc(64);
        // realloc may move the block (ASan's allocator always does): free whichever is live.
        return {
          args: [ptr],
          dispose: (result) => {
            if (typeof result === 'bigint' && result !== 0n && result !== ptr) lab.free(result);
            else tryFree(ptr);
          },
        };
      },
      call: (arg) =>
        method === 'malloc' ? thread.malloc(arg) : method === 'realloc' ? thread.realloc(arg, 32) : thread[method](arg),
    }))
    .map((spec) =>
      spec.fn === 'AllocatorThread.malloc'
        ? { ...spec, params: [['size', sizeKind({ huge: ENOMEM })]] as FunctionSpec['params'] }
        : spec,
    ),
  {
    area: 'threads',
    fn: 'blockArena',
    params: [['ptr', pointerKind({ mapping: NOT_OWNED })]],
    valid: () => ({ args: [live] }),
    call: lab.blockArena,
  },
  // Production helpers and commands
  {
    area: 'production',
    fn: 'trim',
    params: [
      [
        'options',
        [
          ...OPTIONS,
          ...NOT_AN_INTEGER.map((b) => bad(`pad: ${b.input}`, { pad: b.value }, b.code)),
          bad('pad: negative', { pad: -1 }, RANGE),
        ],
      ],
    ],
    valid: () => ({ args: [{ pad: 0 }] }),
    call: lab.trim,
  },
  {
    area: 'production',
    fn: 'startPeriodicTrimmer',
    params: [
      [
        'options',
        [
          ...OPTIONS,
          bad('undefined (missing)', undefined, TYPE),
          bad('no intervalMs', {}, TYPE),
          ...NOT_AN_INTEGER.filter((b) => b.value !== null).map((b) =>
            bad(`intervalMs: ${b.input}`, { intervalMs: b.value }, b.code),
          ),
          bad('intervalMs: zero', { intervalMs: 0 }, RANGE),
          bad('intervalMs: 2^31', { intervalMs: 2 ** 31 }, RANGE),
          bad('maxIntervalMs below intervalMs', { intervalMs: 1000, maxIntervalMs: 10 }, RANGE),
          bad('minGainBytes: negative', { intervalMs: 1000, minGainBytes: -1 }, RANGE),
          bad('onTrim: a string', { intervalMs: 1000, onTrim: 'log' }, TYPE),
          bad('env: a string', { intervalMs: 1000, env: 'MALLOC_ARENA_MAX=2' }, TYPE),
        ],
      ],
    ],
    valid: () => ({
      args: [{ intervalMs: 3_600_000 }],
      dispose: (trimmer) => (trimmer as { stop(): void } | undefined)?.stop(),
    }),
    call: lab.startPeriodicTrimmer,
  },
  {
    area: 'production',
    fn: 'detectAllocator',
    params: [
      [
        'options',
        [
          ...OPTIONS,
          ...PID.filter((b) => b.code !== 'ENOENT').map((b) => bad(`pid: ${b.input}`, { pid: b.value }, b.code)),
        ],
      ],
    ],
    valid: () => ({ args: [{}] }),
    call: lab.detectAllocator,
  },
  {
    area: 'production',
    fn: 'allocatorSettings',
    params: [
      [
        'options',
        [
          ...OPTIONS,
          ...PID.map((b) =>
            bad(
              `pid: ${b.input}`,
              { pid: b.value },
              { code: b.code, ...(b.errno === undefined ? {} : { errno: b.errno }) },
            ),
          ),
          bad('env: null', { env: null }, TYPE),
          bad('env: a string', { env: 'MALLOC_ARENA_MAX=2' }, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [{}] }),
    call: lab.allocatorSettings,
  },
  {
    area: 'process',
    fn: 'statusReport',
    params: [['pid', PID.map((b) => ({ ...b, errno: undefined }))]],
    valid: () => ({ args: [0] }),
    call: lab.statusReport,
  },
  {
    area: 'process',
    fn: 'renderStatusReport',
    params: [
      [
        'report',
        [
          bad('null', null, TYPE),
          bad('a string', 'report', TYPE),
          bad('an empty object', {}, TYPE),
          bad('undefined (missing)', undefined, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [lab.statusReport(0)] }),
    call: lab.renderStatusReport,
  },
  {
    area: 'process',
    fn: 'watchProcess',
    params: [
      [
        'pid',
        [
          bad('a string', '1', TYPE),
          bad('negative', -1, RANGE),
          bad('a pid that does not exist', 0x7ffffffe, 'ENOENT'),
        ],
      ],
      [
        'options',
        [
          bad('undefined (missing)', undefined, TYPE),
          bad('a string', 'fast', TYPE),
          bad('null', null, TYPE),
          bad('intervalMs: zero', { intervalMs: 0 }, RANGE),
          bad('intervalMs: NaN', { intervalMs: NaN }, RANGE),
          bad('intervalMs: a string', { intervalMs: '10' }, RANGE),
        ],
      ],
    ],
    valid: () => ({ args: [process.pid, { intervalMs: 10, durationMs: 30 }] }),
    call: lab.watchProcess,
  },
  {
    area: 'commands',
    fn: 'explainProcess',
    params: [
      ['pid', PID.map((b) => ({ ...b, errno: undefined }))],
      [
        'options',
        [
          ...OPTIONS,
          bad('agent: a string', { agent: 'sometimes' }, TYPE),
          bad('agentTimeoutMs: zero', { agentTimeoutMs: 0 }, RANGE),
          bad('agentTimeoutMs: a string', { agentTimeoutMs: '5' }, TYPE),
          bad('regionsPerClass: negative', { regionsPerClass: -1 }, RANGE),
        ],
      ],
    ],
    valid: () => ({ args: [0, { agent: false }] }),
    call: lab.explainProcess,
  },
  ...(['renderExplainText', 'renderExplainSvg', 'renderExplainHtml'] as const).map((fn): FunctionSpec => ({
    area: 'commands',
    fn,
    params: [
      [
        'report',
        [
          bad('null', null, TYPE),
          bad('a string', 'report', TYPE),
          bad('an empty object', {}, TYPE),
          bad('a status report', lab.statusReport(0), TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [selfExplained] }),
    call: lab[fn],
  })),
  {
    area: 'commands',
    fn: 'parseSmaps',
    params: [
      [
        'text',
        [
          bad('null', null, TYPE),
          bad('a number', 42, TYPE),
          bad('a field before any mapping', 'Rss: 4 kB\n', 'ERR_BAD_SMAPS'),
          bad('an address that is not hex', 'zz-1000 rw-p 00000000 00:00 0\n', 'ERR_BAD_SMAPS'),
          bad('an end below its start', '2000-1000 rw-p 00000000 00:00 0\n', 'ERR_BAD_SMAPS'),
          bad('permissions that are not rwxp', '1000-2000 rwzp 00000000 00:00 0\n', 'ERR_BAD_SMAPS'),
          bad('Rss without a number', '1000-2000 rw-p 00000000 00:00 0\nRss: many kB\n', 'ERR_BAD_SMAPS'),
          bad('Rss without its unit', '1000-2000 rw-p 00000000 00:00 0\nRss: 4\n', 'ERR_BAD_SMAPS'),
          bad('a line that is neither', '1000-2000 rw-p 00000000 00:00 0\n(garbage)\n', 'ERR_BAD_SMAPS'),
        ],
      ],
    ],
    valid: () => ({ args: ['1000-2000 rw-p 00000000 00:00 0\nRss: 4 kB\n'] }),
    call: lab.parseSmaps,
  },
  {
    area: 'commands',
    fn: 'startAgent',
    params: [
      [
        'options',
        [
          ...OPTIONS,
          bad('directory: empty', { directory: '' }, TYPE),
          bad('directory: a number', { directory: 7 }, TYPE),
          bad('directory: others may enter it', { directory: looseDirectory }, 'ERR_AGENT_UNSAFE'),
        ],
      ],
    ],
    valid: () => ({
      args: [{ directory: agentDirectory }],
      dispose: (agent) => void (agent as { close(): Promise<void> } | undefined)?.close(),
    }),
    call: lab.startAgent,
  },
  {
    area: 'commands',
    fn: 'compareAllocators',
    params: [
      [
        'options',
        [
          ...OPTIONS,
          bad('undefined (missing)', undefined, TYPE),
          bad('no command', {}, TYPE),
          bad('command: a string', { command: 'true --flag' }, TYPE),
          bad('command: empty', { command: [] }, TYPE),
          bad('command: a number in it', { command: ['true', 1] }, TYPE),
          bad('command: an empty program name', { command: [''] }, RANGE),
          bad('command: not found in PATH', { command: ['malloc-lab-no-such-command'] }, { code: 'ENOENT', errno: 2 }),
          bad('command: a path that does not exist', { command: ['./no/such/program'] }, { code: 'ENOENT', errno: 2 }),
          bad('command: a file that is not executable', { command: [NOT_EXECUTABLE] }, { code: 'EACCES', errno: 13 }),
          bad('command: a directory', { command: ['/tmp'] }, { code: 'EACCES', errno: 13 }),
          bad('configurations: a string', { command: ['true'], configurations: 'glibc' }, TYPE),
          bad('configurations: empty', { command: ['true'], configurations: [] }, TYPE),
          bad('configurations: a name not in the matrix', { command: ['true'], configurations: ['ptmalloc9'] }, RANGE),
          bad('configurations: a name twice', { command: ['true'], configurations: ['glibc', 'glibc'] }, RANGE),
          bad('configurations: name: and nothing', { command: ['true'], configurations: ['mine:'] }, RANGE),
          bad('configurations: a token that is nothing', { command: ['true'], configurations: ['mine:bogus'] }, RANGE),
          bad('configurations: a number', { command: ['true'], configurations: [1] }, TYPE),
          bad('configurations: a spec without a name', { command: ['true'], configurations: [{ env: {} }] }, TYPE),
          bad(
            'configurations: a spec named with a space',
            { command: ['true'], configurations: [{ name: 'a b' }] },
            TYPE,
          ),
          bad(
            'configurations: an unknown allocator',
            { command: ['true'], configurations: [{ name: 'a', allocator: 'ptmalloc9' }] },
            RANGE,
          ),
          bad(
            'configurations: glibc with a library',
            { command: ['true'], configurations: [{ name: 'a', allocator: 'glibc', library: '/lib/x.so' }] },
            RANGE,
          ),
          bad(
            'configurations: an env value that is a number',
            { command: ['true'], configurations: [{ name: 'a', env: { MALLOC_ARENA_MAX: 2 } }] },
            TYPE,
          ),
          bad('baseline: not a configuration', { command: ['true'], configurations: ['glibc'], baseline: 'x' }, RANGE),
          bad('intervalMs: zero', { command: ['true'], intervalMs: 0 }, RANGE),
          bad('intervalMs: a string', { command: ['true'], intervalMs: '100' }, TYPE),
          bad('repeat: zero', { command: ['true'], repeat: 0 }, RANGE),
          bad('repeat: 1.5', { command: ['true'], repeat: 1.5 }, RANGE),
          bad('durationMs: negative', { command: ['true'], durationMs: -1 }, RANGE),
          bad('durationMs: a string', { command: ['true'], durationMs: '5s' }, TYPE),
          bad('graceMs: negative', { command: ['true'], graceMs: -1 }, RANGE),
          bad('load: empty', { command: ['true'], load: ' ' }, TYPE),
          bad('readyLine: not a regular expression', { command: ['true'], readyLine: '(' }, RANGE),
          bad('readyLine: a number', { command: ['true'], readyLine: 1 }, TYPE),
          bad('lingerMs: without load', { command: ['true'], lingerMs: 1000 }, RANGE),
          bad('cwd: a directory that does not exist', { command: ['true'], cwd: '/no/such/dir' }, RANGE),
          bad('env: a value that is a number', { command: ['true'], env: { NODE_ENV: 1 } }, TYPE),
          bad('tree: a string', { command: ['true'], tree: 'yes' }, TYPE),
          bad('signal: an object', { command: ['true'], signal: {} }, TYPE),
          bad('onProgress: a string', { command: ['true'], onProgress: 'log' }, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [{ command: ['true'], configurations: ['glibc'] }] }),
    call: lab.compareAllocators,
  },
  ...(['renderCompareTable', 'renderCompareSvg', 'renderCompareHtml'] as const).map((fn): FunctionSpec => ({
    area: 'reports',
    fn,
    params: [
      [
        'result',
        [
          bad('null', null, TYPE),
          bad('a string', 'result', TYPE),
          bad('an empty object', {}, TYPE),
          bad('undefined (missing)', undefined, TYPE),
          bad('an array of runs', [], TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [compared] }),
    call: lab[fn],
  })),
  // Experiments and reports
  {
    area: 'experiments',
    fn: 'runOnHost',
    params: [
      [
        'program',
        [
          bad('null', null, TYPE),
          bad('an encoded program', new Float64Array(6), TYPE),
          bad('a string', 'malloc 8', TYPE),
        ],
      ],
      [
        'host',
        [
          bad('an unknown host', 'moon', RANGE),
          bad('a number', 1, RANGE),
          bad('undefined (missing)', undefined, RANGE),
        ],
      ],
      [
        'options',
        [
          bad('allocator: unknown', { allocator: 'ptmalloc9' }, RANGE),
          bad('a string', 'fast', TYPE),
          bad('env: a value that is not a string', { env: { MALLOC_ARENA_MAX: 2 } }, TYPE),
          bad('timeoutMs: -1', { timeoutMs: -1 }, RANGE),
          bad('libraries: a string', { libraries: '/tmp/x.so' }, TYPE),
          bad(
            'libraries: a jemalloc file that does not exist',
            { allocator: 'jemalloc', libraries: { jemalloc: '/nonexistent/libjemalloc.so.2' } },
            'ERR_ALLOCATOR_LIBRARY',
          ),
          bad('capture: a string', { capture: 'MALLOC_TRACE' }, TYPE),
          bad('capture: a name with a slash', { capture: ['../x'] }, TYPE),
          bad('onStarted: a string', { onStarted: 'go' }, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [new StepProgram().step('x', (s) => s.malloc('a', 8)), 'fresh', {}] }),
    call: (program, host, options) => lab.runOnHost(program, host, options),
  },
  {
    area: 'experiments',
    fn: 'allocatorLibrary',
    params: [
      [
        'allocator',
        [
          bad('an unknown name', 'ptmalloc9', RANGE),
          bad('a number', 1, RANGE),
          bad('null', null, RANGE),
          bad('a bigint (-1n)', -1n, RANGE),
          bad('a name every object has ("toString")', 'toString', RANGE),
          bad('"__proto__"', '__proto__', RANGE),
        ],
      ],
      [
        'libraries',
        [
          bad('a string', '/usr/lib/libjemalloc.so.2', TYPE),
          bad('an unknown allocator', { ptmalloc9: '/tmp/x.so' }, RANGE),
          bad('glibc (not preloaded)', { glibc: '/tmp/x.so' }, RANGE),
          bad('an empty path', { jemalloc: '' }, TYPE),
          bad('a file that does not exist', { jemalloc: '/nonexistent/libjemalloc.so.2' }, 'ERR_ALLOCATOR_LIBRARY'),
          bad(
            'a file that is not a library',
            { jemalloc: fileURLToPath(new URL('../package.json', import.meta.url)) },
            'ERR_ALLOCATOR_LIBRARY',
          ),
        ],
      ],
    ],
    valid: () => ({ args: ['jemalloc', {}] }),
    call: lab.allocatorLibrary,
  },
  {
    area: 'experiments',
    fn: 'findExperiment',
    params: [
      [
        'id',
        [
          bad('an unknown id', 'nope', 'ERR_UNKNOWN_EXPERIMENT'),
          bad('a number', 1, 'ERR_UNKNOWN_EXPERIMENT'),
          bad('undefined (missing)', undefined, 'ERR_UNKNOWN_EXPERIMENT'),
          bad('a bigint (-1n)', -1n, 'ERR_UNKNOWN_EXPERIMENT'),
        ],
      ],
    ],
    valid: () => ({ args: [lab.CATALOGUE[0]!.id] }),
    call: lab.findExperiment,
  },
  {
    area: 'experiments',
    fn: 'resolveParameters',
    params: [
      ['definition', [bad('null', null, TYPE), bad('an id instead of a definition', 'sbrk-16k', TYPE)]],
      ['given', [bad('an unknown parameter', { nope: 1 }, RANGE), bad('a string', 'size=1', TYPE)]],
    ],
    valid: () => ({ args: [lab.CATALOGUE[0], {}] }),
    call: (definition: lab.ExperimentDefinition, given: Record<string, number>) =>
      lab.resolveParameters(definition, given),
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'runExperiment',
    params: [
      [
        'definition',
        [bad('null', null, TYPE), bad('an id instead of a definition', 'sbrk-16k', TYPE), bad('an object', {}, TYPE)],
      ],
      [
        'options',
        [
          bad('a string', 'fast', TYPE),
          bad('scheduler: an object', { scheduler: {} }, TYPE),
          bad('heaps: an unknown heap', { heaps: ['old'] }, RANGE),
          bad('worlds: empty', { worlds: [] }, TYPE),
          bad('worlds: a string', { worlds: 'fresh' }, TYPE),
          bad('worlds: an unknown host', { worlds: [{ host: 'moon', heap: 'clean' }] }, RANGE),
          bad('repeat: 0', { repeat: 0 }, RANGE),
          bad('repeat: 1.5', { repeat: 1.5 }, RANGE),
          bad('repeat: a string', { repeat: '5' }, TYPE),
          bad('ageing: blocks 0', { ageing: { blocks: 0 } }, RANGE),
          bad('ageing: freedPercent 101', { ageing: { freedPercent: 101 } }, RANGE),
          bad('ageing: a mix class with max < min', { ageing: { mix: [{ percent: 100, min: 64, max: 16 }] } }, RANGE),
          bad('ageing: a mix whose shares add up to 0', { ageing: { mix: [{ percent: 0, min: 16, max: 64 }] } }, RANGE),
          bad('ageing: a share of 0.001 %', { ageing: { mix: [{ percent: 0.001, min: 16, max: 64 }] } }, RANGE),
        ],
      ],
    ],
    valid: () => ({ args: [lab.findExperiment('sbrk-16k'), { hosts: ['fresh'] }] }),
    call: (definition: lab.ExperimentDefinition, options: lab.RunOptions) => lab.runExperiment(definition, options),
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'mcheckStatusName',
    params: [['status', [...NOT_AN_INTEGER, bad('2^31', 2 ** 31, RANGE)]]],
    valid: () => ({ args: [lab.MCHECK_STATUS.MCHECK_TAIL] }),
    call: (status: number) => lab.mcheckStatusName(status),
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'parseMtraceLog',
    params: [['text', [bad('null', null, TYPE), bad('a Buffer', Buffer.from('= Start\n'), TYPE)]]],
    valid: () => ({ args: ['= Start\n@ ./prog:[0x1180] + 0x4052a0 0x64\n= End\n'] }),
    call: (text: string) => lab.parseMtraceLog(text),
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'seedClaimProblems',
    params: [['experiments', [bad('null', null, TYPE), bad('a definition, not an array', lab.CATALOGUE[0], TYPE)]]],
    valid: () => ({ args: [lab.CATALOGUE] }),
    call: (experiments: lab.ExperimentDefinition[]) => lab.seedClaimProblems(experiments),
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'runWorld',
    params: [
      ['definition', [bad('null', null, TYPE), bad('an id instead of a definition', 'sbrk-16k', TYPE)]],
      [
        'world',
        [
          bad('null', null, TYPE),
          bad('a world name', 'aged/fresh', TYPE),
          bad('an unknown heap', { host: 'fresh', heap: 'old' }, RANGE),
          bad('an unknown host', { host: 'deno', heap: 'clean' }, RANGE),
        ],
      ],
      ['options', [bad('a string', 'fast', TYPE), bad('ageing: seed -1', { ageing: { seed: -1 } }, RANGE)]],
    ],
    valid: () => ({ args: [lab.findExperiment('sbrk-16k'), { host: 'fresh', heap: 'clean' }, {}] }),
    call: (definition: lab.ExperimentDefinition, world: lab.World, options: lab.RunOptions) =>
      lab.runWorld(definition, world, options),
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'selectWorlds',
    params: [
      ['hosts', [bad('an unknown host', ['moon'], RANGE)]],
      ['heaps', [bad('an unknown heap', ['old'], RANGE), bad('a number', [1], RANGE)]],
    ],
    valid: () => ({ args: [['fresh'], ['aged']] }),
    call: (hosts: lab.HostName[], heaps: lab.HeapName[]) => lab.selectWorlds(hosts, heaps),
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'resolveAgeing',
    params: [
      [
        'given',
        [
          bad('a string', 'aged', TYPE),
          bad('blocks: a fraction', { blocks: 1.5 }, RANGE),
          bad('blocks: more than 2^28', { blocks: 2 ** 28 + 1 }, RANGE),
          bad('seed: a string', { seed: '1' }, TYPE),
          bad('freedPercent: NaN', { freedPercent: NaN }, RANGE),
          bad('freedPercent: a string', { freedPercent: '50' }, TYPE),
          bad('mix: empty', { mix: [] }, TYPE),
          bad('mix: 17 classes', { mix: Array.from({ length: 17 }, () => ({ percent: 1, min: 1, max: 2 })) }, TYPE),
          bad('mix: a class that is null', { mix: [null] }, TYPE),
          bad('mix: a class above 1 GiB', { mix: [{ percent: 100, min: 16, max: 2 ** 31 }] }, RANGE),
        ],
      ],
    ],
    valid: () => ({ args: [{ blocks: 10 }] }),
    call: lab.resolveAgeing,
  },
  {
    area: 'experiments',
    fn: 'agedProgram',
    params: [
      ['program', [bad('null', null, TYPE), bad('an encoded program', new Float64Array(6), TYPE)]],
      ['ageing', [bad('a string', 'aged', TYPE), bad('blocks: 0', { blocks: 0 }, RANGE)]],
    ],
    valid: () => ({ args: [new StepProgram().step('x'), lab.DEFAULT_AGEING] }),
    call: lab.agedProgram,
  },
  {
    area: 'experiments',
    fn: 'designedSettings',
    params: [
      [
        'names',
        [bad('an unknown tunable', ['trim'], TYPE), bad('a string', 'trim_threshold', TYPE), bad('empty', [], TYPE)],
      ],
      ['variants', [bad('a string', 'default', TYPE), bad('an array of numbers', [1], TYPE)]],
    ],
    valid: () => ({ args: [['trim_threshold'], ['default']] }),
    call: lab.designedSettings,
  },
  {
    area: 'experiments',
    fn: 'glibcAllocator',
    params: [['variants', [bad('a string', 'default', TYPE), bad('null', null, TYPE)]]],
    valid: () => ({ args: [['default']] }),
    call: lab.glibcAllocator,
  },
  {
    area: 'experiments',
    fn: 'parseRecords',
    params: [
      ['program', [bad('null', null, TYPE), bad('a string', 'program', TYPE)]],
      ['bytes', [bad('null', null, TYPE), bad('a number array', [1, 2], TYPE)]],
    ],
    valid: () => ({ args: [new StepProgram().step('x'), new Uint8Array(0)] }),
    call: (program: StepProgram, bytes: Uint8Array) => lab.parseRecords(program, bytes),
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'createScheduler',
    params: [
      [
        'options',
        [
          ...OPTIONS,
          bad('cpus: 0', { cpus: 0 }, RANGE),
          bad('cpus: 1.5', { cpus: 1.5 }, RANGE),
          bad('cpus: a string', { cpus: '2' }, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [{ cpus: 2 }] }),
    call: lab.createScheduler,
  } as unknown as FunctionSpec,
  {
    area: 'experiments',
    fn: 'runKind',
    params: [['program', [bad('null', null, TYPE), bad('a string', 'sleep', TYPE), bad('an object', {}, TYPE)]]],
    valid: () => ({ args: [new StepProgram().step('x', (s) => s.sleep(1000))] }),
    call: lab.runKind,
  } as unknown as FunctionSpec,
  ...(['renderExperiment', 'renderSvg', 'renderRunSummary', 'renderRunsHtml'] as const).map((fn): FunctionSpec => ({
    area: 'reports',
    fn,
    params: [
      [
        'runs',
        [
          bad('null', null, TYPE),
          bad('a string', 'runs', TYPE),
          bad('an object', {}, TYPE),
          bad('undefined (missing)', undefined, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [[]] }),
    call: lab[fn],
  })),
  // Helpers
  {
    area: 'helpers',
    fn: 'formatBytes',
    params: [
      [
        'bytes',
        [
          bad('a string', '10', TYPE),
          bad('a bigint', 10n, TYPE),
          bad('null', null, TYPE),
          bad('undefined (missing)', undefined, TYPE),
          bad('an object', { bytes: 10 }, TYPE),
        ],
      ],
      ['options', [...OPTIONS, bad('signed: a string', { signed: 'yes' }, TYPE)]],
    ],
    valid: () => ({ args: [1024, { signed: true }] }),
    call: lab.formatBytes,
  },
  {
    area: 'helpers',
    fn: 'formatAddress',
    params: [
      [
        'address',
        [
          bad('undefined (missing)', undefined, TYPE),
          bad('null', null, TYPE),
          bad('a string', '0x1000', TYPE),
          bad('negative (-1n)', -1n, RANGE),
          bad('2^64', 1n << 64n, RANGE),
          bad('a negative number', -1, RANGE),
          bad('a fraction', 1.5, RANGE),
        ],
      ],
    ],
    valid: () => ({ args: [0x1000n] }),
    call: lab.formatAddress,
  },
  {
    area: 'helpers',
    fn: 'deltaOf',
    params: (['before', 'after'] as const).map((name): [string, Bad[]] => [
      name,
      [
        bad('undefined (missing)', undefined, TYPE),
        bad('null', null, TYPE),
        bad('a string', 'sample', TYPE),
        bad('an empty object', {}, TYPE),
        bad('a status snapshot instead of a sample', lab.status(), TYPE),
      ],
    ]),
    valid: () => ({ args: [lab.sample(), lab.sample()] }),
    call: lab.deltaOf,
  },
  // Classes: the handles and builders the package exports.
  {
    area: 'classes',
    fn: 'new BlockSet',
    params: [
      [
        'id',
        [bad('a string', '1', TYPE), bad('zero', 0, RANGE), bad('negative', -1, RANGE), bad('a fraction', 1.5, RANGE)],
      ],
      ['blocks', [bad('a string', '1', TYPE), bad('negative', -1, RANGE), bad('NaN', NaN, RANGE)]],
    ],
    valid: () => ({ args: [1, 1] }),
    call: (id, blocks) => new lab.BlockSet(id, blocks),
  },
  {
    area: 'classes',
    fn: 'new AllocatorThread',
    params: [['id', [bad('a string', '1', TYPE), bad('zero', 0, RANGE), bad('2^32', 2 ** 32, RANGE)]]],
    valid: () => ({ args: [1] }),
    call: (id) => new lab.AllocatorThread(id),
  },
  {
    area: 'classes',
    fn: 'new StepProgram',
    params: [
      [
        'options',
        [...OPTIONS, bad('unsafe: a string', { unsafe: 'yes' }, TYPE), bad('keep: a number', { keep: 1 }, TYPE)],
      ],
    ],
    valid: () => ({ args: [{ keep: true }] }),
    call: (options) => new StepProgram(options),
  },
  {
    area: 'classes',
    fn: 'new StepBuilder',
    params: [
      ['program', [bad('null', null, TYPE), bad('an encoded program', new Float64Array(6), TYPE)]],
      ['step', [bad('a string', '0', TYPE), bad('negative', -1, RANGE)]],
    ],
    valid: () => ({ args: [new StepProgram(), 0] }),
    call: (program, step) => new lab.StepBuilder(program, step),
  },
  {
    area: 'classes',
    fn: 'StepProgram.step',
    params: [
      ['label', [bad('a number', 1, TYPE), bad('null', null, TYPE), bad('undefined (missing)', undefined, TYPE)]],
      ['build', [bad('a string', 'malloc', TYPE), bad('an object', {}, TYPE)]],
    ],
    valid: () => ({ args: ['x', (step: StepBuilder) => step.malloc('a', 8)] }),
    call: (label, build) => new StepProgram().step(label, build),
  },
  ...(['slot', 'set'] as const).map((method): FunctionSpec => ({
    area: 'classes',
    fn: `StepProgram.${method}`,
    params: [
      ['name', [bad('a number', 1, TYPE), bad('null', null, TYPE), bad('undefined (missing)', undefined, TYPE)]],
    ],
    valid: () => ({ args: ['a'] }),
    call: (name) => new StepProgram()[method](name),
  })),
  {
    area: 'classes',
    fn: 'StepProgram.addOp',
    params: [
      [
        'op',
        [
          bad('null', null, TYPE),
          bad('a name alone', 'malloc', TYPE),
          bad('an unknown op', { op: 'explode', args: [], step: 0 }, TYPE),
          bad('no args', { op: 'malloc', step: 0 }, TYPE),
          bad('"toString" as an op', { op: 'toString', args: [], step: 0 }, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [{ op: 'malloc_trim', args: [0], step: 0 }] }),
    call: (op) => new StepProgram().addOp(op),
  },
  {
    area: 'classes',
    fn: 'StepProgram.withPrelude',
    params: [
      ['label', [bad('a label the program uses', 'x', BAD_PROGRAM), bad('a number', 1, TYPE)]],
      ['build', [bad('a string', 'build', TYPE), bad('undefined (missing)', undefined, TYPE)]],
    ],
    valid: () => ({ args: ['first', (step: StepBuilder) => step.malloc_trim(0)] }),
    call: (label, build) => new StepProgram().step('x').withPrelude(label, build),
  },
  {
    area: 'classes',
    fn: 'StepProgram.withThread',
    params: [
      ['thread', []],
      ['build', [bad('a string', 'build', TYPE), bad('undefined (missing)', undefined, TYPE)]],
    ],
    valid: () => ({ args: [0, () => {}] }),
    call: (thread, build) => new StepProgram().withThread(thread, build),
  },
  // malloc-lab/vitest
  {
    area: 'vitest',
    fn: 'installMatchers',
    params: [
      [
        'expect',
        [
          bad('null', null, TYPE),
          bad('a number', 1, TYPE),
          bad('an object without extend', {}, TYPE),
          bad('a string', 'expect', TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [{ extend: () => {} }] }),
    call: vitestEntry.installMatchers,
  },
  ...(
    [
      'toGrowRssAnonBy',
      'toShrinkRssAnonBy',
      'toGrowRssBy',
      'toShrinkRssBy',
      'toGrowVmSizeBy',
      'toShrinkVmSizeBy',
    ] as const
  ).map((matcher): FunctionSpec => ({
    area: 'vitest',
    fn: matcher,
    params: [
      ['received', NOT_A_MEASUREMENT],
      [
        'bounds',
        [
          bad('undefined (missing)', undefined, TYPE),
          bad('null', null, TYPE),
          bad('a number', 1024, TYPE),
          bad('no bound', {}, TYPE),
          bad('atLeast: negative', { atLeast: -1 }, RANGE),
          bad('atLeast: a string', { atLeast: '1' }, RANGE),
          bad('atMost: NaN', { atMost: NaN }, RANGE),
          bad('atLeast above atMost', { atLeast: 2, atMost: 1 }, RANGE),
        ],
      ],
    ],
    // No change at all is "by at most 1 byte" in either direction.
    valid: () => ({ args: [unchanged(), { atMost: 1 }] }),
    call: (received, bounds) => expect(received)[matcher](bounds),
  })),
  {
    area: 'vitest',
    fn: 'toMoveBreak',
    params: [
      [
        'received',
        [
          ...NOT_A_MEASUREMENT,
          bad(
            'measurement: one without a break (as trim() returns)',
            { before: lab.status(), after: lab.status() },
            TYPE,
          ),
        ],
      ],
      [
        'bounds',
        [
          bad('a number', 1024, TYPE),
          bad('direction: sideways', { direction: 'sideways' }, RANGE),
          bad('atLeast: negative', { atLeast: -1 }, RANGE),
        ],
      ],
    ],
    valid: () => ({ args: [breakMoved(), { direction: 'up', atLeast: 4096 }] }),
    call: (received, bounds) => expect(received).toMoveBreak(bounds),
  },
  {
    area: 'vitest',
    fn: 'toHaveClaim',
    params: [
      [
        'received',
        [
          bad('a number', 42, TYPE),
          bad('null', null, TYPE),
          bad('an empty array', [], TYPE),
          bad('an array with something else in it', [judgedRun(), {}], TYPE),
        ],
      ],
      [
        'id',
        [
          bad('a number', 1, TYPE),
          bad('the empty string', '', TYPE),
          bad('a claim the run does not have', 'nope', RANGE),
        ],
      ],
      ['verdict', [bad('an unknown verdict', 'maybe', RANGE), bad('null', null, RANGE)]],
      [
        'options',
        [
          bad('null', null, TYPE),
          bad('a host name alone', 'fresh', TYPE),
          bad('a host with no run', { host: 'node' }, RANGE),
        ],
      ],
    ],
    valid: () => ({ args: [judgedRun(), 'claim', 'confirmed', { host: 'fresh' }] }),
    call: (received, id, verdict, options) => expect(received).toHaveClaim(id, verdict, options),
  },
  // malloc-lab/prometheus
  {
    area: 'prometheus',
    fn: 'collectProcessMetrics',
    params: [
      ['pid', PID],
      [
        'options',
        [
          ...OPTIONS,
          bad('prefix: a number', { prefix: 1 }, TYPE),
          bad('prefix: not a metric name', { prefix: 'my app_' }, TYPE),
          bad('glibc: a string', { glibc: 'no' }, TYPE),
          bad('smapsRollup: a number', { smapsRollup: 0 }, TYPE),
          bad('arenas: null', { arenas: null }, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [0, { arenas: false }] }),
    call: prometheusEntry.collectProcessMetrics,
  },
  {
    area: 'prometheus',
    fn: 'renderPrometheusText',
    params: [
      [
        'values',
        [
          bad('null', null, TYPE),
          bad('a string', 'metrics', TYPE),
          bad('an object without metrics', {}, TYPE),
          bad('an empty sample', [{}], TYPE),
          bad('a sample whose name has a space', [sampleWith({ name: 'a b' })], TYPE),
          bad('a sample whose help is a number', [sampleWith({ help: 1 })], TYPE),
          bad('a sample of another type', [sampleWith({ type: 'histogram' })], TYPE),
          bad('a sample whose value is a string', [sampleWith({ value: '1' })], TYPE),
        ],
      ],
      [
        'options',
        [
          ...OPTIONS,
          bad('labels: a number', { labels: 1 }, TYPE),
          bad('labels: a name with a space', { labels: { 'a b': 'x' } }, TYPE),
          bad('labels: a reserved name', { labels: { __name__: 'x' } }, TYPE),
          bad('labels: a value that is not a string', { labels: { service: 1 } }, TYPE),
        ],
      ],
    ],
    valid: () => ({ args: [[sampleWith({})], { labels: { service: 'api' } }] }),
    call: prometheusEntry.renderPrometheusText,
  },
  {
    area: 'prometheus',
    fn: 'registerMallocLabMetrics',
    params: [
      [
        'client',
        [
          bad('null', null, TYPE),
          bad('a string', 'prom-client', TYPE),
          bad('an object without Gauge', { register: fakeRegistry() }, TYPE),
        ],
      ],
      [
        'options',
        [
          ...OPTIONS,
          bad('registry: a number', { registry: 1 }, TYPE),
          bad('labels: a number', { labels: 1 }, TYPE),
          bad('pid: negative', { pid: -1 }, RANGE),
          bad('prefix: a number', { prefix: 1 }, TYPE),
        ],
      ],
    ],
    valid: () => ({
      args: [fakeClient(), { arenas: false }],
      dispose: (metrics) => (metrics as prometheusEntry.MallocLabMetrics | undefined)?.unregister(),
    }),
    call: prometheusEntry.registerMallocLabMetrics,
  },
];

/** StepBuilder's methods only encode: the interpreter refuses what they were given before anything runs. */
const BUILDER_CASES: [method: string, input: string, build: (s: StepBuilder) => unknown][] = [
  ['malloc', 'size: a string', (s) => s.malloc('a', 'x' as never)],
  ['calloc', 'nmemb: a string', (s) => s.calloc('a', 'x' as never, 8)],
  ['realloc', 'size: negative', (s) => s.realloc('a', -1)],
  ['free', 'a slot never allocated', (s) => s.free('a')],
  ['memalign', 'alignment: a string', (s) => s.memalign('a', 'x' as never, 8)],
  ['posix_memalign', 'size: NaN', (s) => s.posix_memalign('a', 64, NaN)],
  ['aligned_alloc', 'size: negative', (s) => s.aligned_alloc('a', 64, -1)],
  ['valloc', 'size: Infinity', (s) => s.valloc('a', Infinity)],
  ['fill', 'byte: 256', (s) => s.malloc('a', 8).fill('a', 256)],
  ['touch', 'a slot never allocated', (s) => s.touch('a')],
  ['batchAlloc', 'count: a string', (s) => s.batchAlloc('set', 'x' as never, [{ size: 8 }])],
  ['batchFree', 'a set never allocated', (s) => s.batchFree('set')],
  ['sbrk', 'increment: a fraction', (s) => s.sbrk(0.5)],
  ['mallopt', 'param: unknown', (s) => s.mallopt(42, 1)],
  ['malloc_trim', 'pad: negative', (s) => s.malloc_trim(-1)],
  ['mincore', 'a slot never allocated', (s) => s.mincore('a')],
  ['mlock', 'a slot never allocated', (s) => s.mlock('a')],
  ['munlock', 'a slot never allocated', (s) => s.munlock('a')],
  ['mmap', 'length: negative', (s) => s.mmap('a', -1)],
  ['munmap', 'a malloc block', (s) => s.malloc('a', 8).munmap('a')],
  ['madvise', 'advice: unknown', (s) => s.mmap('a', 4096).madvise('a', 100)],
  ['malloc_usable_size', 'a slot never allocated', (s) => s.malloc_usable_size('a')],
  ['sleep', 'milliseconds: negative', (s) => s.sleep(-1)],
  ['pause', 'fd: 1024', (s) => s.pause(1024)],
  ['threadStart', 'thread 1024', (s) => s.threadStart(1024)],
  ['threadStop', 'a thread not running', (s) => s.threadStop(0)],
  ['onThread', 'a thread never started', (s) => s.onThread(0, (t) => t.malloc('a', 8))],
  ['unsafeFree', 'without the unsafe flag', (s) => s.malloc('a', 8).unsafeFree('a')],
  ['unsafeWrite', 'without the unsafe flag', (s) => s.malloc('a', 8).unsafeWrite('a', 0, 8, 1)],
  ['freeForeign', 'without the unsafe flag', (s) => s.malloc('a', 8).freeForeign('a', 0)],
  ['unsafeRead', 'without the unsafe flag', (s) => s.malloc('a', 8).unsafeRead('a', 8)],
  ['allocaFree', 'without the unsafe flag', (s) => s.allocaFree(64, 'free')],
  ['longjmpLeak', 'without the unsafe flag', (s) => s.longjmpLeak(2, 64)],
  ['freeHookInstall', 'without the unsafe flag', (s) => s.freeHookInstall({ trim: true })],
  ['mlockall', 'without the unsafe flag', (s) => s.mlockall(lab.MCL.MCL_CURRENT)],
  ['alloca', 'size: 0', (s) => s.alloca(0)],
  ['mprobe', 'a slot never allocated', (s) => s.mprobe('a')],
  ['prlimit', 'without the unsafe flag', (s) => s.prlimit(lab.RLIMIT.RLIMIT_DATA, 1)],
  ['allocUntilRefused', 'max: 0', (s) => s.allocUntilRefused('set', 64, 0)],
  ['mmapAboveBreak', 'gap: negative', (s) => s.mmapAboveBreak('a', -1)],
  ['forkHold', 'child 64', (s) => s.forkHold(64, { count: 0, size: 0 })],
  ['forkExit', 'a child never forked', (s) => s.forkExit(0, { free: false })],
  ['forkReap', 'a child that has not exited', (s) => s.forkHold(0, { count: 0, size: 0 }).forkReap(0)],
  ['age', 'count: a string', (s) => s.age('aged', 'x' as never, 1, 5000, [{ weight: 1, min: 16, max: 64 }])],
  ['batchSpan', 'a set never allocated', (s) => s.batchSpan('set')],
  ['batchAdjacent', 'stride 0', (s) => s.batchAlloc('set', 2, [{ size: 8 }]).batchAdjacent('set', 0)],
];

function builderRows(): Row[] {
  return BUILDER_CASES.map(([method, input, build]) => ({
    area: 'step programs',
    fn: `StepBuilder.${method}`,
    input,
    code: BAD_PROGRAM,
    call: () => native.validateProgram(new StepProgram().step('x', (s) => void build(s)).encode()),
  }));
}

/** The rows the function table generates: one per (function, parameter, bad value). */
function generatedRows(): Row[] {
  const rows: Row[] = [];
  for (const spec of FUNCTIONS) {
    spec.params.forEach(([param, values], index) => {
      for (const value of values) {
        rows.push({
          area: spec.area,
          fn: spec.fn,
          input: `${param}: ${value.input}`,
          code: value.code,
          ...(value.errno === undefined ? {} : { errno: value.errno }),
          // Argument errors name the parameter (native ones may name it in C terms).
          // (for a field inside an options object, the field's name).
          ...(value.code === TYPE ? { mentions: [/^(\w+): /.exec(value.input)?.[1] ?? param] } : {}),
          call: () => {
            const valid = spec.valid();
            const args = [...valid.args];
            // Options' fields (offset, length) vary inside the options object.
            const optionsIndex = spec.params.findIndex(([name]) => name === 'options');
            if ((param === 'offset' || param === 'length') && optionsIndex >= 0 && index > optionsIndex) {
              args[optionsIndex] = { ...(args[optionsIndex] as object), [param]: value.value };
            } else {
              // BlockSet methods take the set first.
              const shift = spec.fn.startsWith('BlockSet.') ? 1 : 0;
              args[index + shift] = value.value;
            }
            let result: unknown;
            try {
              result = spec.call(...args);
              return result;
            } finally {
              if (!(result instanceof Promise)) valid.dispose?.(result);
            }
          },
        });
      }
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------
// Scenarios that need state.

function scenarioRows(): Row[] {
  const rows: Row[] = [];
  const add = (
    area: string,
    fn: string,
    input: string,
    code: string | Expected,
    call: () => unknown,
    mentions?: string[],
  ) => rows.push({ area, fn, input, call, ...expectation(code), ...(mentions ? { mentions } : {}) });

  // A stale pointer whose memory glibc has handed out again names the new block: not a failure.
  add(
    'allocation',
    'free',
    'a pointer freed twice (after the first free)',
    FREED,
    () => {
      const p = lab.malloc(48);
      lab.free(p);
      lab.free(p);
    },
    ['already freed'],
  );
  add('allocation', 'realloc', 'a block freed by realloc(ptr, 0)', FREED, () => {
    const p = lab.malloc(48);
    lab.realloc(p, 0);
    lab.realloc(p, 16);
  });
  add('allocation', 'realloc', 'a huge size leaves the block unchanged', ENOMEM, () => {
    const p = lab.malloc(16);
    lab.fill(p, 9);
    try {
      lab.realloc(p, 2 ** 52);
    } finally {
      expect(lab.read(p, 0, 16)).toEqual(new Uint8Array(16).fill(9));
      lab.free(p);
    }
  });
  add('allocation', 'calloc', 'nmemb × size overflows size_t (2^40 × 2^40)', ENOMEM, () =>
    lab.calloc(2 ** 40, 2 ** 40),
  );
  add('allocation', 'free', "a set's block (owned by its BlockSet)", UNKNOWN, () => lab.free(foreign));
  add('allocation', 'free', 'an sbrk segment', NOT_OWNED, () => {
    const segment = lab.sbrk(lab.PAGE_SIZE);
    try {
      lab.free(segment);
    } finally {
      lab.sbrk(-lab.PAGE_SIZE);
    }
  });

  // sbrk: a negative increment only gives back what malloc-lab's last sbrk took.
  add(
    'heap',
    'sbrk',
    'giving back more than the last sbrk took',
    'ERR_SBRK_REFUSED',
    () => {
      lab.sbrk(lab.PAGE_SIZE);
      try {
        lab.sbrk(-2 * lab.PAGE_SIZE);
      } finally {
        lab.sbrk(-lab.PAGE_SIZE);
      }
    },
    ['gives back more'],
  );
  // mallopt: values glibc rejects (0) and absurd ones it would take as a huge size_t or ignore.
  add('heap', 'mallopt', 'M_MXFAST above 160 (glibc returns 0)', 'ERR_MALLOPT_REJECTED', () =>
    lab.mallopt('M_MXFAST', 1 << 20),
  );
  add('heap', 'mallopt', 'M_MXFAST -1 (glibc returns 0)', 'ERR_MALLOPT_REJECTED', () => lab.mallopt('M_MXFAST', -1));
  const absurd: [lab.MalloptName, number][] = [
    ['M_TRIM_THRESHOLD', -2],
    ['M_TOP_PAD', -1],
    ['M_MMAP_THRESHOLD', -1],
    ['M_MMAP_MAX', -1],
    ['M_ARENA_TEST', 0],
    ['M_ARENA_TEST', -8],
    ['M_ARENA_MAX', 0],
    ['M_ARENA_MAX', -1],
  ];
  for (const [name, value] of absurd) {
    add('heap', 'mallopt', `absurd ${name} ${value}`, RANGE, () => lab.mallopt(name, value), [name]);
    add(
      'heap',
      'mallopt',
      `absurd ${name} ${value} by constant`,
      RANGE,
      () => lab.mallopt(lab.MALLOPT_PARAMS[name], value),
      [name],
    );
  }

  // Snapshots of another process cannot carry this process's break or mallinfo.
  add('measurement', 'snapshot', 'brk of another pid', RANGE, () => lab.snapshot(1, { brk: true }));
  add('measurement', 'snapshot', 'mallinfo of another pid', RANGE, () => lab.snapshot(1, { mallinfo: true }));

  // Sets after release, and too many live sets.
  add('batches', 'BlockSet.free', 'a released set', 'ERR_UNKNOWN_SET', () => releasedSet.free());
  add('batches', 'BlockSet.release', 'a released set (twice)', 'ERR_UNKNOWN_SET', () => releasedSet.release());
  add('batches', 'BlockSet.info', 'a released set', 'ERR_UNKNOWN_SET', () => releasedSet.info());
  add('batches', 'BlockSet.address', 'a released set', 'ERR_UNKNOWN_SET', () => releasedSet.address(0));
  add('batches', 'allocBatch', 'more than 4096 live sets', 'ERR_LIMIT_EXCEEDED', () => {
    const sets: lab.BlockSet[] = [];
    try {
      for (let i = 0; i < 4097; i++) sets.push(lab.allocBatch({ count: 1, size: 8 }));
    } finally {
      for (const set of sets) set.release();
    }
  });

  // Threads: a closed thread, and more than the 1024 malloc-lab runs at once.
  for (const method of [
    'malloc',
    'calloc',
    'realloc',
    'free',
    'malloc_trim',
    'fill',
    'touch',
    'malloc_usable_size',
  ] as const) {
    add(
      'threads',
      `AllocatorThread.${method}`,
      'a closed thread',
      RANGE,
      () => {
        const call = closedThread[method] as (...args: unknown[]) => unknown;
        return call.call(
          closedThread,
          method.includes('alloc') && method !== 'realloc' && method !== 'malloc_usable_size' ? 8 : live,
          8,
        );
      },
      ['closed'],
    );
  }
  add('threads', 'startThread', 'more than 1024 allocator threads', 'ERR_LIMIT_EXCEEDED', () => {
    const threads: lab.AllocatorThread[] = [];
    try {
      for (let i = 0; i < 1100; i++) threads.push(lab.startThread());
    } finally {
      for (const t of threads) t.close();
    }
  });
  add('threads', 'AllocatorThread.calloc', 'nmemb × size overflows', ENOMEM, () => thread.calloc(2 ** 40, 2 ** 40));
  add('threads', 'AllocatorThread.fill', 'value 256', RANGE, () => thread.fill(live, 256));
  add(
    'experiments',
    'StepProgram.step',
    'a label used twice',
    BAD_PROGRAM,
    () => new StepProgram().step('a').step('a'),
    ['used twice'],
  );
  return rows;
}

// ---------------------------------------------------------------------------
// Step programs: malformed ones are refused before any step runs (ERR_BAD_PROGRAM).

/** A valid use of every op, with what it needs before it. The mutations below start from these. */
const VALID_STEPS: Record<Exclude<OpName, 'end' | 'on_thread' | 'snapshot'>, (s: StepBuilder) => void> = {
  malloc: (s) => s.malloc('a', 64),
  calloc: (s) => s.calloc('a', 4, 16),
  realloc: (s) => s.malloc('a', 16).realloc('a', 64),
  free: (s) => s.malloc('a', 16).free('a'),
  memalign: (s) => s.memalign('a', 64, 100),
  posix_memalign: (s) => s.posix_memalign('a', 64, 100),
  aligned_alloc: (s) => s.aligned_alloc('a', 64, 128),
  valloc: (s) => s.valloc('a', 100),
  fill: (s) => s.malloc('a', 64).fill('a', 1, 0, 8),
  touch: (s) => s.malloc('a', 64).touch('a'),
  batch_alloc: (s) => s.batchAlloc('set', 4, [{ size: 8 }]),
  batch_free: (s) => s.batchAlloc('set', 4, [{ size: 8 }]).batchFree('set'),
  sbrk: (s) => s.sbrk(4096),
  mallopt: (s) => s.mallopt(lab.MALLOPT_PARAMS.M_TOP_PAD, 0),
  malloc_trim: (s) => s.malloc_trim(0),
  mincore: (s) => s.malloc('a', 64).mincore('a'),
  mlock: (s) => s.mmap('a', 4096).mlock('a'),
  munlock: (s) => s.mmap('a', 4096).munlock('a'),
  mmap: (s) => s.mmap('a', 4096),
  munmap: (s) => s.mmap('a', 4096).munmap('a'),
  madvise: (s) => s.mmap('a', 4096).madvise('a', 4),
  sleep: (s) => s.sleep(1),
  malloc_usable_size: (s) => s.malloc('a', 64).malloc_usable_size('a'),
  arenas: (s) => s.arenas(),
  pause: (s) => s.pause(0),
  thread_start: (s) => s.threadStart(0),
  thread_stop: (s) => s.threadStart(0).threadStop(0),
  unsafe_free: (s) => s.malloc('a', 16).unsafeFree('a'),
  unsafe_write: (s) => s.malloc('a', 16).unsafeWrite('a', 0, 16, 1),
  free_foreign: (s) => s.malloc('a', 16).freeForeign('a', 0),
  unsafe_read: (s) => s.malloc('a', 16).unsafeRead('a', 16),
  alloca_free: (s) => s.allocaFree(64, 'free'),
  longjmp_leak: (s) => s.longjmpLeak(2, 64),
  free_hook_install: (s) => s.freeHookInstall({ trim: false }),
  free_hook_remove: (s) => s.freeHookRemove(),
  clock: (s) => s.clock(),
  heap_range: (s) => s.heapRange(),
  pss: (s) => s.pss(),
  mlockall: (s) => s.mlockall(lab.MCL.MCL_FUTURE),
  munlockall: (s) => s.munlockall(),
  alloca: (s) => s.alloca(4096),
  mtrace: (s) => s.mtrace(),
  muntrace: (s) => s.muntrace(),
  mcheck: (s) => s.mcheck(),
  mprobe: (s) => s.malloc('a', 16).mprobe('a'),
  prlimit: (s) => s.prlimit(lab.RLIMIT.RLIMIT_DATA, 2 ** 30),
  alloc_until_refused: (s) => s.allocUntilRefused('set', 64, 4),
  mmap_above_break: (s) => s.mmapAboveBreak('a', 2 ** 20),
  fork_hold: (s) => s.forkHold(0, { count: 1, size: 8 }),
  fork_exit: (s) => s.forkHold(0, { count: 1, size: 8 }).forkExit(0, { free: true }),
  fork_reap: (s) => s.forkHold(0, { count: 1, size: 8 }).forkExit(0, { free: true }).forkReap(0),
  age: (s) => s.age('aged', 100, 1, 5000, [{ weight: 1, min: 16, max: 64 }]),
  batch_span: (s) => s.batchAlloc('set', 4, [{ size: 8 }]).batchSpan('set', { step: 2, min: 1 }),
  batch_adjacent: (s) => s.batchAlloc('set', 4, [{ size: 8 }]).batchAdjacent('set', 32, { step: 2 }),
};
const UNSAFE_OPS = new Set<OpName>([
  'unsafe_free',
  'unsafe_write',
  'free_foreign',
  'unsafe_read',
  'alloca_free',
  'longjmp_leak',
  'free_hook_install',
  'free_hook_remove',
  'prlimit',
  'mlockall',
]);
/** Ops that use a slot something earlier must have filled. */
const SLOT_USERS: OpName[] = [
  'free',
  'fill',
  'touch',
  'mincore',
  'mlock',
  'munlock',
  'munmap',
  'madvise',
  'malloc_usable_size',
  'unsafe_write',
  'free_foreign',
  'unsafe_read',
  'mprobe',
];
const ALLOCATORS: OpName[] = [
  'malloc',
  'calloc',
  'memalign',
  'posix_memalign',
  'aligned_alloc',
  'valloc',
  'mmap',
  'mmap_above_break',
];

function programOf(op: keyof typeof VALID_STEPS): StepProgram {
  return new StepProgram({ unsafe: UNSAFE_OPS.has(op) }).step(op, VALID_STEPS[op]);
}

/** The encoded position of the last op of a program (the one under test), its op code and argument count. */
function lastOp(encoded: Float64Array): { at: number; argc: number } {
  let at = 6;
  let last = { at, argc: 0 };
  for (let step = 0; step < encoded[5]!; step++) {
    const argc = encoded[at + 1]!;
    if (encoded[at] !== OPS.snapshot) last = { at, argc };
    at += 2 + argc;
  }
  return last;
}

function withValue(encoded: Float64Array, index: number, value: number): Float64Array {
  const copy = Float64Array.from(encoded);
  copy[index] = value;
  return copy;
}

function programRows(): Row[] {
  const rows: Row[] = [];
  const add = (input: string, program: () => Float64Array, mentions?: string[]) =>
    rows.push({
      area: 'step programs',
      fn: 'validateProgram',
      input,
      code: BAD_PROGRAM,
      call: () => native.validateProgram(program()),
      ...(mentions ? { mentions } : {}),
    });

  // Unknown ops: every code up to 64 the interpreter does not know.
  const known = new Set<number>(Object.values(OPS));
  for (let code = 0; code <= 64; code++) {
    if (code !== OPS.end && known.has(code)) continue;
    add(
      `unknown op ${code}`,
      () => {
        const encoded = new StepProgram().step('x', (s) => s.malloc_trim(0)).encode();
        return withValue(encoded, 6, code);
      },
      [`unknown op ${code}`],
    );
  }
  add('an op that is not an integer (1.5)', () =>
    withValue(new StepProgram().step('x', (s) => s.malloc_trim(0)).encode(), 6, 1.5),
  );

  for (const op of Object.keys(VALID_STEPS) as (keyof typeof VALID_STEPS)[]) {
    const encoded = () => programOf(op).encode();
    const { at, argc } = lastOp(encoded());
    if (op !== 'batch_alloc' && op !== 'age') {
      add(
        `${op}: one argument too many`,
        () => {
          const e = encoded();
          return Float64Array.from([
            ...e.subarray(0, at + 1),
            argc + 1,
            ...e.subarray(at + 2, at + 2 + argc),
            0,
            ...e.subarray(at + 2 + argc),
          ]);
        },
        ['arguments'],
      );
    }
    for (let i = 0; i < argc; i++) {
      add(`${op}: argument ${i} is NaN`, () => withValue(encoded(), at + 2 + i, NaN), ['not finite']);
      add(`${op}: argument ${i} is Infinity`, () => withValue(encoded(), at + 2 + i, Infinity), ['not finite']);
      add(`${op}: argument ${i} is a fraction`, () => withValue(encoded(), at + 2 + i, 0.5));
    }
    if (UNSAFE_OPS.has(op)) {
      add(`${op} without the unsafe flag`, () => withValue(encoded(), 4, 0), ['unsafe flag']);
    }
  }
  for (const op of [...SLOT_USERS, ...ALLOCATORS]) {
    add(
      `${op}: a slot that does not exist`,
      () => {
        const e = programOf(op as keyof typeof VALID_STEPS).encode();
        return withValue(e, lastOp(e).at + 2, e[2]!);
      },
      ['does not exist'],
    );
  }
  // Dangling references: a slot used before anything filled it, or after it was freed.
  for (const op of SLOT_USERS) {
    const unsafe = UNSAFE_OPS.has(op);
    const use = (s: StepBuilder) => {
      const call = VALID_STEPS[op as keyof typeof VALID_STEPS];
      // The valid step's own setup is skipped by calling the op alone on slot b.
      if (op === 'free') s.free('b');
      else if (op === 'fill') s.fill('b', 1);
      else if (op === 'touch') s.touch('b');
      else if (op === 'mincore') s.mincore('b');
      else if (op === 'mlock') s.mlock('b');
      else if (op === 'munlock') s.munlock('b');
      else if (op === 'munmap') s.munmap('b');
      else if (op === 'madvise') s.madvise('b', 4);
      else if (op === 'malloc_usable_size') s.malloc_usable_size('b');
      else if (op === 'unsafe_write') s.unsafeWrite('b', 0, 1, 1);
      else if (op === 'free_foreign') s.freeForeign('b', 0);
      else if (op === 'unsafe_read') s.unsafeRead('b', 0);
      else if (op === 'mprobe') s.mprobe('b');
      else call(s);
    };
    add(`${op}: a slot never allocated (dangling)`, () =>
      new StepProgram({ unsafe })
        .step('x', (s) => {
          s.malloc('a', 8);
          use(s);
        })
        .encode(),
    );
    const allocate = (s: StepBuilder) =>
      op === 'munmap' || op === 'mlock' || op === 'munlock' || op === 'madvise' ? s.mmap('b', 4096) : s.malloc('b', 64);
    const release = (s: StepBuilder) =>
      op === 'munmap' || op === 'mlock' || op === 'munlock' || op === 'madvise' ? s.munmap('b') : s.free('b');
    add(
      `${op}: a slot already freed (use after free${op === 'free' || op === 'munmap' ? ', a step that frees twice' : ''})`,
      () =>
        new StepProgram({ unsafe })
          .step('x', (s) => {
            allocate(s);
            release(s);
            use(s);
          })
          .encode(),
    );
  }
  add(
    'realloc of a freed slot (dangling: glibc would see a double free)',
    () => new StepProgram().step('x', (s) => s.malloc('a', 24).free('a').realloc('a', 48)).encode(),
    ['was freed'],
  );
  add('realloc of a mapping', () => new StepProgram().step('x', (s) => s.mmap('a', 4096).realloc('a', 48)).encode(), [
    'mapping',
  ]);
  add(
    'malloc over a live slot (a leak)',
    () => new StepProgram().step('x', (s) => s.malloc('a', 8).malloc('a', 8)).encode(),
    ['still holds'],
  );
  add('free of a mapping', () => new StepProgram().step('x', (s) => s.mmap('a', 4096).free('a')).encode());
  add('munmap of a malloc block', () => new StepProgram().step('x', (s) => s.malloc('a', 64).munmap('a')).encode());
  add('malloc_usable_size of a mapping', () =>
    new StepProgram().step('x', (s) => s.mmap('a', 4096).malloc_usable_size('a')).encode(),
  );
  add('negative malloc size', () => new StepProgram().step('x', (s) => s.malloc('a', -5)).encode(), ['negative']);
  add('fill with byte 256', () => new StepProgram().step('x', (s) => s.malloc('a', 8).fill('a', 256)).encode());
  add('fill at a negative offset', () =>
    new StepProgram().step('x', (s) => s.malloc('a', 8).fill('a', 1, -1)).encode(),
  );
  add('negative malloc_trim pad', () => new StepProgram().step('x', (s) => s.malloc_trim(-1)).encode());
  add('negative sleep', () => new StepProgram().step('x', (s) => s.sleep(-1)).encode());
  add('pause on fd -1', () => new StepProgram().step('x', (s) => s.pause(-1)).encode(), ['pause']);
  add('pause on fd 1024', () => new StepProgram().step('x', (s) => s.pause(1024)).encode(), ['pause']);
  add('pause on a thread', () =>
    new StepProgram().step('x', (s) => s.threadStart(0).onThread(0, (t) => t.pause(0))).encode(),
  );
  add('mallopt with an unknown param (42)', () => new StepProgram().step('x', (s) => s.mallopt(42, 1)).encode(), [
    'unknown param',
  ]);
  add('mallopt param 2^32 − 1 (not a C int)', () =>
    new StepProgram().step('x', (s) => s.mallopt(2 ** 32 - 1, 1)).encode(),
  );
  add('mallopt value 2^40 (not a C int)', () => new StepProgram().step('x', (s) => s.mallopt(-1, 2 ** 40)).encode(), [
    'C ints',
  ]);
  add(
    'madvise with an unknown advice (MADV_HWPOISON, 100)',
    () => new StepProgram().step('x', (s) => s.mmap('a', 4096).madvise('a', 100)).encode(),
    ['advice'],
  );
  add(
    'madvise with a negative advice',
    () => new StepProgram().step('x', (s) => s.mmap('a', 4096).madvise('a', -1)).encode(),
    ['advice'],
  );
  add('mprobe of a mapping', () => new StepProgram().step('x', (s) => s.mmap('a', 4096).mprobe('a')).encode(), [
    'no malloc block',
  ]);
  add('unsafe_read 17 bytes before a block', () =>
    new StepProgram({ unsafe: true }).step('x', (s) => s.malloc('a', 16).unsafeRead('a', -17)).encode(),
  );
  add('alloca of 0 bytes', () => new StepProgram().step('x', (s) => s.alloca(0)).encode(), ['size']);
  add('alloca of more than 64 MiB', () => new StepProgram().step('x', (s) => s.alloca(2 ** 26 + 1)).encode(), ['size']);
  add('alloca_free with call 2', () => {
    const e = new StepProgram({ unsafe: true }).step('x', (s) => s.allocaFree(64, 'free')).encode();
    return withValue(e, 6 + 2 + 1, 2);
  });
  add('longjmp_leak 65 frames deep', () =>
    new StepProgram({ unsafe: true }).step('x', (s) => s.longjmpLeak(65, 64)).encode(),
  );
  add('longjmp_leak of 0 frames', () =>
    new StepProgram({ unsafe: true }).step('x', (s) => s.longjmpLeak(0, 64)).encode(),
  );
  add('mlockall with flags 0', () => new StepProgram({ unsafe: true }).step('x', (s) => s.mlockall(0)).encode(), [
    'MCL_',
  ]);
  add(
    'prlimit of RLIMIT_STACK (3)',
    () => new StepProgram({ unsafe: true }).step('x', (s) => s.prlimit(3, 0)).encode(),
    ['RLIMIT_DATA'],
  );
  add('prlimit with a negative headroom', () =>
    new StepProgram({ unsafe: true }).step('x', (s) => s.prlimit(lab.RLIMIT.RLIMIT_AS, -1)).encode(),
  );
  add('alloc_until_refused with max 0', () =>
    new StepProgram().step('x', (s) => s.allocUntilRefused('set', 64, 0)).encode(),
  );
  add(
    'alloc_until_refused into a set that still holds blocks',
    () =>
      new StepProgram()
        .step('x', (s) => s.batchAlloc('set', 1, [{ size: 8 }]).allocUntilRefused('set', 64, 4))
        .encode(),
    ['still holds'],
  );
  add(
    'fork_exit of a child never forked',
    () => new StepProgram().step('x', (s) => s.forkExit(0, { free: false })).encode(),
    ['holds nothing'],
  );
  add(
    'fork_reap of a child that has not exited',
    () => new StepProgram().step('x', (s) => s.forkHold(0, { count: 0, size: 0 }).forkReap(0)).encode(),
    ['not exited'],
  );
  add(
    'fork_hold of a child that already holds',
    () =>
      new StepProgram()
        .step('x', (s) => s.forkHold(0, { count: 0, size: 0 }).forkHold(0, { count: 0, size: 0 }))
        .encode(),
    ['already holds'],
  );
  add(
    'fork_hold of child 64 (outside 0 to 63)',
    () => new StepProgram().step('x', (s) => s.forkHold(64, { count: 0, size: 0 })).encode(),
    ['outside'],
  );
  add('batch_alloc of zero rounds', () =>
    new StepProgram().step('x', (s) => s.batchAlloc('set', 0, [{ size: 8 }])).encode(),
  );
  add('batch_alloc of more than 2^28 blocks', () =>
    new StepProgram().step('x', (s) => s.batchAlloc('set', 2 ** 27, [{ size: 8 }, { size: 8 }, { size: 8 }])).encode(),
  );
  add('batch_alloc with a pattern of 65 entries', () =>
    new StepProgram()
      .step('x', (s) =>
        s.batchAlloc(
          'set',
          1,
          Array.from({ length: 65 }, () => ({ size: 8 })),
        ),
      )
      .encode(),
  );
  add('batch_alloc with kind 2', () => {
    const e = new StepProgram().step('x', (s) => s.batchAlloc('set', 1, [{ size: 8 }])).encode();
    return withValue(e, 6 + 2 + 2, 2);
  });
  add(
    'batch_alloc into a set that still holds blocks',
    () =>
      new StepProgram()
        .step('x', (s) => s.batchAlloc('set', 1, [{ size: 8 }]).batchAlloc('set', 1, [{ size: 8 }]))
        .encode(),
    ['still holds'],
  );
  add('batch_free of a set never allocated', () => new StepProgram().step('x', (s) => s.batchFree('set')).encode(), [
    'holds no blocks',
  ]);
  add('batch_free with step 0', () =>
    new StepProgram().step('x', (s) => s.batchAlloc('set', 2, [{ size: 8 }]).batchFree('set', { step: 0 })).encode(),
  );
  add('batch_free with min above max', () =>
    new StepProgram()
      .step('x', (s) => s.batchAlloc('set', 2, [{ size: 8 }]).batchFree('set', { min: 3, max: 2 }))
      .encode(),
  );
  const ageStep = (count: number, freed: number, classes: { weight: number; min: number; max: number }[]) => () =>
    new StepProgram().step('x', (s) => s.age('aged', count, 1, freed, classes)).encode();
  add('age of zero blocks', ageStep(0, 5000, [{ weight: 1, min: 16, max: 64 }]), ['count']);
  add('age of more than 2^28 blocks', ageStep(2 ** 28 + 1, 5000, [{ weight: 1, min: 16, max: 64 }]), ['count']);
  add('age freeing 10001 basis points', ageStep(10, 10_001, [{ weight: 1, min: 16, max: 64 }]), ['basis points']);
  add('age with no class', ageStep(10, 5000, []), ['classes']);
  add(
    'age with 17 classes',
    ageStep(
      10,
      5000,
      Array.from({ length: 17 }, () => ({ weight: 1, min: 16, max: 64 })),
    ),
    ['classes'],
  );
  add('age with a class whose max is below its min', ageStep(10, 5000, [{ weight: 1, min: 64, max: 16 }]), [
    'min <= max',
  ]);
  add('age with a class above 1 GiB', ageStep(10, 5000, [{ weight: 1, min: 16, max: 2 ** 30 + 1 }]), ['min <= max']);
  add('age with weights that add up to 0', ageStep(10, 5000, [{ weight: 0, min: 16, max: 64 }]), ['add up to 0']);
  add('age with a weight above 2^32 - 1', ageStep(10, 5000, [{ weight: 2 ** 32, min: 16, max: 64 }]), ['weight']);
  add(
    'age with a negative seed',
    () => {
      const e = new StepProgram()
        .step('x', (s) => s.age('aged', 10, 1, 5000, [{ weight: 1, min: 16, max: 64 }]))
        .encode();
      return withValue(e, 6 + 2 + 2, -1);
    },
    ['seed'],
  );
  add(
    'age into a set that still holds blocks',
    () =>
      new StepProgram()
        .step('x', (s) =>
          s.batchAlloc('set', 1, [{ size: 8 }]).age('set', 10, 1, 5000, [{ weight: 1, min: 16, max: 64 }]),
        )
        .encode(),
    ['still holds'],
  );
  add('batch_span of a set never allocated', () => new StepProgram().step('x', (s) => s.batchSpan('set')).encode(), [
    'holds no blocks',
  ]);
  add('batch_span with step 0', () =>
    new StepProgram().step('x', (s) => s.batchAlloc('set', 2, [{ size: 8 }]).batchSpan('set', { step: 0 })).encode(),
  );
  add('batch_span with min 0', () =>
    new StepProgram().step('x', (s) => s.batchAlloc('set', 2, [{ size: 8 }]).batchSpan('set', { min: 0 })).encode(),
  );
  add(
    'on_thread of a thread never started',
    () => new StepProgram().step('x', (s) => s.onThread(0, (t) => t.malloc('a', 8))).encode(),
    ['not running'],
  );
  add('thread_start twice', () => new StepProgram().step('x', (s) => s.threadStart(0).threadStart(0)).encode(), [
    'already runs',
  ]);
  add('thread_stop of a thread not running', () => new StepProgram().step('x', (s) => s.threadStop(3)).encode(), [
    'not running',
  ]);
  add('thread 1024 (outside 0 to 1023)', () => new StepProgram().step('x', (s) => s.threadStart(1024)).encode());
  add(
    'a snapshot on a thread',
    () => {
      const e = new StepProgram().step('x', (s) => s.threadStart(0)).encode();
      return Float64Array.from([
        ...e.subarray(0, 5),
        e[5]! + 2,
        ...e.subarray(6),
        OPS.on_thread,
        1,
        0,
        OPS.snapshot,
        0,
      ]);
    },
    ['cannot run on a thread'],
  );
  add(
    'on_thread as the last step',
    () => {
      const e = new StepProgram().step('x', (s) => s.threadStart(0)).encode();
      return Float64Array.from([...e.subarray(0, 5), e[5]! + 1, ...e.subarray(6), OPS.on_thread, 1, 0]);
    },
    ['no step after it'],
  );
  // The header.
  const header = () => new StepProgram().step('x', (s) => s.malloc_trim(0)).encode();
  add('no header (three values)', () => Float64Array.from([1, 2, 3]), ['not a step program']);
  add('an empty program', () => new Float64Array(0), ['not a step program']);
  add('a wrong magic number', () => withValue(header(), 0, PROGRAM_MAGIC + 1), ['not a step program']);
  add('version 2', () => withValue(header(), 1, 2), ['version']);
  add('2^20 slots', () => withValue(header(), 2, 2 ** 20), ['header']);
  add('flags 4', () => withValue(header(), 4, 4), ['header']);
  add('a negative step count', () => withValue(header(), 5, -1), ['header']);
  add('more steps announced than present', () => withValue(header(), 5, header()[5]! + 1), ['ends inside']);
  add('fewer steps announced than present (trailing values)', () => withValue(header(), 5, header()[5]! - 1), [
    'after the last step',
  ]);
  add('a program cut in the middle of a step', () => header().subarray(0, header().length - 1), ['ends inside']);
  add('not a Float64Array', () => Array.from(header()) as unknown as Float64Array);
  return rows;
}

// ---------------------------------------------------------------------------

const MATRIX: Row[] = [...generatedRows(), ...scenarioRows(), ...programRows(), ...builderRows()];

/** The package's entry points (package.json "exports"), as a user imports them. */
const ENTRY_POINTS: Record<string, object> = {
  'malloc-lab': lab,
  'malloc-lab/probe': probeEntry,
  'malloc-lab/vitest': vitestEntry,
  'malloc-lab/prometheus': prometheusEntry,
};
/** MallocLabError is the error type itself: it holds whatever message and code it is given. */
const EXEMPT_CLASSES = new Set(['MallocLabError']);

/** A function's parameter names, from its source (a default value still makes a parameter). */
function parameters(fn: unknown): string[] {
  const source = Function.prototype.toString.call(fn);
  const body = source.startsWith('class')
    ? (/constructor\s*\(([^)]*)\)/.exec(source)?.[1] ?? '')
    : (/^[^(]*\(([^)]*)\)/.exec(source)?.[1] ?? '');
  return body
    .split(',')
    .map(
      (part) =>
        part
          .trim()
          .replace(/^\.\.\./, '')
          .split(/[\s=:]/)[0]!,
    )
    .filter((name) => name !== '');
}

/** Under a sanitizer's allocator (scripts/asan.sh), rows about what glibc itself answers do not apply. */
const SANITIZED = process.env['MALLOC_LAB_SANITIZER'] !== undefined;
function glibcOnly(row: Row): boolean {
  // ASan's aligned_alloc wants size % alignment == 0 (EINVAL first); its shadow memory maps the "unmapped" ranges.
  return (
    (row.fn === 'aligned_alloc' && row.code === 'ENOMEM') ||
    ((row.fn === 'mincore' || row.fn === 'residency') && row.code === 'ENOMEM')
  );
}

/** The error a call throws or its promise rejects with (failing the test if it does neither). */
async function failure(call: () => unknown): Promise<Error & { code?: string; errno?: number }> {
  try {
    await call();
  } catch (error) {
    return error as Error & { code?: string; errno?: number };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
// The "not a Float64Array" program is a type error, not a malformed program.
for (const row of MATRIX) if (row.input === 'not a Float64Array') row.code = TYPE;

describe('the bad-input matrix', () => {
  it('covers every export of every entry point that takes arguments, and every step op', () => {
    const covered = new Set(MATRIX.map((row) => row.fn));
    const missing: string[] = [];
    for (const [entry, exports] of Object.entries(ENTRY_POINTS)) {
      for (const [name, value] of Object.entries(exports)) {
        if (typeof value === 'function' && /^[A-Z]/.test(name)) {
          // A class: its constructor and every method that takes arguments.
          if (EXEMPT_CLASSES.has(name)) continue;
          if (parameters(value).length > 0 && !covered.has(`new ${name}`)) missing.push(`${entry}: new ${name}`);
          for (const method of Object.getOwnPropertyNames(value.prototype)) {
            const member = Object.getOwnPropertyDescriptor(value.prototype, method)!.value as unknown;
            if (method === 'constructor' || typeof member !== 'function' || parameters(member).length === 0) continue;
            if (!covered.has(`${name}.${method}`)) missing.push(`${entry}: ${name}.${method}`);
          }
        } else if (typeof value === 'function') {
          if (parameters(value).length > 0 && !covered.has(name)) missing.push(`${entry}: ${name}`);
        } else if (name === 'mallocLabMatchers') {
          for (const matcher of Object.keys(value as object))
            if (!covered.has(matcher)) missing.push(`${entry}: ${name}.${matcher}`);
        }
      }
    }
    expect(missing).toEqual([]);
    const ops = Object.keys(OPS).filter((op) => !['end', 'snapshot', 'on_thread'].includes(op));
    expect(ops.filter((op) => !(op in VALID_STEPS))).toEqual([]);
    expect(MATRIX.length).toBeGreaterThan(900);
  });

  it('finds the parameters it checks coverage by (so a function without rows cannot hide as parameterless)', () => {
    expect(parameters(lab.malloc)).toEqual(['size']);
    expect(parameters(lab.malloc_trim)).toEqual(['pad']);
    expect(parameters(lab.formatBytes)).toEqual(['bytes', 'options']);
    expect(parameters(lab.registryStats)).toEqual([]);
    expect(parameters(lab.BlockSet)).toEqual(['id', 'blocks']);
  });

  it("every function spec's valid call succeeds (so each case fails because of the one bad value)", async () => {
    for (const spec of FUNCTIONS) {
      // Another allocator (a sanitizer's) has its own mallopt.
      if (SANITIZED && spec.fn === 'mallopt') continue;
      const valid = spec.valid();
      let result: unknown;
      try {
        result = await spec.call(...valid.args);
      } finally {
        valid.dispose?.(result);
      }
    }
    for (const op of Object.keys(VALID_STEPS) as (keyof typeof VALID_STEPS)[]) {
      expect(() => native.validateProgram(programOf(op).encode()), op).not.toThrow();
    }
  });

  for (const row of MATRIX) {
    it.skipIf(SANITIZED && glibcOnly(row))(`${row.fn} — ${row.input} → ${row.code}`, async () => {
      const error = await failure(row.call);
      expect(error).toBeInstanceOf(lab.MallocLabError);
      expect({ code: error.code, message: error.message }).toMatchObject({ code: row.code });
      if (row.errno !== undefined) expect(error.errno).toBe(row.errno);
      for (const word of row.mentions ?? []) expect(error.message).toContain(word);
      expect(error.message.length).toBeGreaterThan(20);
    });
  }

  it('the process carries on, and the refused calls left the registry as it was', () => {
    const block = lab.malloc(128);
    lab.fill(block, 7);
    expect(lab.read(block, 0, 4)).toEqual(new Uint8Array([7, 7, 7, 7]));
    lab.free(block);
    expect(lab.liveThreads()).toBe(1); // the fixture thread: every thread a case started is closed
    // Only the fixtures still live: the 64-byte block and the 4-page mapping.
    expect(lab.registryStats()).toEqual({
      liveBlocks: registryBefore.liveBlocks + 2,
      liveBytes: registryBefore.liveBytes + 64 + lab.PAGE_SIZE * 4,
    });
  });

  it("the README's error table lists every code the matrix yields", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const codes = [...new Set(MATRIX.map((row) => row.code))].sort();
    expect(codes.filter((code) => !readme.includes(`\`${code}\``))).toEqual([]);
  });

  afterAll(() => {
    rmSync(scratchDirectory, { recursive: true, force: true });
    thread.close();
    foreignSet.release();
    const target = process.env['MATRIX_MARKDOWN'];
    if (target) writeFileSync(target, markdown(MATRIX));
  });
});

/** The matrix as the README shows it: per code, how many cases and which inputs. */
function markdown(rows: Row[]): string {
  const byCode = new Map<string, Row[]>();
  for (const row of rows) byCode.set(row.code, [...(byCode.get(row.code) ?? []), row]);
  const lines = [`| code | cases | functions | examples |`, `| --- | --- | --- | --- |`];
  for (const [code, list] of [...byCode].sort((a, b) => b[1].length - a[1].length)) {
    const fns = [...new Set(list.map((row) => row.fn))];
    const examples = [...new Set(list.map((row) => row.input.replace(/^[a-z.]+: /i, '')))].slice(0, 6).join('; ');
    lines.push(
      `| \`${code}\` | ${list.length} | ${fns.length > 8 ? `${fns.slice(0, 8).join(', ')}, … (${fns.length})` : fns.join(', ')} | ${examples.replace(/\|/g, '\\|')} |`,
    );
  }
  return `${lines.join('\n')}\n\n${rows.length} cases in all.\n`;
}
