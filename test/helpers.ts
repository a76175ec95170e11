/** Shared test helpers: thresholds derive from the sizes involved, never exact RSS. */
import { sample } from '../lib/bridge/procfs.js';
import {
  DEBIAN_LIBRARIES,
  findDebianLibrary,
  LIBRARY_DIRS,
  type AlternativeAllocator,
} from '../lib/experiments/framework/allocator-libraries.js';

export { KiB, MiB, GiB } from '../lib/infra/units.js';

export function rssAnon(): number {
  return sample().status.RssAnon;
}

export function vmSize(): number {
  return sample().status.VmSize;
}

/** Runs fn and returns the error it threw (failing the test if it did not throw). */
export function thrown(fn: () => unknown): Error & { code?: string; errno?: number; syscall?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to throw, but it returned');
}

const announced = new Set<string>();

/**
 * The library of an optional allocator a test needs (libjemalloc2, libtcmalloc-minimal4,
 * libmimalloc2.0). Absent: under CI=true that is an error (.ci/run installs them);
 * otherwise `skip` is the one line saying which package to install, printed once, and
 * the test is skipped.
 */
export function optionalAllocator(
  allocator: AlternativeAllocator,
  { ci = process.env['CI'] === 'true', dirs = LIBRARY_DIRS }: { ci?: boolean; dirs?: string[] } = {},
): { path?: string; skip?: string } {
  const found = findDebianLibrary(allocator, dirs);
  if (found.path !== undefined) return { path: found.path };
  const { file, debian } = DEBIAN_LIBRARIES[allocator];
  if (ci) throw new Error(`${found.missing}: CI=true requires it (.ci/run installs ${debian})`);
  const skip = `skipped: the ${allocator} tests (${file} not found; apt-get install ${debian})`;
  if (!announced.has(skip) && dirs === LIBRARY_DIRS) {
    announced.add(skip);
    process.stdout.write(`${skip}\n`);
  }
  return { skip };
}
