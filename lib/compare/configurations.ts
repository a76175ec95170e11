/**
 * The configurations a comparison runs: the default matrix (glibc as is and with
 * its two usual tunables, each other allocator as shipped and with its
 * documented setting for giving memory back sooner), and the user's own,
 * written `name:TOKEN,TOKEN,…` where a token is a configuration of the matrix to
 * start from (`jemalloc`), an allocator by library path (`jemalloc=/opt/lib/libjemalloc.so.2`,
 * or just the path), or `VAR=value`. A token that is none of these continues the
 * value before it, so `MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0` needs no quoting.
 *
 * Each release setting is in the matrix because it measurably gives memory back
 * on this machine's Debian libraries (the README's table; test/compare.test.ts
 * runs the matrix on a workload and checks it).
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';

import { unloadable } from '../experiments/framework/allocator-libraries.js';
import { allocatorLibrary, type AllocatorName, ALLOCATORS } from '../experiments/framework/hosts.js';
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import * as check from '../infra/validate.js';
import { allocatorOfLibrary } from '../process/allocator-detection.js';

/** What a configuration asks for, before its library is looked up. */
export interface ConfigurationSpec {
  /** Letters, digits and . _ + - (up to 40), unique within a comparison. */
  name: string;
  /** The allocator to preload by name (Debian's library), or glibc (none). Default glibc, or the library's kind. */
  allocator?: AllocatorName;
  /** A shared object to preload instead of Debian's: an absolute path or one relative to the working directory. */
  library?: string;
  /** Variables this configuration sets (GLIBC_TUNABLES, MALLOC_ARENA_MAX, MALLOC_CONF, … or any other). */
  env?: Record<string, string>;
  description?: string;
}

/** A configuration resolved for running: the library found (or why not), the environment it sets. */
export interface Configuration {
  name: string;
  description: string;
  /** The allocator meant to serve malloc; 'other' for a library whose file name says none of them. */
  allocator: AllocatorName | 'other';
  /** The shared object preloaded through LD_PRELOAD; null for glibc. */
  library: string | null;
  /** The variables the configuration sets; its library is preloaded before any LD_PRELOAD given here. */
  env: Record<string, string>;
  source: 'matrix' | 'custom';
  /** Why it cannot run (the library is not installed, the path does not exist); null when it can. */
  missing: string | null;
}

/** mimalloc 2.1 renamed decommit_delay to purge_delay; the library's own option table says which it reads. */
export function mimallocPurgeVariable(library: string | undefined): string {
  if (library === undefined) return 'MIMALLOC_PURGE_DELAY';
  try {
    const text = readFileSync(library).toString('latin1');
    // Option names are C strings; "decommit_delay" can hide as the tail of "segment_decommit_delay".
    if (text.includes('purge_delay\0')) return 'MIMALLOC_PURGE_DELAY';
    if (text.includes('decommit_delay\0')) return 'MIMALLOC_DECOMMIT_DELAY';
  } catch {}
  return 'MIMALLOC_PURGE_DELAY';
}

interface MatrixEntry {
  name: string;
  allocator: AllocatorName;
  description: string;
  env: () => Record<string, string>;
}

const MATRIX: MatrixEntry[] = [
  { name: 'glibc', allocator: 'glibc', description: "glibc's malloc as it ships", env: () => ({}) },
  {
    name: 'glibc-arena-2',
    allocator: 'glibc',
    description: 'glibc with at most 2 arenas: threads share them instead of keeping 8 per core',
    env: () => ({ MALLOC_ARENA_MAX: '2' }),
  },
  {
    name: 'glibc-mmap-128k',
    allocator: 'glibc',
    description:
      'glibc with the mmap threshold pinned at 128 KiB: larger blocks are always mmapped and unmapped on free (the dynamic threshold is off)',
    env: () => ({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' }),
  },
  { name: 'jemalloc', allocator: 'jemalloc', description: 'jemalloc as it ships (10 s dirty decay)', env: () => ({}) },
  {
    name: 'jemalloc-release',
    allocator: 'jemalloc',
    description: 'jemalloc purging freed pages at once (no decay)',
    env: () => ({ MALLOC_CONF: 'dirty_decay_ms:0,muzzy_decay_ms:0' }),
  },
  {
    name: 'tcmalloc',
    allocator: 'tcmalloc',
    description: 'tcmalloc (gperftools, minimal) as it ships',
    env: () => ({}),
  },
  {
    name: 'tcmalloc-release',
    allocator: 'tcmalloc',
    description: 'tcmalloc decommitting free spans at once',
    env: () => ({ TCMALLOC_AGGRESSIVE_DECOMMIT: 'true' }),
  },
  { name: 'mimalloc', allocator: 'mimalloc', description: 'mimalloc as it ships', env: () => ({}) },
  {
    name: 'mimalloc-release',
    allocator: 'mimalloc',
    description: 'mimalloc purging freed pages at once',
    env: () => ({ [mimallocPurgeVariable(allocatorLibrary('mimalloc').path)]: '0' }),
  },
];

/** The default matrix's names, in the order a comparison runs them (the first is the baseline). */
export const MATRIX_NAMES: readonly string[] = MATRIX.map((entry) => entry.name);

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function unknownName(fn: string, where: string, name: string): MallocLabError {
  return new MallocLabError(
    `${fn}: ${where} names no configuration of the matrix, received ${JSON.stringify(name)}; the matrix has ${MATRIX_NAMES.join(', ')} (or write your own as name:TOKEN,…)`,
    ErrorCodes.OUT_OF_RANGE,
  );
}

/** The matrix entry of that name, resolved. */
function fromMatrix(entry: MatrixEntry): Configuration {
  const library = allocatorLibrary(entry.allocator);
  return {
    name: entry.name,
    description: entry.description,
    allocator: entry.allocator,
    library: library.path ?? null,
    env: entry.env(),
    source: 'matrix',
    missing: library.missing ?? null,
  };
}

/** The default matrix, each library looked up on this machine. */
export function defaultConfigurations(): Configuration[] {
  return MATRIX.map(fromMatrix);
}

function isAllocatorName(value: unknown): value is AllocatorName {
  return typeof value === 'string' && (ALLOCATORS as string[]).includes(value);
}

/** A spec object resolved: its library found (or the reason not), its name and environment checked. */
export function resolveSpec(spec: ConfigurationSpec, fn: string, where: string): Configuration {
  const given = check.options<ConfigurationSpec>(spec, fn, where);
  if (typeof given.name !== 'string' || !NAME.test(given.name)) {
    throw check.typeError(
      fn,
      `${where}.name`,
      'letters, digits and . _ + - (at most 40, not starting with a sign)',
      given.name,
    );
  }
  if (given.allocator !== undefined && !isAllocatorName(given.allocator)) {
    throw check.rangeError(fn, `${where}.allocator`, `one of ${ALLOCATORS.join(', ')}`, given.allocator);
  }
  if (given.library !== undefined && (typeof given.library !== 'string' || given.library === '')) {
    throw check.typeError(fn, `${where}.library`, 'the path of a shared object', given.library);
  }
  if (given.env !== undefined && (given.env === null || typeof given.env !== 'object' || Array.isArray(given.env))) {
    throw check.typeError(fn, `${where}.env`, 'an object of strings', given.env);
  }
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(given.env ?? {})) {
    if (!VARIABLE.test(key)) throw check.rangeError(fn, `${where}.env`, 'variable names of letters, digits and _', key);
    if (typeof value !== 'string') throw check.typeError(fn, `${where}.env.${key}`, 'a string', value);
    env[key] = value;
  }
  if (given.description !== undefined && typeof given.description !== 'string') {
    throw check.typeError(fn, `${where}.description`, 'a string', given.description);
  }

  let library: string | null = null;
  let missing: string | null = null;
  let allocator: Configuration['allocator'] = given.allocator ?? 'glibc';
  if (given.library !== undefined) {
    library = resolve(given.library);
    allocator = given.allocator ?? allocatorOfLibrary(library) ?? 'other';
    if (allocator === 'glibc') {
      throw check.rangeError(
        fn,
        `${where}.allocator`,
        'jemalloc, tcmalloc or mimalloc when a library is given',
        'glibc',
      );
    }
    // The same check the experiments' library lookup makes; here it becomes the row's note.
    const why = unloadable(library);
    if (why !== undefined) missing = `${library} cannot be preloaded: ${why}`;
  } else if (allocator !== 'glibc') {
    const found = allocatorLibrary(allocator);
    library = found.path ?? null;
    missing = found.missing ?? null;
  }
  const description =
    given.description ??
    [
      library === null ? 'glibc' : `${allocator === 'other' ? basename(library) : allocator} (${library})`,
      ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
    ].join(', ');
  return { name: given.name, description, allocator, library, env, source: 'custom', missing };
}

/**
 * `name:TOKEN,TOKEN,…` (see the module comment) as a spec. Throws ERR_OUT_OF_RANGE
 * naming `where` for a malformed one.
 */
export function parseConfigurationText(text: string, fn: string, where: string): ConfigurationSpec {
  const colon = text.indexOf(':');
  const name = text.slice(0, colon);
  if (colon < 0 || !NAME.test(name)) {
    throw check.rangeError(fn, where, 'a matrix name or name:TOKEN,… with a name of letters, digits and . _ + -', text);
  }
  const tokens = text.slice(colon + 1).split(',');
  if (tokens.length === 1 && tokens[0] === '') {
    throw check.rangeError(
      fn,
      where,
      `${name}: followed by a matrix name, an allocator library (name=PATH or a path) or VAR=value`,
      text,
    );
  }
  const spec: ConfigurationSpec & { env: Record<string, string> } = { name, env: {} };
  let last: string | null = null;
  for (const token of tokens) {
    const equals = token.indexOf('=');
    const key = equals > 0 ? token.slice(0, equals) : token;
    const base = MATRIX.find((entry) => entry.name === token);
    if (base !== undefined) {
      spec.allocator = base.allocator;
      Object.assign(spec.env, base.env());
      last = null;
    } else if (equals > 0 && isAllocatorName(key) && key !== 'glibc') {
      spec.allocator = key;
      spec.library = token.slice(equals + 1);
      last = null;
    } else if (token.startsWith('/') || token.startsWith('./') || token.startsWith('../')) {
      spec.library = token;
      last = null;
    } else if (equals > 0 && VARIABLE.test(key)) {
      spec.env[key] = token.slice(equals + 1);
      last = key;
    } else if (last !== null) {
      spec.env[last] += `,${token}`;
    } else {
      throw check.rangeError(
        fn,
        where,
        `tokens that are a matrix name (${MATRIX_NAMES.join(', ')}), allocator=PATH, a library path or VAR=value; ${JSON.stringify(token)} is none`,
        text,
      );
    }
  }
  return spec;
}

/**
 * The configurations a comparison runs: the default matrix when none are given;
 * otherwise each entry is a matrix name, a `name:TOKEN,…` text or a spec object.
 */
export function resolveConfigurations(given: unknown, fn: string): Configuration[] {
  if (given === undefined) return defaultConfigurations();
  if (!Array.isArray(given) || given.length === 0) {
    throw check.typeError(fn, 'options.configurations', 'a non-empty array of names, name:TOKEN texts or specs', given);
  }
  const resolved = given.map((entry: unknown, index) => {
    const where = `options.configurations[${index}]`;
    if (typeof entry === 'string') {
      const matrix = MATRIX.find((candidate) => candidate.name === entry);
      if (matrix !== undefined) return fromMatrix(matrix);
      if (!entry.includes(':')) throw unknownName(fn, where, entry);
      return resolveSpec(parseConfigurationText(entry, fn, where), fn, where);
    }
    if (entry === null || typeof entry !== 'object') {
      throw check.typeError(fn, where, 'a matrix name, a name:TOKEN text or a spec object', entry);
    }
    return resolveSpec(entry as ConfigurationSpec, fn, where);
  });
  const names = new Set<string>();
  for (const configuration of resolved) {
    if (names.has(configuration.name)) {
      throw check.rangeError(fn, 'options.configurations', 'configurations with distinct names', configuration.name);
    }
    names.add(configuration.name);
  }
  return resolved;
}
