// Types for scripts/elf-requirements.mjs, for the tests that import it.
export interface ElfInfo {
  machine: string;
  type: string;
  needed: string[];
  versions: Record<string, string[]>;
  symbols: { version: string; name: string }[];
}
export const GLIBC_FLOOR: string;
export const CEILINGS: Record<'GLIBC' | 'GLIBCXX' | 'CXXABI' | 'GCC', string>;
export function compareVersions(a: string, b: string): number;
export function elfInfo(file: string): ElfInfo;
export function highestRequired(info: ElfInfo): Record<string, string>;
export function requirementProblems(info: ElfInfo): string[];
