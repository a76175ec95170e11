/**
 * Field names of the records the interpreter writes. They are fixed by the
 * native plain layer (native/core/plain.cc) and need no loaded addon, so the
 * parent process can parse runs without loading it. The status names are the
 * ones process/proc-files.ts reads; test/native-parity.test.ts checks both lists
 * against the addon's.
 */
import { STATUS_FIELDS } from '../../process/proc-files.js';

export const STATUS_FIELD_NAMES = STATUS_FIELDS;

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

export type StatusValues = Record<(typeof STATUS_FIELDS)[number], number>;
export type Mallinfo2Values = Record<(typeof MALLINFO_FIELD_NAMES)[number], number>;
