// Resource exhaustion. Each scenario runs in a child Node process with a lowered
// limit (RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK, RLIMIT_NPROC): the allocation that
// the limit forbids is a typed error carrying its errno (not null, not a crash), the
// registry is unchanged by it, and the child keeps working afterwards. Limits derive
// from what the child itself uses when it starts, never from a fixed number.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addonPath } from '../lib/infra/native.js';
import { packageRoot } from '../lib/probe.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * The child: one scenario per argv[2]. It prints one JSON object: for each attempt
 * the error's class, code, errno and syscall (or "returned"), and its own checks.
 */
const CHILD = String.raw`
import { readFileSync } from 'node:fs';
const lab = await import('./dist/index.js');

function attempt(fn) {
  try {
    const value = fn();
    return { returned: typeof value === 'bigint' ? '0x' + value.toString(16) : String(value) };
  } catch (error) {
    return { name: error?.name, code: error?.code, errno: error?.errno, syscall: error?.syscall, message: String(error?.message) };
  }
}

/** The soft limit of one resource from /proc/self/limits, in bytes (or a count). */
function limit(label) {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(label));
  const soft = line.slice(26).trim().split(/\s+/)[0];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

/** The process still allocates, writes, reads, maps and frees, and its registry is as before. */
function keepsWorking(registryBefore) {
  const block = lab.malloc(MiB);
  lab.fill(block, 0x5a);
  const bytes = lab.read(block, MiB - 4, 4);
  lab.free(block);
  const mapping = lab.mmap(64 * 1024);
  lab.touch(mapping);
  lab.munmap(mapping, 64 * 1024);
  const thread = lab.startThread();
  lab.free(thread.malloc(4096));
  thread.close();
  return { readBack: Array.from(bytes), registryAfter: lab.registryStats(), registryBefore };
}

const MiB = 1024 * 1024;
const scenario = process.argv[2];
const out = { scenario };
const registryBefore = lab.registryStats();

if (scenario === 'baseline') {
  const status = lab.status();
  out.VmSize = status.VmSize;
  out.VmData = status.VmData;
  out.Threads = status.Threads;
} else if (scenario === 'address-space' || scenario === 'data') {
  const status = lab.status();
  const ceiling = scenario === 'address-space' ? limit('Max address space') : limit('Max data size');
  const used = scenario === 'address-space' ? status.VmSize : status.VmData;
  // More than the limit leaves room for, rounded to whole MiB.
  const tooBig = Math.ceil((ceiling - used) / MiB) * MiB + 256 * MiB;
  out.ceiling = ceiling;
  out.used = used;
  out.tooBig = tooBig;
  const keep = lab.malloc(64);
  lab.fill(keep, 7);
  const thread = lab.startThread();
  out.attempts = {
    malloc: attempt(() => lab.malloc(tooBig)),
    calloc: attempt(() => lab.calloc(1, tooBig)),
    valloc: attempt(() => lab.valloc(tooBig)),
    posix_memalign: attempt(() => lab.posix_memalign(4096, tooBig)),
    aligned_alloc: attempt(() => lab.aligned_alloc(4096, tooBig)),
    memalign: attempt(() => lab.memalign(4096, tooBig)),
    realloc: attempt(() => lab.realloc(keep, tooBig)),
    mmap: attempt(() => lab.mmap(tooBig)),
    sbrk: attempt(() => lab.sbrk(tooBig)),
    allocBatch: attempt(() => lab.allocBatch({ count: 16, size: Math.ceil(tooBig / 16) })),
    'AllocatorThread.malloc': attempt(() => thread.malloc(tooBig)),
  };
  out.reallocKept = Array.from(lab.read(keep, 0, 64)).every((b) => b === 7);
  thread.close();
  lab.free(keep);
  // Memory within the limit still comes, from every source. Now and then a Node process has
  // a mapping right above its break (V8's code range): brk cannot grow whatever the limit, so
  // the child says so and the test starts another (as the node host does).
  const { room } = lab.breakRoom();
  if (room < 64 * 1024) {
    process.stdout.write(JSON.stringify({ scenario, walledIn: room }));
    process.exit(0);
  }
  const segment = lab.sbrk(64 * 1024);
  lab.fill(segment, 1);
  out.sbrkBack = attempt(() => lab.sbrk(-64 * 1024));
  out.after = keepsWorking(registryBefore);
} else if (scenario === 'memlock') {
  out.memlock = limit('Max locked memory');
  const page = lab.PAGE_SIZE;
  const mapping = lab.mmap(MiB);
  const block = lab.malloc(MiB);
  out.attempts = {
    'mlock (mapping)': attempt(() => lab.mlock(mapping, MiB)),
    'mlock (malloc block)': attempt(() => lab.mlock(block, MiB)),
  };
  // Within the limit, locking works and shows in VmLck.
  out.lockPage = attempt(() => lab.mlock(mapping, page));
  out.VmLckLocked = lab.status().VmLck;
  out.unlockPage = attempt(() => lab.munlock(mapping, page));
  out.VmLckAfter = lab.status().VmLck;
  lab.munmap(mapping, MiB);
  lab.free(block);
  out.after = keepsWorking(registryBefore);
} else if (scenario === 'threads') {
  out.nproc = limit('Max processes');
  const threads = [];
  let failure;
  for (let i = 0; i < 2000 && failure === undefined; i++) {
    const result = attempt(() => threads.push(lab.startThread()));
    if (result.code !== undefined) failure = result;
  }
  out.started = threads.length;
  out.attempts = { startThread: failure };
  out.liveWhileFull = lab.liveThreads();
  for (const thread of threads) thread.close();
  out.liveAfterClose = lab.liveThreads();
  out.after = keepsWorking(registryBefore);
  out.liveAtEnd = lab.liveThreads();
}
process.stdout.write(JSON.stringify(out));
`;

let stage: string;
/** Runs in the children as the unprivileged user when we are root, else as ourselves. */
const nobody: SpawnSyncOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

interface Attempt {
  name?: string;
  code?: string;
  errno?: number;
  syscall?: string;
  message?: string;
  returned?: string;
}
interface ChildResult {
  scenario: string;
  attempts: Record<string, Attempt>;
  after: { readBack: number[]; registryAfter: unknown; registryBefore: unknown };
  [key: string]: unknown;
}

/** Node processes started before a test gives up on finding one whose break can grow. */
const MAX_STARTS = 6;

/**
 * Runs a scenario under `ulimit` settings; the child must exit normally with its JSON.
 * A child whose brk heap was walled in (it says so) is run again, up to MAX_STARTS times.
 */
function child(scenario: string, ulimit: string, options: SpawnSyncOptions = {}): ChildResult {
  for (let start = 1; ; start++) {
    const result = childOnce(scenario, ulimit, options);
    if (result['walledIn'] === undefined) return result;
    expect(start, `${MAX_STARTS} Node processes in a row had a mapping right above the break`).toBeLessThan(MAX_STARTS);
  }
}

function childOnce(scenario: string, ulimit: string, options: SpawnSyncOptions): ChildResult {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MALLOC_LAB_ADDON: join(stage, 'build', 'Release', 'malloc_lab.node'),
  };
  delete env['LD_PRELOAD'];
  delete env['NODE_OPTIONS'];
  const run = spawnSync('bash', ['-c', `${ulimit} exec "$0" child.mjs ${scenario}`, process.execPath], {
    cwd: stage,
    env,
    encoding: 'utf8',
    timeout: 60_000,
    ...options,
  });
  expect({ scenario, status: run.status, signal: run.signal, stderr: String(run.stderr) }).toEqual({
    scenario,
    status: 0,
    signal: null,
    stderr: '',
  });
  return JSON.parse(String(run.stdout)) as ChildResult;
}

function expectTypedErrno(attempt: Attempt | undefined, code: string, errno: number): void {
  expect(attempt, 'the call must fail').toBeDefined();
  expect(attempt).toMatchObject({ name: 'MallocLabError', code, errno });
  expect(attempt!.returned).toBeUndefined();
}

function expectStillWorking(result: ChildResult): void {
  expect(result.after.readBack).toEqual([0x5a, 0x5a, 0x5a, 0x5a]);
  expect(result.after.registryAfter).toEqual(result.after.registryBefore);
}

beforeAll(() => {
  // A copy of the package every user can read (the unprivileged child cannot read a
  // checkout under a private home), with the addon this process loaded.
  stage = mkdtempSync(join(tmpdir(), 'malloc-lab-exhaustion-'));
  cpSync(join(packageRoot, 'dist'), join(stage, 'dist'), { recursive: true });
  cpSync(join(packageRoot, 'package.json'), join(stage, 'package.json'));
  mkdirSync(join(stage, 'build', 'Release'), { recursive: true });
  cpSync(addonPath, join(stage, 'build', 'Release', 'malloc_lab.node'));
  writeFileSync(join(stage, 'child.mjs'), CHILD);
  const open = (path: string) => {
    chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) open(join(path, entry));
  };
  open(stage);
  chmodSync(join(stage, 'build', 'Release', 'malloc_lab.node'), 0o755);
});

afterAll(() => {
  if (stage) rmSync(stage, { recursive: true, force: true });
});

const ALLOCATORS = [
  'malloc',
  'calloc',
  'valloc',
  'posix_memalign',
  'aligned_alloc',
  'memalign',
  'realloc',
  'mmap',
  'allocBatch',
  'AllocatorThread.malloc',
];

describe('resource exhaustion in a child process', () => {
  it('RLIMIT_AS (ulimit -v): every allocator and sbrk fail with a typed ENOMEM, and the process keeps working', () => {
    const baseline = child('baseline', '');
    const limitKiB = Math.ceil(((baseline['VmSize'] as number) + GiB) / 1024);
    const result = child('address-space', `ulimit -v ${limitKiB};`);
    expect(result['ceiling']).toBe(limitKiB * 1024);
    for (const name of ALLOCATORS) expectTypedErrno(result.attempts[name], 'ENOMEM', 12);
    expectTypedErrno(result.attempts['sbrk'], 'ENOMEM', 12);
    expect(result.attempts['sbrk']!.syscall).toBe('sbrk');
    expect(result.attempts['malloc']!.message).toContain(`requested ${result['tooBig']} bytes`);
    expect(result['reallocKept']).toBe(true); // a failed realloc leaves the block as it was
    expect(result['sbrkBack']).toEqual({ returned: expect.any(String) });
    expectStillWorking(result);
  });

  it('RLIMIT_DATA (ulimit -d): malloc, mmap and sbrk past the data limit fail with a typed ENOMEM', () => {
    const baseline = child('baseline', '');
    const limitKiB = Math.ceil(((baseline['VmData'] as number) + GiB) / 1024);
    const result = child('data', `ulimit -d ${limitKiB};`);
    expect(result['ceiling']).toBe(limitKiB * 1024);
    for (const name of ALLOCATORS) expectTypedErrno(result.attempts[name], 'ENOMEM', 12);
    expectTypedErrno(result.attempts['sbrk'], 'ENOMEM', 12);
    expect(result['reallocKept']).toBe(true);
    expect(result['sbrkBack']).toEqual({ returned: expect.any(String) });
    expectStillWorking(result);
  });

  it('RLIMIT_MEMLOCK (ulimit -l 64) as a non-root user: mlock past it is ENOMEM, within it works', () => {
    const result = child('memlock', 'ulimit -l 64;', nobody);
    expect(result['memlock']).toBe(64 * 1024);
    for (const name of ['mlock (mapping)', 'mlock (malloc block)']) {
      expectTypedErrno(result.attempts[name], 'ENOMEM', 12);
      expect(result.attempts[name]!.syscall).toBe('mlock');
      expect(result.attempts[name]!.message).toContain('RLIMIT_MEMLOCK');
    }
    expect(result['lockPage']).toEqual({ returned: 'undefined' });
    expect(result['VmLckLocked']).toBeGreaterThan(0);
    expect(result['VmLckAfter']).toBe(0);
    expectStillWorking(result);
  });

  it('RLIMIT_MEMLOCK 0 (ulimit -l 0) as a non-root user: any mlock is EPERM', () => {
    const result = child('memlock', 'ulimit -l 0;', nobody);
    expect(result['memlock']).toBe(0);
    expectTypedErrno(result.attempts['mlock (mapping)'], 'EPERM', 1);
    expect(result['lockPage']).toMatchObject({ code: 'EPERM', errno: 1 });
    expectStillWorking(result);
  });

  it('RLIMIT_NPROC (ulimit -u) as a non-root user: too many threads is a typed EAGAIN; closing some lets more start', () => {
    const baseline = child('baseline', '', nobody);
    // Room for a few dozen allocator threads beyond what Node itself runs.
    const limit = (baseline['Threads'] as number) + 40;
    const result = child('threads', `ulimit -u ${limit};`, nobody);
    expectTypedErrno(result.attempts['startThread'], 'EAGAIN', 11);
    expect(result.attempts['startThread']!.syscall).toBe('pthread_create');
    expect(result['started']).toBeGreaterThan(0);
    expect(result['started']).toBeLessThan(limit);
    expect(result['liveWhileFull']).toBe(result['started']);
    expect(result['liveAfterClose']).toBe(0);
    expect(result['liveAtEnd']).toBe(0);
    expectStillWorking(result);
  });
});
