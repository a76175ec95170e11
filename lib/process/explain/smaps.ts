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
  /** major:minor of the file's device, 00:00 for anonymous memory. */
  dev: string;
  inode: number;
  /** The file, or [heap], [stack], [vdso], …; empty for anonymous memory. */
  path: string;
  rss: number;
  pss: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  anonymous: number;
  anonHugePages: number;
  swap: number;
  locked: number;
  /** The two-letter flags (rd wr ex sh mr mw me ms gd pf io ac nr ht sd nh hg …), space separated. */
  vmFlags: string;
}

type SizeField =
  | 'rss'
  | 'pss'
  | 'sharedClean'
  | 'sharedDirty'
  | 'privateClean'
  | 'privateDirty'
  | 'anonymous'
  | 'anonHugePages'
  | 'swap'
  | 'locked';

const NEWLINE = 10;
const SPACE = 32;
const TAB = 9;
const COLON = 58;

function hexDigit(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  return -1;
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
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    if (this.#carry !== undefined) {
      const newline = bytes.indexOf(NEWLINE, 0);
      if (newline < 0 || newline >= length) {
        this.#carry = Buffer.concat([this.#carry, bytes.subarray(0, length)]);
        return;
      }
      const line = Buffer.concat([this.#carry, bytes.subarray(0, newline)]);
      this.#carry = undefined;
      this.#parseLine(line, 0, line.length);
      at = newline + 1;
    }
    while (at < length) {
      const newline = bytes.indexOf(NEWLINE, at);
      if (newline < 0 || newline >= length) {
        this.#carry = Buffer.from(bytes.subarray(at, length));
        return;
      }
      this.#parseLine(bytes, at, newline);
      at = newline + 1;
    }
  }

  /** The mappings; a last line without its newline is parsed as a line. */
  end(): Mapping[] {
    if (this.#carry !== undefined && this.#carry.length > 0) {
      const line = this.#carry;
      this.#carry = undefined;
      this.#parseLine(line, 0, line.length);
    }
    return this.mappings;
  }

  #fail(bytes: Buffer, start: number, end: number, expected: string): never {
    const text = bytes.toString('latin1', start, Math.min(end, start + 80));
    throw new MallocLabError(
      `smaps: line ${this.#line}: expected ${expected}, received ${JSON.stringify(text)}${end - start > 80 ? '…' : ''}`,
      ErrorCodes.BAD_SMAPS,
    );
  }

  #parseLine(bytes: Buffer, start: number, end: number): void {
    this.#line++;
    if (start === end) return; // a blank line carries nothing
    const first = bytes[start]!;
    if (hexDigit(first) >= 0) {
      this.#current = this.#parseHeader(bytes, start, end);
      this.mappings.push(this.#current);
      return;
    }
    const colon = bytes.indexOf(COLON, start);
    if (colon < 0 || colon >= end || first < 65 || first > 90) {
      this.#fail(bytes, start, end, 'a mapping line (start-end perms offset dev inode path) or a "Name: value" line');
    }
    const mapping = this.#current;
    if (mapping === undefined) this.#fail(bytes, start, end, 'a mapping line before its fields');
    const nameLength = colon - start;
    const field = this.#fieldOf(bytes, start, nameLength);
    if (field === undefined) return;
    if (field === 'vmFlags') {
      mapping.vmFlags = bytes.toString('latin1', colon + 1, end).trim();
      return;
    }
    const value = this.#kilobytes(bytes, colon + 1, end, start);
    if (field === 'kernelPageSize') {
      if (value > 0 && (this.pageSize === 0 || value < this.pageSize)) this.pageSize = value;
      return;
    }
    mapping[field] = value;
  }

  /** The Mapping field a smaps name fills, undefined for names not kept. */
  #fieldOf(bytes: Buffer, start: number, length: number): SizeField | 'vmFlags' | 'kernelPageSize' | undefined {
    const first = bytes[start];
    switch (length) {
      case 3:
        if (bytes[start + 1] !== 115 || bytes[start + 2] !== 115) return undefined; // "ss"
        return first === 82 ? 'rss' : first === 80 ? 'pss' : undefined;
      case 4:
        if (first !== 83) return undefined;
        return bytes[start + 1] === 119 && bytes[start + 2] === 97 && bytes[start + 3] === 112 ? 'swap' : undefined;
      case 6:
        return bytes.toString('latin1', start, start + 6) === 'Locked' ? 'locked' : undefined;
      case 7:
        return bytes.toString('latin1', start, start + 7) === 'VmFlags' ? 'vmFlags' : undefined;
      case 9:
        return bytes.toString('latin1', start, start + 9) === 'Anonymous' ? 'anonymous' : undefined;
      case 12: {
        const name = bytes.toString('latin1', start, start + 12);
        return name === 'Shared_Clean' ? 'sharedClean' : name === 'Shared_Dirty' ? 'sharedDirty' : undefined;
      }
      case 14:
        if (bytes.toString('latin1', start, start + 14) === 'KernelPageSize') return 'kernelPageSize';
        return undefined;
      case 13: {
        const name = bytes.toString('latin1', start, start + 13);
        if (name === 'Private_Clean') return 'privateClean';
        if (name === 'Private_Dirty') return 'privateDirty';
        return name === 'AnonHugePages' ? 'anonHugePages' : undefined;
      }
      default:
        return undefined;
    }
  }

  /** "   123 kB" → bytes. */
  #kilobytes(bytes: Buffer, at: number, end: number, lineStart: number): number {
    while (at < end && (bytes[at] === SPACE || bytes[at] === TAB)) at++;
    let value = 0;
    let digits = 0;
    while (at < end) {
      const byte = bytes[at]!;
      if (byte < 48 || byte > 57) break;
      value = value * 10 + (byte - 48);
      digits++;
      at++;
    }
    if (digits === 0 || digits > 15) this.#fail(bytes, lineStart, end, 'a size in kB after the field name');
    if (end - at !== 3 || bytes[at] !== SPACE || bytes[at + 1] !== 107 || bytes[at + 2] !== 66) {
      this.#fail(bytes, lineStart, end, 'the unit " kB" after the number');
    }
    return value * 1024;
  }

  #parseHeader(bytes: Buffer, start: number, end: number): Mapping {
    let at = start;
    const hex = (stop: number, what: string): number => {
      const from = at;
      let value = 0;
      while (at < end && bytes[at] !== stop) {
        const digit = hexDigit(bytes[at]!);
        if (digit < 0) this.#fail(bytes, start, end, `${what} in hexadecimal`);
        value = value * 16 + digit;
        at++;
      }
      const digits = at - from;
      if (digits === 0 || digits > 16 || at >= end) this.#fail(bytes, start, end, `${what} in hexadecimal`);
      // Above 2^53 the digit-by-digit sum may round twice; BigInt rounds once, exactly for page multiples.
      if (digits > 13) value = Number(BigInt(`0x${bytes.toString('latin1', from, at)}`));
      at++; // the separator
      return value;
    };
    const mappingStart = hex(45, 'the start address'); // '-'
    const mappingEnd = hex(SPACE, 'the end address');
    if (mappingEnd < mappingStart) this.#fail(bytes, start, end, 'an end address at or above the start');
    const perms = bytes.toString('latin1', at, at + 4);
    if (!/^[r-][w-][x-][ps]$/.test(perms) || bytes[at + 4] !== SPACE) {
      this.#fail(bytes, start, end, 'permissions like rw-p after the addresses');
    }
    at += 5;
    const offset = hex(SPACE, 'the file offset');
    const devStart = at;
    while (at < end && bytes[at] !== SPACE) at++;
    const dev = bytes.toString('latin1', devStart, at);
    if (!/^[0-9a-f]+:[0-9a-f]+$/.test(dev)) this.#fail(bytes, start, end, 'a device major:minor');
    at++;
    let inode = 0;
    const inodeStart = at;
    while (at < end && bytes[at] !== SPACE) {
      const byte = bytes[at]!;
      if (byte < 48 || byte > 57) this.#fail(bytes, start, end, 'a decimal inode number');
      inode = inode * 10 + (byte - 48);
      at++;
    }
    if (at === inodeStart) this.#fail(bytes, start, end, 'a decimal inode number');
    while (at < end && bytes[at] === SPACE) at++;
    return {
      start: mappingStart,
      end: mappingEnd,
      perms,
      offset,
      dev,
      inode,
      path: at < end ? bytes.toString('latin1', at, end) : '',
      rss: 0,
      pss: 0,
      sharedClean: 0,
      sharedDirty: 0,
      privateClean: 0,
      privateDirty: 0,
      anonymous: 0,
      anonHugePages: 0,
      swap: 0,
      locked: 0,
      vmFlags: '',
    };
  }
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

/** Private to the process: no other process maps these pages shared. */
export function isShared(mapping: Mapping): boolean {
  return mapping.perms.charCodeAt(3) === 115; // 's'
}

/** No file behind it ([heap], [stack] and other bracketed names count as anonymous). */
export function isAnonymous(mapping: Mapping): boolean {
  return mapping.inode === 0 && (mapping.path === '' || mapping.path.startsWith('['));
}
