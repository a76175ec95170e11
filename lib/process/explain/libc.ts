/**
 * Which glibc a process runs: the libc its maps name, and the version that file
 * declares ("… release version 2.36."). The file is read through
 * /proc/<pid>/root, so a process in a container is judged by its own libc.
 * Results are kept per file (device, inode, size), so a fleet reads each libc once.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';

import { type GlibcVersion, parseGlibcVersion } from '../../glibc/structures.js';
import { procPath } from '../proc-files.js';
import type { Mapping } from './smaps.js';

const GLIBC_FILE = /^(libc\.so\.6|libc-2\.\d+\.so)$/;
const cache = new Map<string, GlibcVersion | null>();

/** The path of glibc's libc in these mappings, or null (musl, a static binary, another libc). */
export function libcPathOf(mappings: Mapping[]): string | null {
  for (const mapping of mappings) {
    if (mapping.path.startsWith('/') && GLIBC_FILE.test(basename(mapping.path))) return mapping.path;
  }
  return null;
}

/** The version libc declares, read from the file the process mapped; null when it cannot be read. */
export function glibcVersionOf(pid: number, libcPath: string): GlibcVersion | null {
  const path = procPath(pid, `root${libcPath}`);
  let key: string;
  try {
    const stat = statSync(path);
    key = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return null;
  }
  if (cache.has(key)) return cache.get(key)!;
  let version: GlibcVersion | null = null;
  try {
    const bytes = readFileSync(path);
    const marker = bytes.indexOf('release version ');
    if (marker >= 0) version = parseGlibcVersion(bytes.toString('latin1', marker + 16, marker + 24));
  } catch {
    version = null;
  }
  cache.set(key, version);
  return version;
}
