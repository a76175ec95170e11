/** Shared test helpers: thresholds derive from the sizes involved, never exact RSS. */
import { sample } from '../lib/bridge/procfs.js';

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
