/**
 * mallopt(3) parameters glibc 2.36 acts on, with their environment variables and
 * GLIBC_TUNABLES names (see mallopt(3) and tunables(7)).
 */
export const MALLOPT_PARAMS = {
  M_MXFAST: 1,
  M_TRIM_THRESHOLD: -1,
  M_TOP_PAD: -2,
  M_MMAP_THRESHOLD: -3,
  M_MMAP_MAX: -4,
  M_CHECK_ACTION: -5,
  M_PERTURB: -6,
  M_ARENA_TEST: -7,
  M_ARENA_MAX: -8,
} as const;

export type MalloptName = keyof typeof MALLOPT_PARAMS;

/** For each parameter: the environment variable and the tunable that set it at start-up. */
export const MALLOPT_SETTINGS: Record<MalloptName, { env?: string; tunable?: string }> = {
  M_MXFAST: { tunable: 'glibc.malloc.mxfast' },
  M_TRIM_THRESHOLD: { env: 'MALLOC_TRIM_THRESHOLD_', tunable: 'glibc.malloc.trim_threshold' },
  M_TOP_PAD: { env: 'MALLOC_TOP_PAD_', tunable: 'glibc.malloc.top_pad' },
  M_MMAP_THRESHOLD: { env: 'MALLOC_MMAP_THRESHOLD_', tunable: 'glibc.malloc.mmap_threshold' },
  M_MMAP_MAX: { env: 'MALLOC_MMAP_MAX_', tunable: 'glibc.malloc.mmap_max' },
  M_CHECK_ACTION: { env: 'MALLOC_CHECK_', tunable: 'glibc.malloc.check' },
  M_PERTURB: { env: 'MALLOC_PERTURB_', tunable: 'glibc.malloc.perturb' },
  M_ARENA_TEST: { env: 'MALLOC_ARENA_TEST', tunable: 'glibc.malloc.arena_test' },
  M_ARENA_MAX: { env: 'MALLOC_ARENA_MAX', tunable: 'glibc.malloc.arena_max' },
};

export function malloptName(param: number): MalloptName | undefined {
  return (Object.keys(MALLOPT_PARAMS) as MalloptName[]).find((name) => MALLOPT_PARAMS[name] === param);
}
