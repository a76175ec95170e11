// lib/ keeps its own copy of every table it shares with the addon: the step program
// format (a parent process builds and parses programs without loading the addon),
// field names, mallopt parameters, madvise advice, thread calls and error codes. The
// addon exports its tables; each must equal lib's, or one side was changed alone.
import { describe, expect, it } from 'vitest';

import { MADVISE_ADVICE } from '../lib/bridge/pages.js';
import { SMAPS_ROLLUP_FIELDS, STATM_FIELDS } from '../lib/bridge/procfs.js';
import { THREAD_CALLS } from '../lib/bridge/threads.js';
import { MALLINFO_FIELD_NAMES, STATUS_FIELD_NAMES } from '../lib/experiments/framework/fields.js';
import {
  HEADER,
  OPS,
  PROGRAM_FLAGS,
  PROGRAM_MAGIC,
  PROGRAM_VERSION,
  RECORD,
  REFUSALS,
  SAMPLE,
} from '../lib/experiments/framework/program.js';
import { MALLOPT_PARAMS } from '../lib/glibc/mallopt-params.js';
import { ErrorCodes } from '../lib/infra/errors.js';
import { native } from '../lib/infra/native.js';
import { STATUS_FIELDS } from '../lib/process/proc-files.js';

const format = native.programFormat;

/** What each side says: lib's copy first, the addon's export second. */
const TABLES: [what: string, lib: unknown, addon: unknown][] = [
  [
    'the step program magic number and version',
    { magic: PROGRAM_MAGIC, version: PROGRAM_VERSION },
    { magic: format.magic, version: format.version },
  ],
  ['where each header value sits', HEADER, format.header],
  ['the program flags', PROGRAM_FLAGS, format.flags],
  ['the record layout and its width', RECORD, format.record],
  ['the sample inside a record (status, break, mallinfo2)', SAMPLE, format.sample],
  ['the op codes', OPS, format.ops],
  ['the refusal statuses and their codes', REFUSALS, format.refusals],
  ['the status field names, in order (process/proc-files.ts)', [...STATUS_FIELDS], native.statusFields],
  ['the status field names, in order (experiments/framework/fields.ts)', [...STATUS_FIELD_NAMES], native.statusFields],
  ['the smaps_rollup field names, in order', [...SMAPS_ROLLUP_FIELDS], native.smapsRollupFields],
  ['the statm field names, in order', [...STATM_FIELDS], native.statmFields],
  ['the mallinfo2 field names, in order', [...MALLINFO_FIELD_NAMES], native.mallinfoFields],
  ['the mallopt parameters glibc acts on', MALLOPT_PARAMS, native.malloptParams],
  ['the madvise advice malloc-lab passes on', MADVISE_ADVICE, native.madviseAdvice],
  ['the calls an allocator thread runs', THREAD_CALLS, native.threadCalls],
];

describe('lib and the addon agree on', () => {
  for (const [what, lib, addon] of TABLES) {
    it(what, () => {
      expect(lib).toEqual(addon);
    });
  }

  it('the error codes: every one the addon raises is in ErrorCodes', () => {
    const known = new Set<string>(Object.values(ErrorCodes));
    expect(native.errorCodes.filter((code) => !known.has(code))).toEqual([]);
    expect(native.errorCodes.length).toBeGreaterThan(10);
  });
});
