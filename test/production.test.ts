// Production helpers against the real allocator: trim() gives a fragmented heap
// back, the periodic trimmer trims, backs off and obeys its kill switch, the
// allocator detection names what really serves malloc (checked against glibc's own
// counters), the settings are the ones glibc acted on, and the RSS / V8 heap ratio
// follows native memory.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { ALLOCATOR_ENV, type AllocatorName } from '../lib/experiments/framework/hosts.js';
import { allocBatch, free, malloc, touch, type BlockSet } from '../lib/index.js';
import { detectAllocator } from '../lib/process/allocator-detection.js';
import { allocatorSettings, parseGlibcTunables, parseTunableNumber } from '../lib/process/allocator-settings.js';
import { rssToHeapRatio } from '../lib/service/heap-ratio.js';
import { startPeriodicTrimmer, type PeriodicTrimmer, type TrimEvent } from '../lib/service/periodic-trimmer.js';
import { trim } from '../lib/service/trim.js';
import '../lib/integrations/vitest.js';
import { KiB, MiB, optionalAllocator, thrown } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (file: string) => JSON.stringify(join(root, 'dist', file));

beforeAll(() => {
  for (const file of ['index.js', 'service/trim.js', 'service/periodic-trimmer.js', 'process/allocator-detection.js']) {
    expect(
      existsSync(join(root, 'dist', file)),
      `dist/${file} is missing: build with \`npx tsc -p tsconfig.json\``,
    ).toBe(true);
  }
});

/** The environment a child gets: ours without allocator variables, plus extra. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key, value]) => value !== undefined && !ALLOCATOR_ENV.test(key) && key !== 'MALLOC_LAB_TRIM',
    ),
  );
  return { ...(inherited as Record<string, string>), ...extra };
}

/** Runs an ES module script in a fresh node and returns the JSON it printed last. */
function runNode<T = Record<string, unknown>>(script: string, env: Record<string, string> = {}): T {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: childEnv(env),
    encoding: 'utf8',
    timeout: 30_000,
  });
  const last = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !last.startsWith('{')) {
    throw new Error(
      `child failed (status ${child.status}, signal ${child.signal}): ${child.stderr}\nstdout: ${child.stdout}`,
    );
  }
  return JSON.parse(last) as T;
}

/** The library of an optional allocator; tests that need one are skipped where it is absent (not under CI). */
function library(allocator: Exclude<AllocatorName, 'glibc'>): string {
  return optionalAllocator(allocator).path!;
}
const without = (allocator: Exclude<AllocatorName, 'glibc'>) => optionalAllocator(allocator).skip !== undefined;

/** 64 KiB blocks from the main heap with every other one freed: holes only a trim gives back. */
function fragmentedHeap(blocks: number): { set: BlockSet; freedBytes: number } {
  const set = allocBatch({ count: blocks, size: 64 * KiB, fill: 1 });
  return { set, freedBytes: set.free({ step: 2 }) * 64 * KiB };
}

describe('trim()', () => {
  it('gives back >= 0.8 × the bytes freed from a fragmented heap, and says so', () => {
    const { set, freedBytes } = fragmentedHeap(2048);
    const result = trim();
    const again = trim();
    set.release();
    expect(freedBytes).toBe(64 * MiB);
    expect(result.released).toBe(true);
    expect(result.reclaimedBytes).toBeGreaterThanOrEqual(0.8 * freedBytes);
    expect(result.reclaimedBytes).toBe(result.before.RssAnon - result.after.RssAnon);
    expect(result).toShrinkRssAnonBy({ atLeast: 0.8 * freedBytes });
    expect(result.durationMs).toBeGreaterThan(0);
    expect(result.durationMs).toBeLessThan(5000);
    // Nothing left to give: the second trim reclaims next to nothing.
    expect(again.reclaimedBytes).toBeLessThan(0.05 * freedBytes);
  });

  it('without the holes there is nothing to reclaim', () => {
    const set = allocBatch({ count: 512, size: 64 * KiB, fill: 1 });
    trim();
    const result = trim();
    set.release();
    expect(result.reclaimedBytes).toBeLessThan(1 * MiB);
  });

  it('refuses a bad pad', () => {
    expect(thrown(() => trim({ pad: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => trim('0' as never))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'trim: options must be an object, received a string ("0")',
    });
  });
});

describe('startPeriodicTrimmer()', () => {
  let trimmer: PeriodicTrimmer | undefined;
  afterEach(() => trimmer?.stop());

  describe('on a fake clock (the trims are real; only the timer is faked)', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    /** Fires the trimmer's ticks one at a time until an event matches. */
    function tickUntil(events: TrimEvent[], predicate: (event: TrimEvent) => boolean, most = 20): TrimEvent {
      for (let fired = 0; fired <= most; fired++) {
        const found = events.find(predicate);
        if (found !== undefined) return found;
        vi.advanceTimersToNextTimer();
      }
      throw new Error(
        `no matching trim event in ${most} ticks; events: ${events.map((event) => event.message).join(' | ')}`,
      );
    }

    /** The next tick comes exactly ms after the last one: not a millisecond sooner. */
    function expectNextTickAfter(events: TrimEvent[], ms: number): void {
      const seen = events.length;
      vi.advanceTimersByTime(ms - 1);
      expect(events.length).toBe(seen);
      vi.advanceTimersByTime(1);
      expect(events.length).toBe(seen + 1);
    }

    it('trims a fragmented heap on its own, then backs off while trims gain less than the minimum', () => {
      const { set, freedBytes } = fragmentedHeap(1024);
      const events: TrimEvent[] = [];
      try {
        trimmer = startPeriodicTrimmer({
          intervalMs: 20,
          minGainBytes: 4 * MiB,
          onTrim: (event) => events.push(event),
        });
        expect(trimmer.enabled).toBe(true);
        expect(trimmer.reason).toBe('');
        const trimmed = tickUntil(events, (event) => event.outcome === 'trimmed');
        expect(trimmed.reclaimedBytes).toBeGreaterThanOrEqual(0.8 * freedBytes);
        expect(trimmed.result!.released).toBe(true);
        expect(trimmed.nextIntervalMs).toBe(20);
        expect(trimmed.message).toMatch(
          /^trimmed: malloc_trim gave back \d+\.\d MiB of RssAnon in [\d.]+ ms \(minimum 4\.0 MiB/,
        );

        // Nothing left: the next ticks gain < 4 MiB and the interval doubles each time.
        expectNextTickAfter(events, 20);
        expectNextTickAfter(events, 40);
        const third = tickUntil(events, (event) => event.tick === trimmed.tick + 2);
        const second = events.find((event) => event.tick === trimmed.tick + 1)!;
        for (const event of [second, third]) expect(['below-min-gain', 'skipped']).toContain(event.outcome);
        expect(second.nextIntervalMs).toBe(40);
        expect(third.nextIntervalMs).toBe(80);
        expect(trimmer.currentIntervalMs).toBeGreaterThanOrEqual(80);
        const stats = trimmer.stats();
        expect(stats.ticks).toBeGreaterThanOrEqual(trimmed.tick + 2);
        expect(stats.reclaimedBytes).toBeGreaterThanOrEqual(trimmed.reclaimedBytes);
      } finally {
        set.release();
      }
    });

    it('caps the back-off at maxIntervalMs and stops for good', () => {
      const events: TrimEvent[] = [];
      trimmer = startPeriodicTrimmer({
        intervalMs: 5,
        maxIntervalMs: 12,
        minGainBytes: 1024 * MiB,
        onTrim: (event) => events.push(event),
      });
      expectNextTickAfter(events, 5);
      expectNextTickAfter(events, 10);
      tickUntil(events, (event) => event.tick === 4);
      expect(events.slice(0, 4).map((event) => event.nextIntervalMs)).toEqual([10, 12, 12, 12]);
      expect(events[0]!.outcome).toBe('skipped'); // less than 1 GiB free: malloc_trim was not even called
      expect(events[0]!.message).toMatch(
        /^skipped: glibc's arenas hold .* free, less than the minimum gain of 1\.0 GiB; next tick in 10 ms$/,
      );
      trimmer.stop();
      const seen = events.length;
      vi.advanceTimersByTime(60);
      expect(events.length).toBe(seen);
      expect(vi.getTimerCount()).toBe(0);
      expect(trimmer.stopped).toBe(true);
    });

    it('MALLOC_LAB_TRIM=off (injected) disables it and says why', () => {
      const events: TrimEvent[] = [];
      trimmer = startPeriodicTrimmer({
        intervalMs: 5,
        env: { MALLOC_LAB_TRIM: 'off' },
        onTrim: (event) => events.push(event),
      });
      vi.advanceTimersByTime(60);
      expect(vi.getTimerCount()).toBe(0);
      expect(trimmer.enabled).toBe(false);
      expect(trimmer.reason).toBe('MALLOC_LAB_TRIM=off: periodic trimming is disabled');
      expect(events).toEqual([]);
      expect(trimmer.stats().ticks).toBe(0);
    });
  });

  const script = (env: string) => `
    const { startPeriodicTrimmer } = await import(${dist('service/periodic-trimmer.js')});
    const events = [];
    const trimmer = startPeriodicTrimmer({ intervalMs: 10, minGainBytes: 0, onTrim: (event) => events.push(event.outcome) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    trimmer.stop();
    console.log(JSON.stringify({ enabled: trimmer.enabled, reason: trimmer.reason, ticks: trimmer.stats().ticks, events, env: ${env} }));
  `;

  it('in a child started with MALLOC_LAB_TRIM=off it never ticks; without the switch it does', () => {
    const off = runNode<{ enabled: boolean; reason: string; ticks: number }>(script('process.env.MALLOC_LAB_TRIM'), {
      MALLOC_LAB_TRIM: 'off',
    });
    expect(off).toMatchObject({
      enabled: false,
      reason: 'MALLOC_LAB_TRIM=off: periodic trimming is disabled',
      ticks: 0,
    });
    const on = runNode<{ enabled: boolean; ticks: number; events: string[] }>(script('null'));
    expect(on.enabled).toBe(true);
    expect(on.ticks).toBeGreaterThanOrEqual(2);
    expect(on.events[0]).toMatch(/^(trimmed|below-min-gain)$/);
  });

  it.skipIf(without('jemalloc'))(
    'with jemalloc preloaded it disables itself: malloc_trim would not reach jemalloc',
    () => {
      const result = runNode<{ enabled: boolean; reason: string; ticks: number }>(script('null'), {
        LD_PRELOAD: library('jemalloc'),
      });
      expect(result.enabled).toBe(false);
      expect(result.reason).toMatch(
        /^jemalloc serves malloc \(.*libjemalloc\.so\.2 is preloaded .*\); malloc_trim only trims glibc's heap/,
      );
      expect(result.ticks).toBe(0);
    },
  );

  it('its timer does not keep the process alive', async () => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      const { startPeriodicTrimmer } = await import(${dist('service/periodic-trimmer.js')});
      startPeriodicTrimmer({ intervalMs: 60000 });
      console.log('started');
    `,
      ],
      { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses bad options with the parameter named', () => {
    expect(thrown(() => startPeriodicTrimmer(undefined as never)).message).toBe(
      'startPeriodicTrimmer: options must be an object with intervalMs, received undefined',
    );
    expect(thrown(() => startPeriodicTrimmer({ intervalMs: 0 })).message).toBe(
      'startPeriodicTrimmer: options.intervalMs must be an integer from 1 to 2147483647, received 0',
    );
    expect(thrown(() => startPeriodicTrimmer({ intervalMs: 10, minGainBytes: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => startPeriodicTrimmer({ intervalMs: 10, maxIntervalMs: 5 })).message).toMatch(
      /options\.maxIntervalMs must be an integer from 10 to/,
    );
    expect(thrown(() => startPeriodicTrimmer({ intervalMs: 10, onTrim: 'log' as never })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });
});

describe('detectAllocator()', () => {
  // Ground truth in the child: does a malloc of 100000 bytes show up in glibc's own mallinfo2?
  const detectScript = (prelude = '') => `
    ${prelude}
    const { detectAllocator } = await import(${dist('process/allocator-detection.js')});
    const { malloc, free, mallinfo2 } = await import(${dist('index.js')});
    const before = mallinfo2().uordblks;
    const block = malloc(100000);
    const glibcServed = mallinfo2().uordblks - before >= 100000;
    free(block);
    console.log(JSON.stringify({ ...detectAllocator(), glibcServed }));
  `;

  it('this process: glibc, with its version, and nothing it could not read', () => {
    const detection = detectAllocator();
    expect(detection).toMatchObject({ pid: process.pid, allocator: 'glibc', libc: 'glibc', problems: [] });
    expect(detection.glibcVersion).toMatch(/^2\.\d+$/);
    expect(detection.library).toBeUndefined();
    expect(detection.evidence).toMatch(/no replacement allocator is preloaded; glibc's malloc serves/);
  });

  it.skipIf(without('jemalloc'))(
    'LD_PRELOAD=libjemalloc.so.2: jemalloc, and glibc really does not see the malloc',
    () => {
      const path = library('jemalloc');
      const child = runNode<ReturnType<typeof detectAllocator> & { glibcServed: boolean }>(detectScript(), {
        LD_PRELOAD: path,
      });
      expect(child.allocator).toBe('jemalloc');
      expect(child.library).toMatch(/libjemalloc\.so\.2$/);
      expect(child.preload).toEqual([path]);
      expect(child.mapped).toContainEqual(expect.objectContaining({ allocator: 'jemalloc', preloaded: true }));
      expect(child.glibcServed).toBe(false);
      // The control: without the preload, glibc's counters do see it.
      const plain = runNode<ReturnType<typeof detectAllocator> & { glibcServed: boolean }>(detectScript());
      expect(plain.allocator).toBe('glibc');
      expect(plain.glibcServed).toBe(true);
    },
  );

  for (const allocator of ['tcmalloc', 'mimalloc'] as const) {
    it.skipIf(without(allocator))(`LD_PRELOAD of ${allocator}: ${allocator}`, () => {
      const child = runNode<ReturnType<typeof detectAllocator>>(detectScript(), { LD_PRELOAD: library(allocator) });
      expect(child.allocator).toBe(allocator);
      expect(child.evidence).toMatch(/is preloaded and mapped, so its malloc comes before glibc's/);
    });
  }

  it.skipIf(without('jemalloc'))('another process, by pid (a C program, sleep, under jemalloc)', async () => {
    const child = spawn('sleep', ['10'], { env: childEnv({ LD_PRELOAD: library('jemalloc') }), stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const detection = detectAllocator({ pid: child.pid! });
      expect(detection).toMatchObject({ pid: child.pid, allocator: 'jemalloc', libc: 'glibc', problems: [] });
      expect(detection.glibcVersion).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.skipIf(without('mimalloc'))('a library loaded by dlopen is mapped but does not serve malloc', () => {
    const child = runNode<ReturnType<typeof detectAllocator> & { glibcServed: boolean }>(
      detectScript(
        `const koffi = (await import('koffi')).default; koffi.load(${JSON.stringify(library('mimalloc'))});`,
      ),
    );
    expect(child.allocator).toBe('glibc');
    expect(child.glibcServed).toBe(true);
    expect(child.mapped).toContainEqual(expect.objectContaining({ allocator: 'mimalloc', preloaded: false }));
    expect(child.evidence).toMatch(/libmimalloc.* is mapped without being preloaded/);
  });

  it('a preload ld.so could not load, and a process that does not exist: reported, not thrown', () => {
    const child = runNode<ReturnType<typeof detectAllocator>>(detectScript(), {
      LD_PRELOAD: '/nonexistent/libjemalloc.so.2',
    });
    expect(child.allocator).toBe('glibc');
    expect(child.problems).toContain(
      '/nonexistent/libjemalloc.so.2 is preloaded but not mapped: ld.so could not load it (wrong path or architecture?)',
    );
    const gone = detectAllocator({ pid: 0x7ffffffe });
    expect(gone.allocator).toBe('unknown');
    expect(gone.problems).toEqual(['/proc/2147483646/maps: ENOENT', '/proc/2147483646/environ: ENOENT']);
    expect(gone.evidence).toBe('could not read the mappings of pid 2147483646');
  });

  it('refuses bad arguments with typed errors', () => {
    expect(thrown(() => detectAllocator({ pid: -1 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => detectAllocator('self' as never)).message).toBe(
      'detectAllocator: options must be an object, received a string ("self")',
    );
    expect(thrown(() => allocatorSettings({ env: 5 as never })).message).toBe(
      'allocatorSettings: options.env must be an object of strings, received 5',
    );
    expect(thrown(() => allocatorSettings({ pid: 1.5 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => parseGlibcTunables(7 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('allocatorSettings()', () => {
  it('parses GLIBC_TUNABLES, the MALLOC_* aliases and MALLOC_CONF from a given environment', () => {
    const settings = allocatorSettings({
      env: {
        GLIBC_TUNABLES:
          'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=0x100000:glibc.malloc.bogus=1:glibc.rtld.nns=8',
        MALLOC_ARENA_MAX: '4',
        MALLOC_MMAP_THRESHOLD_: '65536',
        MALLOC_TOP_PAD_: 'lots',
        MALLOC_CONF: 'background_thread:true,dirty_decay_ms:1000',
        TCMALLOC_RELEASE_RATE: '10',
        PATH: '/bin',
      },
    });
    expect(settings.source).toBe('given');
    expect(settings.env).not.toHaveProperty('PATH');
    expect(settings.tunables).toHaveLength(4);
    expect(settings.glibc.arena_max).toMatchObject({
      value: 2,
      source: 'GLIBC_TUNABLES',
      raw: '2',
      env: 'MALLOC_ARENA_MAX',
    });
    expect(settings.glibc.trim_threshold).toMatchObject({ value: 1048576, source: 'GLIBC_TUNABLES' });
    expect(settings.glibc.mmap_threshold).toMatchObject({ value: 65536, source: 'env', raw: '65536' });
    expect(settings.glibc.top_pad.value).toBeNaN();
    expect(settings.glibc.tcache_count).toMatchObject({ value: 7, source: 'default' });
    expect(settings.jemalloc).toMatchObject({ background_thread: 'true', dirty_decay_ms: '1000' });
    expect(settings.tcmalloc).toEqual({ TCMALLOC_RELEASE_RATE: '10' });
    expect(settings.warnings).toEqual([
      'MALLOC_ARENA_MAX=4 is overridden by GLIBC_TUNABLES glibc.malloc.arena_max=2',
      'MALLOC_TOP_PAD_=lots is not a number; glibc ignores it',
      "GLIBC_TUNABLES names glibc.malloc.bogus, which glibc's malloc does not know; it is ignored",
    ]);
    expect(parseGlibcTunables('a=1::b=x=y:junk')).toEqual([
      { name: 'a', value: '1' },
      { name: 'b', value: 'x=y' },
    ]);
    expect([
      parseTunableNumber('010'),
      parseTunableNumber('0x10'),
      parseTunableNumber('10'),
      parseTunableNumber('1k'),
    ]).toEqual([8, 16, 10, NaN]);
  });

  // The settings must be the ones glibc acted on. glibc consults the mmap threshold only
  // when the heap's top is too small, so 100 blocks of 64 KiB (6.4 MiB) are asked for:
  // with a 4 KiB threshold most are mmapped (mallinfo2 hblks); with the 128 KiB default none.
  const settingsScript = `
    const { allocatorSettings } = await import(${dist('process/allocator-settings.js')});
    const { allocBatch, mallinfo2 } = await import(${dist('index.js')});
    process.env.MALLOC_ARENA_MAX = '7'; // too late for glibc
    const before = mallinfo2().hblks;
    const set = allocBatch({ count: 100, size: 64 * 1024 });
    const mapped = mallinfo2().hblks - before >= 50;
    set.release();
    const settings = allocatorSettings();
    console.log(JSON.stringify({ mmapThreshold: settings.glibc.mmap_threshold, arenaMax: settings.glibc.arena_max, changed: settings.changedSinceStart, source: settings.source, warnings: settings.warnings, mapped }));
  `;
  type ChildSettings = {
    mmapThreshold: { value: number; source: string };
    arenaMax: { value: number; source: string };
    changed: string[];
    source: string;
    warnings: string[];
    mapped: boolean;
  };

  it('reads the start-up environment of a real child, and agrees with what glibc did', () => {
    const env = runNode<ChildSettings>(settingsScript, { MALLOC_MMAP_THRESHOLD_: '4096', MALLOC_ARENA_MAX: '2' });
    expect(env).toMatchObject({ source: 'environ', mapped: true, changed: ['MALLOC_ARENA_MAX'] });
    expect(env.mmapThreshold).toMatchObject({ value: 4096, source: 'env' });
    expect(env.arenaMax).toMatchObject({ value: 2, source: 'env' });

    const none = runNode<ChildSettings>(settingsScript);
    expect(none.mmapThreshold).toMatchObject({ value: 131072, source: 'default' });
    expect(none.mapped).toBe(false);
  });

  for (const order of ['tunables first', 'alias first'] as const) {
    it(`GLIBC_TUNABLES wins over its MALLOC_* alias (${order}), in the report and in glibc`, () => {
      const tunables = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4096' };
      const alias = { MALLOC_MMAP_THRESHOLD_: '1048576' };
      const child = runNode<ChildSettings>(
        settingsScript,
        order === 'tunables first' ? { ...tunables, ...alias } : { ...alias, ...tunables },
      );
      expect(child.mmapThreshold).toMatchObject({ value: 4096, source: 'GLIBC_TUNABLES' });
      expect(child.mapped).toBe(true);
      expect(child.warnings).toContain(
        'MALLOC_MMAP_THRESHOLD_=1048576 is overridden by GLIBC_TUNABLES glibc.malloc.mmap_threshold=4096',
      );
    });
  }

  it('of another process, by pid', async () => {
    const child = spawn('sleep', ['10'], {
      env: childEnv({ MALLOC_TOP_PAD_: '1', MALLOC_CONF: 'narenas:1' }),
      stdio: 'ignore',
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const settings = allocatorSettings({ pid: child.pid! });
      expect(settings).toMatchObject({ pid: child.pid, source: 'environ', changedSinceStart: [] });
      expect(settings.glibc.top_pad).toMatchObject({ value: 1, source: 'env' });
      expect(settings.jemalloc).toMatchObject({ narenas: '1' });
    } finally {
      child.kill('SIGKILL');
    }
    expect(thrown(() => allocatorSettings({ pid: 0x7ffffffe })).code).toBe('ENOENT');
  });
});

describe('rssToHeapRatio()', () => {
  it('is RSS over V8 heapTotal, and grows with native memory V8 does not hold', () => {
    const before = rssToHeapRatio();
    expect(before.ratio).toBeGreaterThan(0);
    expect(before.ratio).toBeCloseTo(before.rssBytes / before.heapTotalBytes, 1);
    expect(before.anonRatio).toBeGreaterThan(0);
    expect(before.rssAnonBytes).toBeLessThan(before.rssBytes);
    expect(before.outsideHeapBytes).toBe(before.rssBytes - before.heapTotalBytes);

    const block = malloc(64 * MiB);
    touch(block);
    const after = rssToHeapRatio();
    free(block);
    expect(after.outsideHeapBytes - before.outsideHeapBytes).toBeGreaterThanOrEqual(60 * MiB);
    expect(after.rssAnonBytes - before.rssAnonBytes).toBeGreaterThanOrEqual(60 * MiB);
    expect(after.ratio - before.ratio).toBeGreaterThanOrEqual(
      (60 * MiB) / Math.max(after.heapTotalBytes, before.heapTotalBytes) - 0.5,
    );
  });
});
