/**
 * Whether malloc-lab can run here, answered without loading the addon and
 * without throwing: `import { supported } from 'malloc-lab/probe'` works on any OS.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Support {
  supported: boolean;
  /** One sentence saying what is wrong and what to do; empty when supported. */
  reason: string;
  /** The built addon that would be loaded, if one was found. */
  addonPath?: string;
}

/** The package's root folder (the one holding package.json). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the addon may be, in the order the loader tries them. */
export function addonCandidates(): string[] {
  const fromEnv = process.env['MALLOC_LAB_ADDON'];
  if (fromEnv) return [resolve(fromEnv)];
  return [
    join(packageRoot, 'build', 'Release', 'malloc_lab.node'),
    join(packageRoot, 'build-cmake', 'Release', 'malloc_lab.node'),
    join(packageRoot, 'build', 'Debug', 'malloc_lab.node'),
  ];
}

/** The glibc version this process runs on, or undefined (musl, macOS, Windows). */
export function glibcRuntimeVersion(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}

export function probe(): Support {
  if (process.platform !== 'linux') {
    return {
      supported: false,
      reason: `malloc-lab drives the glibc allocator and runs only on Linux with glibc; this process runs on ${process.platform}.`,
    };
  }
  if (glibcRuntimeVersion() === undefined) {
    return {
      supported: false,
      reason:
        'malloc-lab drives the glibc allocator, but this Linux has no glibc (musl, as on Alpine?); use a glibc-based image such as Debian or Ubuntu.',
    };
  }
  const addonPath = addonCandidates().find((candidate) => existsSync(candidate));
  if (addonPath === undefined) {
    return {
      supported: false,
      reason: `malloc-lab's native addon is not built (looked for ${addonCandidates()[0]}); run \`npm install\` or \`npm run build:native\` in ${packageRoot} (it needs python3, make and g++).`,
    };
  }
  return { supported: true, reason: '', addonPath };
}

/** True when the platform is Linux with glibc and the addon is built. Never throws. */
export function supported(): boolean {
  try {
    return probe().supported;
  } catch {
    return false;
  }
}
