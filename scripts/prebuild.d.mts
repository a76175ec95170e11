// Types for scripts/prebuild.mjs, for the tests that import it.
export interface Target {
  arch: string;
  triple: string;
  machine: string;
  apt: string;
}
export interface ShippedFile {
  path: string;
  bytes: number;
  sha256: string;
  machine: string;
  needed: string[];
  requires: Record<string, string>;
}
export interface Manifest {
  name: string;
  version: string;
  napi: number;
  libc: string;
  glibcFloor: string;
  targets: Record<
    string,
    {
      platform: string;
      arch: string;
      libc: string;
      glibcFloor: string;
      compiler: string;
      inputs: string;
      files: Record<'addon' | 'fresh', ShippedFile>;
    }
  >;
}
export const prebuildsDir: string;
export const TARGETS: Target[];
export function toolchain(target: Target): { CC: string; CXX: string; strip: string; missing: string[] };
export function prebuild(options?: { arches?: string[]; force?: boolean; log?: (line: string) => void }): Manifest;
