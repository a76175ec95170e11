/**
 * Argument validation. Every message names the function and parameter, what was
 * expected and what arrived, so a wrong call explains itself.
 */
import { constants } from 'node:buffer';

import { ErrorCodes, MallocLabError } from './errors.js';

const MAX_ADDRESS = (1n << 64n) - 1n;

/** A short description of a value for error messages: `a string ("10")`, `NaN`, `-1`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'number':
      return Number.isNaN(value) ? 'NaN' : `${value}`;
    case 'bigint':
      return `${value}n`;
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'boolean':
      return `${value}`;
    case 'function':
      return 'a function';
    default:
      return Array.isArray(value) ? 'an array' : 'an object';
  }
}

export function typeError(fn: string, param: string, expected: string, value: unknown): MallocLabError {
  return new MallocLabError(
    `${fn}: ${param} must be ${expected}, received ${describe(value)}`,
    ErrorCodes.INVALID_ARG_TYPE,
  );
}

export function rangeError(fn: string, param: string, expected: string, value: unknown): MallocLabError {
  return new MallocLabError(
    `${fn}: ${param} must be ${expected}, received ${describe(value)}`,
    ErrorCodes.OUT_OF_RANGE,
  );
}

/** A byte count: an integer number from 0 to 2^53 - 1. */
export function size(value: unknown, fn: string, param = 'size'): number {
  if (typeof value !== 'number') throw typeError(fn, param, 'a non-negative integer number of bytes', value);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw rangeError(fn, param, 'a non-negative integer number of bytes up to 2^53 - 1', value);
  }
  return value;
}

/** An integer number within [min, max]. */
export function integer(value: unknown, fn: string, param: string, min: number, max: number): number {
  if (typeof value !== 'number') throw typeError(fn, param, `an integer number from ${min} to ${max}`, value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(fn, param, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** An address as returned by malloc-lab: a bigint from 0n to 2n ** 64n - 1n. */
export function address(value: unknown, fn: string, param = 'ptr'): bigint {
  if (typeof value !== 'bigint') throw typeError(fn, param, 'a bigint address (as malloc returns)', value);
  if (value < 0n || value > MAX_ADDRESS) throw rangeError(fn, param, 'an address from 0n to 2n ** 64n - 1n', value);
  return value;
}

/** A process id: 0 or omitted means the calling process. */
export function pid(value: unknown, fn: string): number {
  if (value === undefined) return 0;
  return integer(value, fn, 'pid', 0, 0x7fffffff);
}

export function bytes(value: unknown, fn: string, param: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw typeError(fn, param, 'a Uint8Array (or Buffer)', value);
  return value;
}

export function options<T extends object>(value: unknown, fn: string, param = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError(fn, param, 'an object', value);
  }
  return value as Partial<T>;
}

/** Something that has a method called name (a module, a registry, vitest's expect). */
export function withMethod<T>(value: unknown, name: string, fn: string, param: string, expected: string): T {
  const candidate = value as Record<string, unknown> | null;
  if (
    candidate === null ||
    (typeof candidate !== 'object' && typeof candidate !== 'function') ||
    typeof candidate[name] !== 'function'
  ) {
    throw typeError(fn, param, expected, value);
  }
  return value as T;
}

/** The longest Uint8Array this Node can make (2^32 on 64-bit Node 20). */
export const MAX_BYTE_ARRAY = constants.MAX_LENGTH;

/**
 * A zeroed result buffer of length entries. A length no Uint8Array can hold is
 * ERR_OUT_OF_RANGE (naming param and what), and a failed allocation is ENOMEM,
 * never a bare RangeError.
 */
export function byteArray(length: number, fn: string, param: string, expected: string, value: unknown): Uint8Array {
  if (length > MAX_BYTE_ARRAY) throw rangeError(fn, param, expected, value);
  try {
    return new Uint8Array(length);
  } catch (cause) {
    const error = new MallocLabError(
      `${fn}: could not allocate a ${length}-entry result buffer (${(cause as Error).message}); the process is out of memory`,
      'ENOMEM',
    );
    error.errno = 12;
    throw error;
  }
}
