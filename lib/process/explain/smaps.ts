/**
 * /proc/<pid>/smaps, parsed from bytes as they are read: one Mapping per VMA, sizes
 * in bytes. A process can have tens of thousands of mappings (10 MB of text), so
 * the parser works on Buffers chunk by chunk, compares field names by their bytes
 * and never splits the text into strings; the caller can read the next chunk
 * while this one is parsed.
 *
 * Addresses are numbers: VMA bounds are page multiples, and every page multiple
 * below 2^64 is exact in a double. Text that is not smaps is an ERR_BAD_SMAPS
 * error naming the line and what was expected there; field names this parser
 * does not use are skipped, so a newer kernel's additions do not break it.
 */
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';

export interface Mapping {
  start: number;
  end: number;
  /** As maps shows them: r/-, w/-, x/-, then p (private) or s (shared). */
  perms: string;
  offset: number;
  inode: number;
  /** The file, or [heap], [stack], [vdso], …; empty for anonymous memory. */
  path: string;
  /** Resident bytes (Rss). */
  rss: number;
  /** Proportional share (Pss): shared pages divided among the processes that map them. */
  pss: number;
  /** Anonymous bytes (Anonymous). */
  anonymous: number;
  /** Swapped out (Swap). */
  swap: number;
}

const NEWLINE = 10;
const SPACE = 32;
const TAB = 9;
const COLON = 58;

function hexDigit(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  return -1;
}

// Field ids: which Mapping field a smaps line fills (NONE: a line this parser skips).
const NONE = 0;
const RSS = 1;
const PSS = 2;
const ANONYMOUS = 3;
const SWAP = 4;
const KERNEL_PAGE_SIZE = 5;
/** Not one of the names fixedField knows: the line is parsed the long way. */
const UNKNOWN = -1;

/**
 * The field of a standard 28-byte kB line at `at`, from its first bytes and the colon
 * where that name ends (NONE for the kernel's other names, UNKNOWN for any other).
 */
function fixedField(bytes: Buffer, at: number): number {
  switch (bytes[at]) {
    case 82: // R: Rss, Referenced
      if (bytes[at + 1] === 115 && bytes[at + 3] === COLON) return RSS;
      return bytes[at + 10] === COLON ? NONE : UNKNOWN;
    case 80: // P: Pss, Pss_Dirty, Private_Clean, Private_Dirty, Private_Hugetlb
      if (bytes[at + 1] === 115 && bytes[at + 3] === COLON) return PSS;
      return bytes[at + 9] === COLON || bytes[at + 13] === COLON || bytes[at + 15] === COLON ? NONE : UNKNOWN;
    case 65: // A: Anonymous, AnonHugePages
      if (bytes[at + 4] === 121 && bytes[at + 9] === COLON) return ANONYMOUS;
      return bytes[at + 13] === COLON ? NONE : UNKNOWN;
    case 83: // S: Swap, Size, SwapPss, Shared_*, ShmemPmdMapped
      if (bytes[at + 1] === 119 && bytes[at + 4] === COLON) return SWAP;
      return bytes[at + 4] === COLON || bytes[at + 7] === COLON || bytes[at + 12] === COLON || bytes[at + 14] === COLON
        ? NONE
        : UNKNOWN;
    case 75: // K: KernelPageSize, KSM
      if (bytes[at + 1] === 101 && bytes[at + 14] === COLON) return KERNEL_PAGE_SIZE;
      return bytes[at + 3] === COLON ? NONE : UNKNOWN;
    case 76: // Locked, LazyFree
      return bytes[at + 6] === COLON || bytes[at + 8] === COLON ? NONE : UNKNOWN;
    case 77: // MMUPageSize
      return bytes[at + 11] === COLON ? NONE : UNKNOWN;
    case 70: // FilePmdMapped
      return bytes[at + 13] === COLON ? NONE : UNKNOWN;
    default:
      return UNKNOWN;
  }
}

/** The field a name (bytes[start, start + length)) fills, by its length and a few of its bytes: no strings made. */
function fieldOf(bytes: Buffer, start: number, length: number): number {
  const first = bytes[start];
  switch (length) {
    case 3:
      if (bytes[start + 1] !== 115 || bytes[start + 2] !== 115) return NONE; // "?ss"
      return first === 82 ? RSS : first === 80 ? PSS : NONE;
    case 4: // Swap (Size is the other)
      return first === 83 && bytes[start + 1] === 119 ? SWAP : NONE;
    case 9: // Anonymous (Pss_Dirty is the other)
      return first === 65 && bytes[start + 1] === 110 ? ANONYMOUS : NONE;
    case 14: // KernelPageSize (ShmemPmdMapped, Shared_Hugetlb are others)
      return first === 75 ? KERNEL_PAGE_SIZE : NONE;
    default:
      return NONE;
  }
}

export class SmapsParser {
  readonly mappings: Mapping[] = [];
  /** The smallest KernelPageSize seen (the base page size; hugetlb mappings show larger ones). */
  pageSize = 0;
  #current: Mapping | undefined;
  #carry: Buffer | undefined;
  #line = 0;

  /** Parses chunk[0, length): whole lines now, a trailing partial line with the next chunk. */
  push(chunk: Uint8Array, length = chunk.length): void {
    let bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#carry !== undefined) {
      bytes = Buffer.concat([this.#carry, bytes.subarray(0, length)]);
      length = bytes.length;
      this.#carry = undefined;
    }
    const last = bytes.lastIndexOf(NEWLINE, length - 1);
    if (last < 0) {
      this.#carry = Buffer.from(bytes.subarray(0, length));
      return;
    }
    this.#parseLines(bytes, 0, last + 1);
    if (last + 1 < length) this.#carry = Buffer.from(bytes.subarray(last + 1, length));
  }

  /** The mappings; a last line without its newline is parsed as a line. */
  end(): Mapping[] {
    if (this.#carry !== undefined && this.#carry.length > 0) {
      const line = Buffer.concat([this.#carry, Buffer.of(NEWLINE)]);
      this.#carry = undefined;
      this.#parseLines(line, 0, line.length);
    }
    return this.mappings;
  }

  #fail(bytes: Buffer, start: number, end: number, expected: string, line = this.#line): never {
    this.#line = line;
    const text = bytes.toString('latin1', start, Math.min(end, start + 80));
    throw new MallocLabError(
      `smaps: line ${this.#line}: expected ${expected}, received ${JSON.stringify(text)}${end - start > 80 ? '…' : ''}`,
      ErrorCodes.BAD_SMAPS,
    );
  }

  /** Whole lines in bytes[at, end), each ending with a newline: one pass over the bytes, no strings for fields. */
  #parseLines(bytes: Buffer, at: number, end: number): void {
    // Locals, not fields, in the loop that runs once per line; written back when it ends (or fails).
    let line = this.#line;
    let current = this.#current;
    while (at < end) {
      line++;
      const start = at;
      const first = bytes[at]!;
      if (first === NEWLINE) {
        at++; // a blank line carries nothing
        continue;
      }
      if (hexDigit(first) >= 0) {
        let lineEnd = at;
        while (bytes[lineEnd] !== NEWLINE) lineEnd++;
        this.#line = line; // for the messages of a malformed header
        current = this.#parseHeader(bytes, start, lineEnd);
        this.mappings.push(current);
        at = lineEnd + 1;
        continue;
      }
      // The kernel's usual line: a name padded to 16 columns, the value right-aligned in 8, " kB".
      // Taken by the bytes at known places, without a pass over the line; anything else goes the long way.
      if (
        at + 27 < end &&
        bytes[at + 27] === NEWLINE &&
        bytes[at + 24] === SPACE &&
        bytes[at + 25] === 107 &&
        bytes[at + 26] === 66
      ) {
        const field = fixedField(bytes, at);
        if (field !== UNKNOWN) {
          const mapping = current;
          if (mapping === undefined) this.#fail(bytes, start, at + 27, 'a mapping line before its fields', line);
          if (field !== NONE) {
            let column = at + 16;
            while (column < at + 23 && bytes[column] === SPACE) column++;
            let value = 0;
            for (; column < at + 24; column++) {
              const digit = bytes[column]! - 48;
              if (digit < 0 || digit > 9) this.#fail(bytes, start, at + 27, 'a size in kB after the field name', line);
              value = value * 10 + digit;
            }
            this.#store(mapping, field, value * 1024);
          }
          at += 28;
          continue;
        }
      }
      let colon = at;
      let byte = first;
      while (byte !== COLON && byte !== NEWLINE) byte = bytes[++colon]!;
      if (byte !== COLON || first < 65 || first > 90) {
        this.#fail(
          bytes,
          start,
          bytes.indexOf(NEWLINE, start),
          'a mapping line (start-end perms offset dev inode path) or a "Name: value" line',
          line,
        );
      }
      const mapping = current;
      if (mapping === undefined)
        this.#fail(bytes, start, bytes.indexOf(NEWLINE, start), 'a mapping line before its fields', line);
      const field = fieldOf(bytes, start, colon - start);
      at = colon + 1;
      if (field === NONE) {
        while (bytes[at] !== NEWLINE) at++;
        at++;
        continue;
      }
      // "   123 kB\n"
      byte = bytes[at]!;
      while (byte === SPACE || byte === TAB) byte = bytes[++at]!;
      let value = 0;
      const digitsFrom = at;
      while (byte >= 48 && byte <= 57) {
        value = value * 10 + (byte - 48);
        byte = bytes[++at]!;
      }
      const digits = at - digitsFrom;
      if (digits === 0 || digits > 15)
        this.#fail(bytes, start, bytes.indexOf(NEWLINE, start), 'a size in kB after the field name', line);
      if (byte !== SPACE || bytes[at + 1] !== 107 || bytes[at + 2] !== 66 || bytes[at + 3] !== NEWLINE) {
        this.#fail(bytes, start, bytes.indexOf(NEWLINE, start), 'the unit " kB" after the number', line);
      }
      at += 4;
      this.#store(mapping, field, value * 1024);
    }
    this.#current = current;
    this.#line = line;
  }

  #store(mapping: Mapping, field: number, value: number): void {
    if (field === RSS) mapping.rss = value;
    else if (field === PSS) mapping.pss = value;
    else if (field === ANONYMOUS) mapping.anonymous = value;
    else if (field === SWAP) mapping.swap = value;
    else if (value > 0 && (this.pageSize === 0 || value < this.pageSize)) this.pageSize = value; // KERNEL_PAGE_SIZE
  }

  /** start-end perms offset dev inode [path]: hexadecimal, decimal, a path to the end. */
  #parseHeader(bytes: Buffer, start: number, end: number): Mapping {
    let at = start;
    let from = at;
    let mappingStart = 0;
    for (let digit = hexDigit(bytes[at]!); digit >= 0; digit = hexDigit(bytes[++at]!))
      mappingStart = mappingStart * 16 + digit;
    if (at === from || at - from > 16 || bytes[at] !== 45)
      this.#fail(bytes, start, end, 'the start address in hexadecimal');
    if (at - from > 13) mappingStart = exact(bytes, from, at);
    from = ++at;
    let mappingEnd = 0;
    for (let digit = hexDigit(bytes[at]!); digit >= 0; digit = hexDigit(bytes[++at]!))
      mappingEnd = mappingEnd * 16 + digit;
    if (at === from || at - from > 16 || bytes[at] !== SPACE)
      this.#fail(bytes, start, end, 'the end address in hexadecimal');
    if (at - from > 13) mappingEnd = exact(bytes, from, at);
    if (mappingEnd < mappingStart) this.#fail(bytes, start, end, 'an end address at or above the start');
    at++;
    const perms = permsAt(bytes, at);
    if (perms === undefined || bytes[at + 4] !== SPACE)
      this.#fail(bytes, start, end, 'permissions like rw-p after the addresses');
    at += 5;
    from = at;
    let offset = 0;
    for (let digit = hexDigit(bytes[at]!); digit >= 0; digit = hexDigit(bytes[++at]!)) offset = offset * 16 + digit;
    if (at === from || at - from > 16 || bytes[at] !== SPACE)
      this.#fail(bytes, start, end, 'the file offset in hexadecimal');
    // major:minor, both hexadecimal
    from = ++at;
    while (hexDigit(bytes[at]!) >= 0) at++;
    const colon = at;
    if (colon === from || bytes[at] !== COLON) this.#fail(bytes, start, end, 'a device major:minor');
    at++;
    while (hexDigit(bytes[at]!) >= 0) at++;
    if (at === colon + 1 || bytes[at] !== SPACE) this.#fail(bytes, start, end, 'a device major:minor');
    at++;
    let inode = 0;
    from = at;
    for (let byte = bytes[at]!; byte >= 48 && byte <= 57; byte = bytes[++at]!) inode = inode * 10 + (byte - 48);
    if (at === from || (at < end && bytes[at] !== SPACE)) this.#fail(bytes, start, end, 'a decimal inode number');
    while (at < end && bytes[at] === SPACE) at++;
    return {
      start: mappingStart,
      end: mappingEnd,
      perms,
      offset,
      inode,
      path: at < end ? bytes.toString('latin1', at, end) : '',
      rss: 0,
      pss: 0,
      anonymous: 0,
      swap: 0,
    };
  }
}

/** A hexadecimal number of 14 to 16 digits: above 2^53 a digit-by-digit sum may round twice; BigInt rounds once. */
function exact(bytes: Buffer, from: number, to: number): number {
  return Number(BigInt(`0x${bytes.toString('latin1', from, to)}`));
}

const PERMS = new Map<number, string>();
/** The four permission letters at `at` as one shared string (there are at most 16), or undefined. */
function permsAt(bytes: Buffer, at: number): string | undefined {
  const r = bytes[at];
  const w = bytes[at + 1];
  const x = bytes[at + 2];
  const p = bytes[at + 3];
  if ((r !== 114 && r !== 45) || (w !== 119 && w !== 45) || (x !== 120 && x !== 45) || (p !== 112 && p !== 115)) {
    return undefined;
  }
  const key = (r === 114 ? 8 : 0) | (w === 119 ? 4 : 0) | (x === 120 ? 2 : 0) | (p === 115 ? 1 : 0);
  let perms = PERMS.get(key);
  if (perms === undefined) PERMS.set(key, (perms = bytes.toString('latin1', at, at + 4)));
  return perms;
}

/** smaps text (or bytes) → mappings; ERR_BAD_SMAPS when it is not smaps. */
export function parseSmaps(text: string | Uint8Array): Mapping[] {
  if (typeof text !== 'string' && !(text instanceof Uint8Array)) {
    throw new MallocLabError(
      `parseSmaps: text must be a string or a Uint8Array of /proc/<pid>/smaps, received ${text === null ? 'null' : typeof text}`,
      ErrorCodes.INVALID_ARG_TYPE,
    );
  }
  const parser = new SmapsParser();
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  parser.push(bytes);
  return parser.end();
}
