/**
 * Which native binaries this process uses — the addon and the fresh host — or one
 * sentence saying why there are none. The decision is a pure function of platform
 * facts (tests pass their own); `currentFacts()` gathers this process's. Nothing here
 * loads a binary: lib/infra/native.ts loads the addon, the experiments' hosts spawn
 * the fresh host, lib/probe.ts reports.
 *
 * Order: an explicit override (MALLOC_LAB_ADDON, MALLOC_LAB_FRESH), then a build of
 * this package's own sources, then the prebuilt binary for this platform.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type ErrorCode, ErrorCodes } from './errors.js';

/** The package's root folder (the one holding package.json). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ADDON_FILE = 'malloc_lab.node';
export const FRESH_FILE = 'malloc-lab-fresh';

/** Where builds of the package's own sources land, preferred in this order. */
const BUILD_DIRS = [
  ['build', 'Release'], // npm install in a checkout (node-gyp, binding.gyp)
  ['build-cmake', 'Release'], // npm run build:cmake
  ['native', 'build', 'Release'], // node-gyp in an installed package's native/ folder
  ['build', 'Debug'],
];

/** prebuilds/manifest.json, written by scripts/prebuild.mjs (the fields the loader reads). */
export interface PrebuildManifest {
  glibcFloor: string;
  targets: Record<string, { files: Record<'addon' | 'fresh', { path: string }> }>;
}

export interface NativeFacts {
  platform: string;
  arch: string;
  /** The glibc this process runs on; undefined where there is none (musl). */
  glibc: string | undefined;
  /** MALLOC_LAB_ADDON and MALLOC_LAB_FRESH, where set. */
  overrides: { addon?: string; fresh?: string };
  root: string;
  /** Undefined when the package has no prebuilt binaries (a source checkout). */
  manifest: PrebuildManifest | undefined;
  exists(path: string): boolean;
}

export type Origin = 'override' | 'build' | 'prebuild';

export interface Problem {
  code: ErrorCode;
  /** One sentence: what is wrong and what to do. */
  reason: string;
}

export type Found = { path: string; origin: Origin };

export interface Located {
  addon: Found | Problem;
  fresh: Found | Problem;
}

export const isProblem = (value: Found | Problem): value is Problem => 'code' in value;

/** How to build from source when no prebuilt binary fits (the package ships native/binding.gyp). */
function buildFromSourceHint(root: string): string {
  return `build them from source (needs python3, make and g++): npx node-gyp rebuild --directory=${join(root, 'native')}`;
}

/** Why nothing can run here at all, before any file is looked for. */
function platformProblem(facts: NativeFacts): Problem | undefined {
  if (facts.platform !== 'linux') {
    return {
      code: ErrorCodes.UNSUPPORTED_PLATFORM,
      reason: `malloc-lab drives the glibc allocator and runs only on Linux with glibc; this process runs on ${facts.platform}.`,
    };
  }
  if (facts.glibc === undefined) {
    return {
      code: ErrorCodes.UNSUPPORTED_LIBC,
      reason:
        'malloc-lab drives the glibc allocator, but this Linux has no glibc (musl, as on Alpine); use a glibc-based image such as node:20-slim (Debian) or Ubuntu.',
    };
  }
  return undefined;
}

/** "2.28" → [2, 28]; compares version strings numerically. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

function locateOne(facts: NativeFacts, kind: 'addon' | 'fresh'): Found | Problem {
  const override = facts.overrides[kind];
  const variable = kind === 'addon' ? 'MALLOC_LAB_ADDON' : 'MALLOC_LAB_FRESH';
  const file = kind === 'addon' ? ADDON_FILE : FRESH_FILE;
  if (override !== undefined && override !== '') {
    const path = resolve(override);
    if (facts.exists(path)) return { path, origin: 'override' };
    return {
      code: ErrorCodes.ADDON_NOT_FOUND,
      reason: `${variable} names ${path}, which does not exist; point it at a built ${file} or unset it.`,
    };
  }
  for (const dir of BUILD_DIRS) {
    const path = join(facts.root, ...dir, file);
    if (facts.exists(path)) return { path, origin: 'build' };
  }
  const manifest = facts.manifest;
  if (manifest === undefined) {
    const what = kind === 'addon' ? 'native addon' : 'fresh host';
    return {
      code: ErrorCodes.ADDON_NOT_BUILT,
      reason: `malloc-lab's ${what} is not built (looked for ${join(facts.root, ...BUILD_DIRS[0]!, file)}); run \`npm install\` in ${facts.root} (it needs python3, make and g++).`,
    };
  }
  const target = `${facts.platform}-${facts.arch}`;
  const prebuilt = manifest.targets[target];
  if (prebuilt === undefined) {
    return {
      code: ErrorCodes.NO_PREBUILD,
      reason: `malloc-lab ships prebuilt binaries for ${Object.keys(manifest.targets).join(' and ')}, not for ${target}; ${buildFromSourceHint(facts.root)}.`,
    };
  }
  if (compareVersions(facts.glibc!, manifest.glibcFloor) < 0) {
    return {
      code: ErrorCodes.GLIBC_TOO_OLD,
      reason: `malloc-lab's prebuilt binaries need glibc ${manifest.glibcFloor} or newer and this system has glibc ${facts.glibc}; ${buildFromSourceHint(facts.root)}.`,
    };
  }
  const path = join(facts.root, 'prebuilds', prebuilt.files[kind].path);
  if (facts.exists(path)) return { path, origin: 'prebuild' };
  return {
    code: ErrorCodes.ADDON_NOT_FOUND,
    reason: `malloc-lab's prebuilt ${file} for ${target} is missing (${path}); reinstall malloc-lab.`,
  };
}

/** The decision for one binary: where it is, or the one sentence why there is none. */
export function locateBinary(facts: NativeFacts, kind: 'addon' | 'fresh'): Found | Problem {
  return platformProblem(facts) ?? locateOne(facts, kind);
}

/** The decision: which addon and fresh host to use, or for each the one sentence why none. */
export function locateBinaries(facts: NativeFacts): Located {
  return { addon: locateBinary(facts, 'addon'), fresh: locateBinary(facts, 'fresh') };
}

/** The sentence for an addon that was found but that dlopen refused: its reason first, then what to do. */
export function loadFailure(found: Found, cause: unknown): Problem {
  const firstLine = String((cause as Error)?.message ?? cause).split('\n')[0];
  const advice =
    found.origin === 'override'
      ? 'check the file MALLOC_LAB_ADDON names'
      : found.origin === 'build'
        ? 'rebuild it with `npm run build:native`'
        : `reinstall malloc-lab, or ${buildFromSourceHint(packageRoot)}`;
  return {
    code: ErrorCodes.ADDON_LOAD_FAILED,
    reason: `malloc-lab's native addon at ${found.path} could not be loaded (${firstLine}); ${advice}.`,
  };
}

/** The glibc this process runs on, read once: a diagnostic report costs milliseconds. */
let runtimeGlibc: { version: string | undefined } | undefined;

/** The glibc version this process runs on, or undefined (musl, macOS, Windows). */
export function glibcRuntimeVersion(): string | undefined {
  if (runtimeGlibc === undefined) {
    const header =
      process.platform === 'linux'
        ? (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
        : undefined;
    runtimeGlibc = { version: header?.glibcVersionRuntime };
  }
  return runtimeGlibc.version;
}

function readManifest(root: string): PrebuildManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(root, 'prebuilds', 'manifest.json'), 'utf8')) as PrebuildManifest;
  } catch {
    return undefined; // no prebuilds: a source checkout
  }
}

/**
 * This process's facts. The manifest is read only when no override or build decides
 * first: a process that loads the addon does as little as it can before it runs.
 */
export function currentFacts(): NativeFacts {
  let manifest: PrebuildManifest | undefined | null = null;
  return {
    platform: process.platform,
    arch: process.arch,
    glibc: glibcRuntimeVersion(),
    overrides: { addon: process.env['MALLOC_LAB_ADDON'], fresh: process.env['MALLOC_LAB_FRESH'] },
    root: packageRoot,
    get manifest() {
      if (manifest === null) manifest = readManifest(packageRoot);
      return manifest;
    },
    exists: existsSync,
  };
}

let facts: NativeFacts | undefined;
const decided: Partial<Record<'addon' | 'fresh', Found | Problem>> = {};

/** The decision for this process, made once per binary, and only when asked for. */
export function locatedBinary(kind: 'addon' | 'fresh'): Found | Problem {
  facts ??= currentFacts();
  decided[kind] ??= locateBinary(facts, kind);
  return decided[kind];
}
