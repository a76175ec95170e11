/**
 * Where the other allocators' shared objects are: a file the user names (any path:
 * `--allocator jemalloc=/opt/jemalloc/lib/libjemalloc.so.2`, or `libraries` in the API),
 * else Debian's package paths. A named file that cannot be preloaded is an error before
 * any run: ld.so only warns and carries on without it, which would measure glibc under
 * another allocator's name.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import * as check from '../../infra/validate.js';

export type AllocatorName = 'glibc' | 'jemalloc' | 'tcmalloc' | 'mimalloc';
export const ALLOCATORS: AllocatorName[] = ['glibc', 'jemalloc', 'tcmalloc', 'mimalloc'];
export type AlternativeAllocator = Exclude<AllocatorName, 'glibc'>;

/** Library files named by the user, by allocator. */
export type AllocatorLibraries = Partial<Record<AlternativeAllocator, string>>;

/** Debian's shared objects for the other allocators, and the package that ships each. */
export const DEBIAN_LIBRARIES: Record<AlternativeAllocator, { file: string; debian: string }> = {
  jemalloc: { file: 'libjemalloc.so.2', debian: 'libjemalloc2' },
  tcmalloc: { file: 'libtcmalloc_minimal.so.4', debian: 'libtcmalloc-minimal4' },
  mimalloc: { file: 'libmimalloc.so.2', debian: 'libmimalloc2.0' },
};

/** Where Debian-like systems keep them (both multiarch trees, and the plain ones). */
export const LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
];

/** ELF e_machine of the architectures Node runs malloc-lab on. */
const MACHINES: Record<string, number> = { x64: 62, arm64: 183 };

function requireAllocator(allocator: unknown, fn: string): asserts allocator is AllocatorName {
  if (!ALLOCATORS.includes(allocator as AllocatorName)) {
    throw new MallocLabError(
      `${fn}: allocator must be one of ${ALLOCATORS.join(', ')}, received ${typeof allocator === 'string' ? JSON.stringify(allocator) : check.describe(allocator)}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
}

/** Checks `libraries` (an API argument): known allocators, non-empty path strings. */
export function checkLibraries(libraries: unknown, fn: string, name = 'libraries'): AllocatorLibraries {
  if (libraries === undefined) return {};
  if (libraries === null || typeof libraries !== 'object' || Array.isArray(libraries)) {
    throw check.typeError(fn, name, 'an object of library paths by allocator', libraries);
  }
  for (const [allocator, path] of Object.entries(libraries)) {
    if (allocator === 'glibc' || !ALLOCATORS.includes(allocator as AllocatorName)) {
      throw new MallocLabError(
        `${fn}: ${name} keys must be jemalloc, tcmalloc or mimalloc, received ${JSON.stringify(allocator)}`,
        ErrorCodes.OUT_OF_RANGE,
      );
    }
    if (typeof path !== 'string' || path === '') {
      throw check.typeError(fn, `${name}.${allocator}`, 'the path of a shared library', path);
    }
  }
  return libraries as AllocatorLibraries;
}

/** Why file cannot be preloaded into a process of this architecture, or undefined if it can be. */
export function unloadable(path: string): string | undefined {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 'it does not exist';
  }
  if (!stats.isFile()) return 'it is not a file';
  const header = Buffer.alloc(20);
  let fd;
  try {
    fd = openSync(path, 'r');
    readSync(fd, header, 0, header.length, 0);
  } catch (error) {
    return `it cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return 'it is not an ELF file';
  if (header[4] !== 2 || header[5] !== 1) return 'it is not a 64-bit little-endian ELF file';
  if (header.readUInt16LE(16) !== 3) return 'it is not a shared library (ELF type is not ET_DYN)';
  const machine = header.readUInt16LE(18);
  const expected = MACHINES[process.arch];
  if (expected !== undefined && machine !== expected) {
    return `it is built for another CPU (ELF machine ${machine}, this process is ${process.arch})`;
  }
  return undefined;
}

/**
 * The library to preload for allocator: the one named in libraries (checked: a missing
 * or unloadable file throws ERR_ALLOCATOR_LIBRARY), else Debian's, else `missing` says
 * which package to install.
 */
export function allocatorLibrary(
  allocator: AllocatorName,
  libraries?: AllocatorLibraries,
): { path?: string; missing?: string } {
  requireAllocator(allocator, 'allocatorLibrary');
  const named = checkLibraries(libraries, 'allocatorLibrary');
  if (allocator === 'glibc') return {};
  const given = named[allocator];
  if (given !== undefined) {
    const path = resolve(given);
    const why = unloadable(path);
    if (why !== undefined) {
      throw new MallocLabError(
        `the ${allocator} library ${path} cannot be preloaded: ${why} (expected ${DEBIAN_LIBRARIES[allocator].file} or another build of ${allocator} for this machine)`,
        ErrorCodes.ALLOCATOR_LIBRARY,
      );
    }
    return { path };
  }
  return findDebianLibrary(allocator);
}

/** The distribution's library for allocator in dirs, or `missing`: which package to install. */
export function findDebianLibrary(
  allocator: AlternativeAllocator,
  dirs: string[] = LIBRARY_DIRS,
): { path?: string; missing?: string } {
  const known = DEBIAN_LIBRARIES[allocator];
  const path = dirs.map((dir) => join(dir, known.file)).find((candidate) => unloadable(candidate) === undefined);
  return path !== undefined
    ? { path }
    : {
        missing: `${allocator} is not installed (${known.file} not found; apt-get install ${known.debian}, or name the file: --allocator ${allocator}=/path/${known.file})`,
      };
}

/**
 * ld.so's complaint when a preload failed ("ERROR: ld.so: object '…' from LD_PRELOAD cannot
 * be preloaded (…): ignored."), which leaves the run on glibc: the error to raise, if any.
 */
export function preloadFailure(stderr: string): MallocLabError | undefined {
  const match = /object '([^']*)' from LD_PRELOAD cannot be preloaded \(([^)]*)\)/.exec(stderr);
  if (match === null) return undefined;
  return new MallocLabError(
    `the allocator library ${match[1]} was not preloaded (${match[2]}), so the run would have measured glibc; name a library that loads on this machine`,
    ErrorCodes.ALLOCATOR_LIBRARY,
  );
}

/** glibc's debugging malloc: since glibc 2.34, mtrace(), mcheck() and MALLOC_CHECK_ act only when it is preloaded. */
export const MALLOC_DEBUG_LIBRARY = 'libc_malloc_debug.so.0';

/** The debugging malloc to preload, or a sentence saying why it cannot be. */
export function mallocDebugLibrary(): { path?: string; missing?: string } {
  const path = LIBRARY_DIRS.map((dir) => join(dir, MALLOC_DEBUG_LIBRARY)).find(
    (candidate) => unloadable(candidate) === undefined,
  );
  return path !== undefined
    ? { path }
    : {
        missing: `glibc's debugging malloc is not installed (${MALLOC_DEBUG_LIBRARY} not found; glibc 2.34 and later ship it)`,
      };
}
