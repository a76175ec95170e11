// Allocator libraries anywhere: a file the user names (API `libraries`, CLI
// `--allocator NAME=PATH`) is checked before any run, and a run whose preload ld.so
// ignored is an error rather than glibc's numbers under another allocator's name. The
// optional allocators' tests skip with one line where the library is absent (CI=false).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { allocatorLibrary, runOnHost } from '../lib/experiments/framework/hosts.js';
import { StepProgram } from '../lib/experiments/framework/program.js';
import { optionalAllocator, thrown } from './helpers.js';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'malloc-lab-libraries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const jemalloc = optionalAllocator('jemalloc');
/** Debian's jemalloc, copied where no search looks: only naming it finds it. */
const ownJemalloc = join(dir, 'opt', 'jemalloc', 'lib', 'libjemalloc.so.2');
if (jemalloc.path !== undefined) {
  mkdirSync(join(dir, 'opt', 'jemalloc', 'lib'), { recursive: true });
  copyFileSync(jemalloc.path, ownJemalloc);
}

const BLOCK = 100_000;
const program = () => new StepProgram().step('before').step('malloc', (s) => s.malloc('block', BLOCK));

describe('optional allocators in the suite', () => {
  it('absent: one line naming the apt package, and the test skips (CI=false)', () => {
    expect(optionalAllocator('tcmalloc', { ci: false, dirs: [join(dir, 'nowhere')] })).toEqual({
      skip: 'skipped: the tcmalloc tests (libtcmalloc_minimal.so.4 not found; apt-get install libtcmalloc-minimal4)',
    });
  });

  it('absent under CI=true: an error, since CI installs them', () => {
    expect(() => optionalAllocator('mimalloc', { ci: true, dirs: [join(dir, 'nowhere')] })).toThrow(
      /libmimalloc\.so\.2 not found; apt-get install libmimalloc2\.0.*CI=true requires it/,
    );
  });
});

describe('a library named by path', () => {
  it('a file that does not exist: ERR_ALLOCATOR_LIBRARY before anything runs', () => {
    const missing = join(dir, 'nope', 'libjemalloc.so.2');
    const error = thrown(() => allocatorLibrary('jemalloc', { jemalloc: missing }));
    expect({ code: error.code, message: error.message }).toEqual({
      code: 'ERR_ALLOCATOR_LIBRARY',
      message: `the jemalloc library ${missing} cannot be preloaded: it does not exist (expected libjemalloc.so.2 or another build of jemalloc for this machine)`,
    });
  });

  it('a file that is not a shared library, or is one for another CPU: ERR_ALLOCATOR_LIBRARY saying which', () => {
    const text = join(root, 'package.json');
    expect(thrown(() => allocatorLibrary('tcmalloc', { tcmalloc: text })).message).toContain(
      'cannot be preloaded: it is not an ELF file',
    );
    expect(thrown(() => allocatorLibrary('tcmalloc', { tcmalloc: process.execPath })).message).toMatch(
      /cannot be preloaded: it is not a shared library|ELF type/,
    );
    const foreign =
      process.arch === 'x64' ? '/usr/aarch64-linux-gnu/lib/libc.so.6' : '/usr/x86_64-linux-gnu/lib/libc.so.6';
    let foreignExists = true;
    try {
      readFileSync(foreign);
    } catch {
      foreignExists = false;
    }
    if (foreignExists) {
      expect(thrown(() => allocatorLibrary('mimalloc', { mimalloc: foreign })).message).toContain(
        'it is built for another CPU',
      );
    }
  });

  it('a preload ld.so ignores (LD_PRELOAD given as plain env): the run is refused, not measured as glibc', async () => {
    const missing = join(dir, 'gone', 'libjemalloc.so.2');
    const error = await runOnHost(program(), 'fresh', { env: { LD_PRELOAD: missing } }).then(
      () => undefined,
      (caught: Error & { code?: string }) => caught,
    );
    expect(error?.code).toBe('ERR_ALLOCATOR_LIBRARY');
    expect(error?.message).toBe(
      `the allocator library ${missing} was not preloaded (cannot open shared object file), so the run would have measured glibc; name a library that loads on this machine`,
    );
  });

  for (const host of ['fresh', 'node'] as const) {
    it.skipIf(jemalloc.skip !== undefined)(`${host}: jemalloc from a path of one's own serves the malloc`, async () => {
      expect(allocatorLibrary('jemalloc', { jemalloc: ownJemalloc })).toEqual({ path: ownJemalloc });
      const glibc = await runOnHost(program(), host);
      const run = await runOnHost(program(), host, { allocator: 'jemalloc', libraries: { jemalloc: ownJemalloc } });
      expect(run.completed).toBe(true);
      expect(run.env['LD_PRELOAD']).toBe(ownJemalloc);
      // glibc's counters see the block only when glibc served it.
      const grew = (r: typeof run) => r.steps[1]!.sample!.mallinfo.uordblks - r.steps[0]!.sample!.mallinfo.uordblks;
      expect(grew(glibc)).toBeGreaterThanOrEqual(BLOCK);
      expect(grew(run)).toBeLessThan(BLOCK / 2);
    });
  }
});

describe('the CLI: --allocator NAME=PATH', () => {
  const runCli = (...args: string[]) =>
    spawnSync(process.execPath, [cli, 'run', ...args], { encoding: 'utf8', timeout: 120_000 });

  it.skipIf(jemalloc.skip !== undefined)('names the library for a run, and for the allocators comparison', () => {
    const single = runCli('free-not-returned', '--host', 'fresh', '--allocator', `jemalloc=${ownJemalloc}`, '--json');
    expect(single.status, single.stderr).toBe(0);
    const [run] = JSON.parse(single.stdout);
    expect(run).toMatchObject({ allocator: 'jemalloc' });
    for (const variant of run.variants) expect(variant.env.LD_PRELOAD).toBe(ownJemalloc);

    const compared = runCli(
      'allocators',
      '--host',
      'fresh',
      '--watch',
      '200',
      '--allocator',
      `jemalloc=${ownJemalloc}`,
      '--json',
    );
    expect(compared.status, compared.stderr).toBe(0);
    const [comparison] = JSON.parse(compared.stdout);
    expect(comparison.skipped).toBeUndefined();
    const variant = comparison.variants.find((v: { name: string }) => v.name === 'jemalloc');
    expect(variant.env.LD_PRELOAD).toBe(ownJemalloc);
  });

  it('a missing file is a clear error (exit 1); glibc=PATH and an empty path are usage errors (exit 2)', () => {
    const missing = join(dir, 'nope.so');
    const failed = runCli('free-not-returned', '--host', 'fresh', '--allocator', `tcmalloc=${missing}`);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(`the tcmalloc library ${missing} cannot be preloaded: it does not exist`);
    expect(failed.stderr).toContain('[ERR_ALLOCATOR_LIBRARY]');
    for (const bad of ['glibc=/x.so', 'jemalloc=', 'ptmalloc=/x.so']) {
      const usage = runCli('free-not-returned', '--allocator', bad);
      expect(usage.status, bad).toBe(2);
      expect(usage.stderr, bad).toContain('--allocator');
    }
  });
});
