/**
 * Whether malloc-lab can run here, answered without throwing: `import { probe } from
 * 'malloc-lab/probe'` works on any OS. The answer is the loader's own decision
 * (lib/infra/binaries.ts), and the addon it picks is loaded to see that it loads, so
 * `supported: true` means importing malloc-lab works.
 */
import { loadAddonFile } from './infra/addon-file.js';
import {
  glibcRuntimeVersion,
  isProblem,
  loadFailure,
  locateBinaries,
  currentFacts,
  packageRoot,
  type Origin,
} from './infra/binaries.js';
import type { ErrorCode } from './infra/errors.js';

export { glibcRuntimeVersion, packageRoot };

export interface Support {
  supported: boolean;
  /** One sentence saying what is wrong and what to do; empty when supported. */
  reason: string;
  /** The stable code of the error importing malloc-lab would throw; absent when supported. */
  code?: ErrorCode;
  /** The dlopen error, when the addon was found but did not load. */
  cause?: unknown;
  /** The addon that is (or would be) loaded. */
  addonPath?: string;
  /** Where it comes from: MALLOC_LAB_ADDON, a build of the package's sources, or a prebuilt binary. */
  origin?: Origin;
  /** The fresh host the experiments run, when there is one. */
  freshPath?: string;
  /** Why experiments cannot use the fresh host, when they cannot. */
  freshReason?: string;
  /** The glibc this process runs on, where it has one. */
  glibc?: string;
}

export function probe(): Support {
  try {
    const facts = currentFacts();
    const located = locateBinaries(facts);
    const glibc = facts.glibc === undefined ? {} : { glibc: facts.glibc };
    const fresh = isProblem(located.fresh) ? { freshReason: located.fresh.reason } : { freshPath: located.fresh.path };
    if (isProblem(located.addon)) {
      return { supported: false, reason: located.addon.reason, code: located.addon.code, ...fresh, ...glibc };
    }
    const found = located.addon;
    const where = { addonPath: found.path, origin: found.origin, ...fresh, ...glibc };
    try {
      loadAddonFile(found.path);
    } catch (cause) {
      return { supported: false, ...loadFailure(found, cause), cause, ...where };
    }
    return { supported: true, reason: '', ...where };
  } catch (error) {
    return {
      supported: false,
      reason: `malloc-lab could not tell whether it runs here: ${String((error as Error)?.message ?? error)}`,
    };
  }
}

/** True when importing malloc-lab works here. Never throws. */
export function supported(): boolean {
  return probe().supported;
}
