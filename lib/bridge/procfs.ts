/**
 * Snapshots of /proc/<pid>/status (and smaps_rollup, statm) in bytes, under the
 * kernel's field names. The addon reads them into memory allocated once, here,
 * so taking a snapshot changes the glibc heap by zero bytes.
 */
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { native } from '../infra/native.js';
import * as check from '../infra/validate.js';
import {
  STATUS_FIELDS,
  SMAPS_ROLLUP_FIELDS,
  STATM_FIELDS,
  type Status,
  type SmapsRollup,
  type SmapsRollupField,
  type Statm,
} from '../process/proc-files.js';
import { type Mallinfo2, MALLINFO_FIELDS, mallinfo2, mallinfoFrom } from './heap.js';

export {
  STATUS_FIELDS,
  SMAPS_ROLLUP_FIELDS,
  STATM_FIELDS,
  type Status,
  type StatusField,
  type SmapsRollup,
  type SmapsRollupField,
  type Statm,
  type StatmField,
} from '../process/proc-files.js';

// The addon parses into buffers by position, so its tables must list the same names in the same order.
for (const [name, ours, addons] of [
  ['status', STATUS_FIELDS, native.statusFields],
  ['smaps_rollup', SMAPS_ROLLUP_FIELDS, native.smapsRollupFields],
  ['statm', STATM_FIELDS, native.statmFields],
] as const) {
  if (ours.join() !== addons.join()) {
    throw new MallocLabError(
      `malloc-lab's addon reads ${name} fields ${addons.join(', ')} but the library expects ${ours.join(', ')}: the addon is from another version; rebuild it`,
      ErrorCodes.ADDON_NOT_BUILT,
    );
  }
}

// Allocated once: the reads below fill these instead of allocating.
const statusBuffer = new Float64Array(STATUS_FIELDS.length);
const sampleBuffer = new Float64Array(STATUS_FIELDS.length + 1 + MALLINFO_FIELDS.length);
const smapsBuffer = new Float64Array(SMAPS_ROLLUP_FIELDS.length);
const statmBuffer = new Float64Array(STATM_FIELDS.length);

function record<K extends string>(names: readonly K[], values: Float64Array, start = 0): Record<K, number> {
  const result = {} as Record<K, number>;
  for (let i = 0; i < names.length; i++) result[names[i]!] = values[start + i]!;
  return result;
}

type Builder<K extends string> = (values: Float64Array, start: number) => Record<K, number>;

/**
 * record() for one list of names, as an object literal compiled once: every result
 * has the same shape from the start, where a loop of computed-key stores costs a
 * megamorphic store per field (a tenth of a statm() call). The names are the
 * addon's own field tables; anything that is not a plain identifier keeps record().
 */
function builder<K extends string>(names: readonly K[]): Builder<K> {
  if (!names.every((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && name !== '__proto__')) {
    return (values, start) => record(names, values, start);
  }
  const fields = names.map((name, i) => `${name}: values[start + ${i}]`).join(', ');
  return new Function('values', 'start', `return { ${fields} };`) as Builder<K>;
}

/**
 * smaps_rollup's record with USS (Private_Clean + Private_Dirty) in the same literal.
 * Adding USS to a finished record changes its shape on every call, and after a garbage
 * collection V8 builds that transition again, mallocing for it (about 1 KiB) inside
 * what the caller measures.
 */
function smapsBuilder(): (values: Float64Array) => SmapsRollup {
  const at = (name: SmapsRollupField) => SMAPS_ROLLUP_FIELDS.indexOf(name);
  const fields = SMAPS_ROLLUP_FIELDS.map((name, i) => `${name}: values[${i}]`).join(', ');
  return new Function(
    'values',
    `return { ${fields}, USS: values[${at('Private_Clean')}] + values[${at('Private_Dirty')}] };`,
  ) as (values: Float64Array) => SmapsRollup;
}

const statusRecord = builder(STATUS_FIELDS);
const smapsRecord = smapsBuilder();
const statmRecord = builder(STATM_FIELDS);

/** /proc/<pid>/status in bytes; pid omitted (or 0) means this process. */
export function status(pid?: number): Status {
  native.readStatus(check.pid(pid, 'status'), statusBuffer);
  return statusRecord(statusBuffer, 0);
}

export function smapsRollup(pid?: number): SmapsRollup {
  native.readSmapsRollup(check.pid(pid, 'smapsRollup'), smapsBuffer);
  return smapsRecord(smapsBuffer);
}

/** statm through a descriptor kept open (for this process): the cheapest RSS reading. */
export function statm(pid?: number): Statm {
  native.readStatm(check.pid(pid, 'statm'), statmBuffer);
  return statmRecord(statmBuffer, 0);
}

/** Resets VmHWM to the current RSS (writes 5 to /proc/<pid>/clear_refs), so a phase's peak can be read. */
export function resetPeakRss(pid?: number): void {
  native.resetPeakRss(check.pid(pid, 'resetPeakRss'));
}

/** What a measurement of this process records: status, the program break and mallinfo2. */
export interface Sample {
  status: Status;
  brk: bigint;
  mallinfo: Mallinfo2;
}

/** status + sbrk(0) + mallinfo2 of this process in one native call, allocating nothing on the glibc heap. */
export function sample(): Sample {
  native.readSample(sampleBuffer);
  const brkIndex = STATUS_FIELDS.length;
  return {
    status: statusRecord(sampleBuffer, 0),
    brk: BigInt(sampleBuffer[brkIndex]!),
    mallinfo: mallinfoFrom(sampleBuffer, brkIndex + 1),
  };
}

export interface SnapshotOptions {
  /** Add the program break (this process only). */
  brk?: boolean;
  /** Add mallinfo2 (this process only). */
  mallinfo?: boolean;
  /** Add /proc/<pid>/smaps_rollup. */
  smapsRollup?: boolean;
  /** Add /proc/<pid>/statm. */
  statm?: boolean;
}

export interface Snapshot {
  pid: number;
  status: Status;
  brk?: bigint;
  mallinfo?: Mallinfo2;
  smapsRollup?: SmapsRollup;
  statm?: Statm;
}

/** A snapshot of /proc/<pid>/status (pid omitted: this process), plus what options ask for. */
export function snapshot(pid?: number, options?: SnapshotOptions): Snapshot {
  const target = check.pid(pid, 'snapshot');
  const wanted = check.options<SnapshotOptions>(options, 'snapshot');
  const self = target === 0 || target === process.pid;
  if (!self && (wanted.brk || wanted.mallinfo)) {
    throw new MallocLabError(
      `snapshot: brk and mallinfo can only be read for this process (pid ${process.pid}), received pid ${target}`,
      ErrorCodes.OUT_OF_RANGE,
    );
  }
  const result: Snapshot = { pid: self ? process.pid : target, status: status(target) };
  if (wanted.brk) result.brk = native.programBreak();
  if (wanted.mallinfo) result.mallinfo = mallinfo2();
  if (wanted.smapsRollup) result.smapsRollup = smapsRollup(target);
  if (wanted.statm) result.statm = statm(target);
  return result;
}
