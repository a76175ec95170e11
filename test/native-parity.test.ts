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

describe('lib and the addon agree on', () => {
  const format = native.programFormat;

  it('the step program header: magic, version, where each value sits, and the flags', () => {
    expect({ magic: PROGRAM_MAGIC, version: PROGRAM_VERSION }).toEqual({
      magic: format.magic,
      version: format.version,
    });
    expect(HEADER).toEqual(format.header);
    expect(PROGRAM_FLAGS).toEqual(format.flags);
  });

  it('the record layout: its fields, the sample inside it and the width', () => {
    expect(RECORD).toEqual(format.record);
    expect(SAMPLE).toEqual(format.sample);
  });

  it('the op codes', () => {
    expect(OPS).toEqual(format.ops);
  });

  it('the refusal statuses and their codes', () => {
    expect(REFUSALS).toEqual(format.refusals);
  });

  it('the field names of status, smaps_rollup, statm and mallinfo2, in order', () => {
    expect([...STATUS_FIELDS]).toEqual(native.statusFields);
    expect([...STATUS_FIELD_NAMES]).toEqual(native.statusFields);
    expect([...SMAPS_ROLLUP_FIELDS]).toEqual(native.smapsRollupFields);
    expect([...STATM_FIELDS]).toEqual(native.statmFields);
    expect([...MALLINFO_FIELD_NAMES]).toEqual(native.mallinfoFields);
  });

  it('the mallopt parameters glibc acts on', () => {
    expect(MALLOPT_PARAMS).toEqual(native.malloptParams);
  });

  it('the madvise advice malloc-lab passes on', () => {
    expect(MADVISE_ADVICE).toEqual(native.madviseAdvice);
  });

  it('the calls an allocator thread runs', () => {
    expect(THREAD_CALLS).toEqual(native.threadCalls);
  });

  it('the error codes: every one the addon raises is in ErrorCodes', () => {
    const known = new Set<string>(Object.values(ErrorCodes));
    expect(native.errorCodes.filter((code) => !known.has(code))).toEqual([]);
    expect(native.errorCodes.length).toBeGreaterThan(10);
  });
});
