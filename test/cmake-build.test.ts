// The cmake-js build (`npm run build:cmake`, native/CMakeLists.txt) must give an
// addon and a fresh host as usable as node-gyp's. The addon is loaded in a child
// process so this test process never holds a second copy of it next to lib/'s.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { parseRecords, StepProgram } from '../lib/experiments/framework/program.js';
import { elfInfo } from '../scripts/elf-requirements.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = join(root, 'build-cmake', 'Release', 'malloc_lab.node');
const freshPath = join(root, 'build-cmake', 'Release', 'malloc-lab-fresh');
const BUILD_TIMEOUT_MS = 240_000;

/** Builds with cmake-js unless both binaries are there already; a failed build fails the test. */
function ensureBuilt(): void {
  if (existsSync(addonPath) && existsSync(freshPath)) return;
  const build = spawnSync('npm', ['run', 'build:cmake'], {
    cwd: root,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${build.stdout ?? ''}\n${build.stderr ?? ''}`.slice(-4000);
  expect(build.error, `npm run build:cmake did not finish: ${String(build.error)}\n${output}`).toBeUndefined();
  expect(build.status, `npm run build:cmake failed:\n${output}`).toBe(0);
  expect(existsSync(addonPath), `npm run build:cmake succeeded but left no ${addonPath}`).toBe(true);
  expect(existsSync(freshPath), `npm run build:cmake succeeded but left no ${freshPath}`).toBe(true);
}

// CommonJS on purpose (`node -e`): it requires the .node file directly, raw
// surface, no lib/ wrapper. BigInts are sent as strings (JSON has none).
const smokeScript = String.raw`
const addon = require(process.argv[1]);
const out = {};
try {
  const ptr = addon.malloc(1000);
  out.ptrType = typeof ptr;
  out.ptrNonZero = ptr !== 0n;
  out.usable = addon.malloc_usable_size(ptr);
  addon.fill(ptr, 0, 1000, 0x5a);
  const back = new Uint8Array(1000);
  addon.read(ptr, 0, back);
  out.filledBytes = back.filter((b) => b === 0x5a).length;
  addon.free(ptr);
  try {
    addon.free(ptr);
    out.doubleFree = { threw: false };
  } catch (error) {
    out.doubleFree = { threw: true, isError: error instanceof Error, code: error.code, message: error.message };
  }

  out.libc = addon.gnu_get_libc_version();

  const fields = addon.statusFields;
  const values = new Float64Array(fields.length);
  addon.readStatus(0, values);
  out.fieldCount = fields.length;
  out.status = Object.fromEntries(fields.map((name, i) => [name, values[i]]));

  const brk = addon.programBreak();
  out.brkType = typeof brk;
  out.brk = String(brk);
} catch (error) {
  out.failure = String(error && error.stack || error);
}
process.stdout.write(JSON.stringify(out));
`;

interface Smoke {
  failure?: string;
  ptrType: string;
  ptrNonZero: boolean;
  usable: number;
  filledBytes: number;
  doubleFree: { threw: boolean; isError?: boolean; code?: string; message?: string };
  libc: string;
  fieldCount: number;
  status: Record<string, number>;
  brkType: string;
  brk: string;
}

describe('cmake-js build', () => {
  it(
    'build-cmake/Release/malloc_lab.node loads and passes the smoke checks',
    () => {
      ensureBuilt();

      const child = spawnSync(process.execPath, ['-e', smokeScript, addonPath], {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(child.status, `child failed (signal ${child.signal}):\n${child.stderr}\n${child.stdout}`).toBe(0);
      const smoke = JSON.parse(child.stdout) as Smoke;
      expect(smoke.failure).toBeUndefined();

      expect(smoke.ptrType).toBe('bigint');
      expect(smoke.ptrNonZero).toBe(true);
      expect(smoke.usable).toBeGreaterThanOrEqual(1000);
      expect(smoke.filledBytes).toBe(1000);

      expect(smoke.doubleFree).toMatchObject({ threw: true, isError: true, code: 'ERR_FREED_POINTER' });

      expect(smoke.libc).toMatch(/^2\.\d+$/);
      const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
      expect(smoke.libc).toBe(report?.header?.glibcVersionRuntime);

      expect(smoke.fieldCount).toBe(17);
      const status = smoke.status;
      expect(status['VmRSS']).toBeGreaterThan(0);
      // In bytes, not kB: a Node process is far above 1 MiB resident.
      expect(status['VmRSS']).toBeGreaterThan(1024 * 1024);
      expect(status['VmSize']).toBeGreaterThanOrEqual(status['VmRSS']!);
      expect(status['VmHWM']).toBeGreaterThanOrEqual(status['VmRSS']!);
      expect(status['Threads']).toBeGreaterThanOrEqual(1);

      expect(smoke.brkType).toBe('bigint');
      expect(BigInt(smoke.brk)).toBeGreaterThan(0n);
    },
    BUILD_TIMEOUT_MS + 30_000,
  );

  it(
    'build-cmake/Release/malloc-lab-fresh runs a step program and links no C++ runtime',
    () => {
      ensureBuilt();
      expect(elfInfo(freshPath).needed.filter((lib) => /stdc\+\+|gcc_s/.test(lib))).toEqual([]);
      const program = new StepProgram()
        .step('start')
        .step('malloc', (s) => s.malloc('block', 100_000))
        .step('free', (s) => s.free('block'));
      const encoded = program.encode();
      const child = spawnSync(freshPath, [], {
        input: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength),
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        timeout: 30_000,
      });
      expect(child.status, String(child.stderr)).toBe(0);
      const run = parseRecords(program, child.output[3] as Buffer);
      expect(run.completed).toBe(true);
      const [start, malloced] = run.steps.map((step) => step.sample!);
      expect(malloced!.mallinfo.uordblks - start!.mallinfo.uordblks).toBeGreaterThanOrEqual(100_000);
      expect(malloced!.brk).toBeGreaterThan(start!.brk); // a fresh heap: the first malloc moved the break
    },
    BUILD_TIMEOUT_MS + 30_000,
  );
});
