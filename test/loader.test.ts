// The loader: which addon and fresh host, in order (override, the package's own build,
// the prebuilt binary), and for each failure one sentence and a stable code. The
// decision is a pure function, so platform facts this machine does not have (macOS,
// musl, an old glibc, another CPU) are passed in; everything this machine can do is
// done for real, in child processes importing the built package.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { locateBinaries, type NativeFacts, type PrebuildManifest } from '../lib/infra/binaries.js';
import { probe, supported } from '../lib/probe.js';

const root = join(import.meta.dirname, '..');
const glibc = probe().glibc!;

const MANIFEST: PrebuildManifest = {
  glibcFloor: '2.28',
  targets: {
    'linux-arm64': {
      files: { addon: { path: 'linux-arm64/malloc_lab.node' }, fresh: { path: 'linux-arm64/malloc-lab-fresh' } },
    },
    'linux-x64': {
      files: { addon: { path: 'linux-x64/malloc_lab.node' }, fresh: { path: 'linux-x64/malloc-lab-fresh' } },
    },
  },
};

function facts(overrides: Partial<NativeFacts> & { files?: string[] } = {}): NativeFacts {
  const files = new Set((overrides.files ?? []).map((file) => join('/pkg', file)));
  return {
    platform: 'linux',
    arch: 'x64',
    glibc: '2.36',
    overrides: {},
    root: '/pkg',
    manifest: MANIFEST,
    exists: (path) => files.has(path),
    ...overrides,
  };
}

const PREBUILT = ['prebuilds/linux-x64/malloc_lab.node', 'prebuilds/linux-x64/malloc-lab-fresh'];
const FROM_SOURCE =
  'build them from source (needs python3, make and g++): npx node-gyp rebuild --directory=/pkg/native';

describe('the decision (platform facts passed in)', () => {
  it('not Linux: ERR_UNSUPPORTED_PLATFORM, for the addon and the fresh host alike', () => {
    const located = locateBinaries(facts({ platform: 'darwin', glibc: undefined, files: PREBUILT }));
    const problem = {
      code: 'ERR_UNSUPPORTED_PLATFORM',
      reason: 'malloc-lab drives the glibc allocator and runs only on Linux with glibc; this process runs on darwin.',
    };
    expect(located).toEqual({ addon: problem, fresh: problem });
  });

  it('musl (no glibc): ERR_UNSUPPORTED_LIBC, pointing at a glibc-based image', () => {
    expect(locateBinaries(facts({ glibc: undefined, files: PREBUILT })).addon).toEqual({
      code: 'ERR_UNSUPPORTED_LIBC',
      reason:
        'malloc-lab drives the glibc allocator, but this Linux has no glibc (musl, as on Alpine); use a glibc-based image such as node:20-slim (Debian) or Ubuntu.',
    });
  });

  it('glibc older than the floor: ERR_GLIBC_TOO_OLD, with how to build from source', () => {
    expect(locateBinaries(facts({ glibc: '2.17', files: PREBUILT })).addon).toEqual({
      code: 'ERR_GLIBC_TOO_OLD',
      reason: `malloc-lab's prebuilt binaries need glibc 2.28 or newer and this system has glibc 2.17; ${FROM_SOURCE}.`,
    });
    // The floor itself is fine, and versions compare as numbers (2.100 > 2.28).
    expect(locateBinaries(facts({ glibc: '2.28', files: PREBUILT })).addon).toMatchObject({ origin: 'prebuild' });
    expect(locateBinaries(facts({ glibc: '2.100', files: PREBUILT })).addon).toMatchObject({ origin: 'prebuild' });
  });

  it('no prebuild for this arch: ERR_NO_PREBUILD, naming the ones shipped', () => {
    expect(locateBinaries(facts({ arch: 'ppc64', files: PREBUILT })).fresh).toEqual({
      code: 'ERR_NO_PREBUILD',
      reason: `malloc-lab ships prebuilt binaries for linux-arm64 and linux-x64, not for linux-ppc64; ${FROM_SOURCE}.`,
    });
  });

  it('a source checkout with nothing built: ERR_ADDON_NOT_BUILT', () => {
    expect(locateBinaries(facts({ manifest: undefined }))).toEqual({
      addon: {
        code: 'ERR_ADDON_NOT_BUILT',
        reason:
          "malloc-lab's native addon is not built (looked for /pkg/build/Release/malloc_lab.node); run `npm install` in /pkg (it needs python3, make and g++).",
      },
      fresh: {
        code: 'ERR_ADDON_NOT_BUILT',
        reason:
          "malloc-lab's fresh host is not built (looked for /pkg/build/Release/malloc-lab-fresh); run `npm install` in /pkg (it needs python3, make and g++).",
      },
    });
  });

  it('a prebuild the manifest lists but that is gone: ERR_ADDON_NOT_FOUND', () => {
    expect(locateBinaries(facts({ files: [] })).addon).toEqual({
      code: 'ERR_ADDON_NOT_FOUND',
      reason:
        "malloc-lab's prebuilt malloc_lab.node for linux-x64 is missing (/pkg/prebuilds/linux-x64/malloc_lab.node); reinstall malloc-lab.",
    });
  });

  it('an override that names nothing: ERR_ADDON_NOT_FOUND, for each override', () => {
    const located = locateBinaries(
      facts({ overrides: { addon: '/nope/malloc_lab.node', fresh: '/nope/fresh' }, files: PREBUILT }),
    );
    expect(located).toEqual({
      addon: {
        code: 'ERR_ADDON_NOT_FOUND',
        reason:
          'MALLOC_LAB_ADDON names /nope/malloc_lab.node, which does not exist; point it at a built malloc_lab.node or unset it.',
      },
      fresh: {
        code: 'ERR_ADDON_NOT_FOUND',
        reason:
          'MALLOC_LAB_FRESH names /nope/fresh, which does not exist; point it at a built malloc-lab-fresh or unset it.',
      },
    });
  });

  it('order: the override, then the package’s own build (node-gyp, cmake-js, native/), then the prebuild', () => {
    const all = [
      ...PREBUILT,
      'build/Release/malloc_lab.node',
      'build-cmake/Release/malloc-lab-fresh',
      'native/build/Release/malloc_lab.node',
      'elsewhere/malloc_lab.node',
    ];
    expect(locateBinaries(facts({ files: all, overrides: { addon: '/pkg/elsewhere/malloc_lab.node' } }))).toEqual({
      addon: { path: '/pkg/elsewhere/malloc_lab.node', origin: 'override' },
      fresh: { path: '/pkg/build-cmake/Release/malloc-lab-fresh', origin: 'build' },
    });
    expect(locateBinaries(facts({ files: all })).addon).toEqual({
      path: '/pkg/build/Release/malloc_lab.node',
      origin: 'build',
    });
    expect(locateBinaries(facts({ files: all.filter((file) => !file.startsWith('build/')) })).addon).toEqual({
      path: '/pkg/native/build/Release/malloc_lab.node',
      origin: 'build',
    });
    expect(locateBinaries(facts({ files: PREBUILT }))).toEqual({
      addon: { path: '/pkg/prebuilds/linux-x64/malloc_lab.node', origin: 'prebuild' },
      fresh: { path: '/pkg/prebuilds/linux-x64/malloc-lab-fresh', origin: 'prebuild' },
    });
    // An own build needs no manifest and no glibc check: it was built on this system.
    expect(locateBinaries(facts({ files: all, glibc: '2.17', manifest: undefined })).addon).toMatchObject({
      origin: 'build',
    });
  });
});

// The real loader path: a copy of the built package (dist/ and package.json, with or
// without binaries), imported by a child Node process.
const stages: string[] = [];
afterAll(() => {
  for (const stage of stages) rmSync(stage, { recursive: true, force: true });
});

function stagePackage(manifest?: object): string {
  const stage = mkdtempSync(join(tmpdir(), 'malloc-lab-loader-'));
  stages.push(stage);
  cpSync(join(root, 'dist'), join(stage, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(stage, 'package.json'));
  if (manifest !== undefined) {
    mkdirSync(join(stage, 'prebuilds'));
    writeFileSync(join(stage, 'prebuilds', 'manifest.json'), JSON.stringify(manifest));
  }
  return stage;
}

interface ChildAnswer {
  imported: { ok: boolean; code?: string; message?: string; cause?: string; version?: string };
  probe: { supported: boolean; code?: string; reason: string; cause?: string; origin?: string };
}

/** Imports malloc-lab in a child (after probing it), reporting both as JSON. */
function importInChild(packageDir: string, env: Record<string, string | undefined> = {}): ChildAnswer {
  const script = `
    const probed = (await import(${JSON.stringify(join(packageDir, 'dist', 'probe.js'))})).probe();
    const probe = { ...probed, cause: probed.cause === undefined ? undefined : String(probed.cause.message) };
    let imported;
    try {
      const lab = await import(${JSON.stringify(join(packageDir, 'dist', 'index.js'))});
      imported = { ok: true, version: lab.gnu_get_libc_version() };
    } catch (error) {
      imported = { ok: false, code: error.code, message: error.message, cause: error.cause?.message };
    }
    console.log(JSON.stringify({ imported, probe }));`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: childEnv,
    encoding: 'utf8',
  });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout) as ChildAnswer;
}

const clean = { MALLOC_LAB_ADDON: undefined, MALLOC_LAB_FRESH: undefined };

describe('the real loader, in a child process', () => {
  it('the built package (dist/) imports and reaches glibc; probe agrees', () => {
    const answer = importInChild(root, clean);
    expect(answer.imported).toEqual({ ok: true, version: glibc });
    expect(answer.probe).toMatchObject({ supported: true, reason: '', origin: 'build' });
  });

  it('MALLOC_LAB_ADDON naming a missing file: ERR_ADDON_NOT_FOUND, one sentence', () => {
    const answer = importInChild(root, { ...clean, MALLOC_LAB_ADDON: '/nonexistent/malloc_lab.node' });
    const reason =
      'MALLOC_LAB_ADDON names /nonexistent/malloc_lab.node, which does not exist; point it at a built malloc_lab.node or unset it.';
    expect(answer.imported).toMatchObject({ ok: false, code: 'ERR_ADDON_NOT_FOUND', message: reason });
    expect(answer.probe).toMatchObject({ supported: false, code: 'ERR_ADDON_NOT_FOUND', reason });
  });

  it('a binary that will not load: ERR_ADDON_LOAD_FAILED, the dlopen reason in the sentence and as cause', () => {
    const notAnAddon = join(root, 'package.json');
    const answer = importInChild(root, { ...clean, MALLOC_LAB_ADDON: notAnAddon });
    const reason = `malloc-lab's native addon at ${notAnAddon} could not be loaded (${notAnAddon}: invalid ELF header); check the file MALLOC_LAB_ADDON names.`;
    expect(answer.imported).toEqual({
      ok: false,
      code: 'ERR_ADDON_LOAD_FAILED',
      message: reason,
      cause: `${notAnAddon}: invalid ELF header`,
    });
    expect(answer.probe).toMatchObject({
      supported: false,
      code: 'ERR_ADDON_LOAD_FAILED',
      reason,
      cause: `${notAnAddon}: invalid ELF header`,
    });
  });

  it('a package with no build and no prebuilds: ERR_ADDON_NOT_BUILT', () => {
    const stage = stagePackage();
    const answer = importInChild(stage, clean);
    const reason = `malloc-lab's native addon is not built (looked for ${join(stage, 'build', 'Release', 'malloc_lab.node')}); run \`npm install\` in ${stage} (it needs python3, make and g++).`;
    expect(answer.imported).toMatchObject({ ok: false, code: 'ERR_ADDON_NOT_BUILT', message: reason });
    expect(answer.probe).toMatchObject({ supported: false, code: 'ERR_ADDON_NOT_BUILT', reason });
  });

  it('prebuilds for other machines only: ERR_NO_PREBUILD for this one', () => {
    const stage = stagePackage({ glibcFloor: '2.28', targets: { 'linux-s390x': MANIFEST.targets['linux-x64'] } });
    const answer = importInChild(stage, clean);
    const reason = `malloc-lab ships prebuilt binaries for linux-s390x, not for linux-${process.arch}; build them from source (needs python3, make and g++): npx node-gyp rebuild --directory=${join(stage, 'native')}.`;
    expect(answer.imported).toMatchObject({ ok: false, code: 'ERR_NO_PREBUILD', message: reason });
    expect(answer.probe).toMatchObject({ supported: false, code: 'ERR_NO_PREBUILD', reason });
  });

  it('prebuilds whose floor is above this glibc: ERR_GLIBC_TOO_OLD', () => {
    const stage = stagePackage({ ...MANIFEST, glibcFloor: '9.99' });
    const answer = importInChild(stage, clean);
    const reason = `malloc-lab's prebuilt binaries need glibc 9.99 or newer and this system has glibc ${glibc}; build them from source (needs python3, make and g++): npx node-gyp rebuild --directory=${join(stage, 'native')}.`;
    expect(answer.imported).toMatchObject({ ok: false, code: 'ERR_GLIBC_TOO_OLD', message: reason });
    expect(answer.probe).toMatchObject({ supported: false, code: 'ERR_GLIBC_TOO_OLD', reason });
  });

  it('supported() and probe() answer here without throwing', () => {
    expect(supported()).toBe(true);
    expect(probe()).toMatchObject({ supported: true, reason: '', glibc });
  });
});
