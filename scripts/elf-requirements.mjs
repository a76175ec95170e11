// What a shipped ELF file needs from the system it runs on, read with binutils' objdump,
// and whether a glibc-2.28 system has it. scripts/prebuild.mjs refuses binaries above
// the floor; test/package.test.ts checks every binary in the package with the same rules.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';

// The loader's comparison (dotted versions, numerically: "2.3.2" < "2.17"), so both judge a floor alike.
import { compareVersions } from '../dist/infra/binaries.js';

export { compareVersions };

/** The oldest glibc the published binaries load on: Node 20's own (RHEL 8 and its rebuilds). */
export const GLIBC_FLOOR = '2.28';

/**
 * The newest version of each versioned library on a glibc-2.28 system: RHEL 8 ships
 * GCC 8's libstdc++ (GLIBCXX_3.4.25, CXXABI_1.3.11) and libgcc_s (GCC_7.0.0 is its last).
 */
export const CEILINGS = { GLIBC: GLIBC_FLOOR, GLIBCXX: '3.4.25', CXXABI: '1.3.11', GCC: '7.0.0' };

const MACHINES = { 62: 'x86-64', 183: 'aarch64' };

function objdump(args, file) {
  try {
    return execFileSync('objdump', [...args, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (error) {
    if (error.code === 'ENOENT')
      throw new Error('objdump is not installed (apt-get install binutils)', { cause: error });
    throw error;
  }
}

/**
 * The ELF header's machine and type, the libraries it needs, the symbol versions it
 * requires (by library) and the undefined symbols behind each version.
 */
export function elfInfo(file) {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
  const machineCode = header.readUInt16LE(18);
  const type = { 2: 'EXEC', 3: 'DYN' }[header.readUInt16LE(16)] ?? 'other';

  const needed = [];
  const versions = {};
  let library;
  for (const line of objdump(['-p'], file).split('\n')) {
    const need = /^\s+NEEDED\s+(\S+)/.exec(line);
    if (need) needed.push(need[1]);
    const from = /^\s+required from (\S+):/.exec(line);
    if (from) {
      library = from[1];
      versions[library] = [];
      continue;
    }
    const version = /^\s+0x[0-9a-f]+ 0x[0-9a-f]+ \d+ (\S+)/.exec(line);
    if (version && library !== undefined) versions[library].push(version[1]);
  }

  const symbols = [];
  for (const line of objdump(['-T'], file).split('\n')) {
    const match = /\*UND\*\s+[0-9a-f]+\s+\(?([A-Z]+_[0-9.]+)\)?\s+(\S+)/.exec(line);
    if (match) symbols.push({ version: match[1], name: match[2] });
  }
  return { machine: MACHINES[machineCode] ?? `machine ${machineCode}`, type, needed, versions, symbols };
}

/** The highest required version per family (GLIBC, GLIBCXX, CXXABI, GCC), e.g. { GLIBC: '2.27' }. */
export function highestRequired(info) {
  const highest = {};
  for (const version of Object.values(info.versions).flat()) {
    const match = /^([A-Z]+)_([0-9.]+)$/.exec(version);
    if (!match) continue;
    const [, family, number] = match;
    if (highest[family] === undefined || compareVersions(number, highest[family]) > 0) highest[family] = number;
  }
  return highest;
}

/** Each requirement a glibc-2.28 system cannot meet, with the symbols that need it; empty when none. */
export function requirementProblems(info) {
  const problems = [];
  for (const version of [...new Set(Object.values(info.versions).flat())]) {
    const match = /^([A-Z]+)_([0-9.]+)$/.exec(version);
    if (!match) continue;
    const [, family, number] = match;
    const ceiling = CEILINGS[family];
    if (ceiling === undefined) {
      problems.push(`${version}: a library version a glibc-2.28 system is not known to have`);
    } else if (compareVersions(number, ceiling) > 0) {
      const users = info.symbols.filter((symbol) => symbol.version === version).map((symbol) => symbol.name);
      problems.push(`${version} (above ${family}_${ceiling}) for ${users.join(', ') || 'an unnamed symbol'}`);
    }
  }
  return problems;
}
