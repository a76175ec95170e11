/**
 * Field names of the records the interpreter writes. They are fixed by the
 * native plain layer (native/core/plain.cc) and need no loaded addon, so the
 * parent process can parse runs without loading it.
 */
export const STATUS_FIELD_NAMES = [
  'VmPeak',
  'VmSize',
  'VmLck',
  'VmPin',
  'VmHWM',
  'VmRSS',
  'RssAnon',
  'RssFile',
  'RssShmem',
  'VmData',
  'VmStk',
  'VmExe',
  'VmLib',
  'VmPTE',
  'VmSwap',
  'HugetlbPages',
  'Threads',
] as const;

export const MALLINFO_FIELD_NAMES = [
  'arena',
  'ordblks',
  'smblks',
  'hblks',
  'hblkhd',
  'usmblks',
  'fsmblks',
  'uordblks',
  'fordblks',
  'keepcost',
] as const;

export type StatusValues = Record<(typeof STATUS_FIELD_NAMES)[number], number>;
export type Mallinfo2Values = Record<(typeof MALLINFO_FIELD_NAMES)[number], number>;
