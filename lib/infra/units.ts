/** Byte units and human formatting. Sizes everywhere else are plain numbers of bytes. */
import { address as checkAddress, options as checkOptions, rangeError, typeError } from './validate.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 10485760 → "10.0 MiB"; with signed, a leading + for growth. NaN → "n/a". */
export function formatBytes(bytes: number, options?: { signed?: boolean }): string {
  if (typeof bytes !== 'number') throw typeError('formatBytes', 'bytes', 'a number of bytes', bytes);
  const { signed } = checkOptions<{ signed?: boolean }>(options, 'formatBytes');
  if (signed !== undefined && typeof signed !== 'boolean') {
    throw typeError('formatBytes', 'options.signed', 'a boolean', signed);
  }
  if (!Number.isFinite(bytes)) return 'n/a';
  const sign = bytes < 0 ? '-' : signed === true && bytes > 0 ? '+' : '';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 ? 0 : value >= 100 ? 0 : 1;
  return `${sign}${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** "0x55d4c3a2b000" for an address (a bigint, or a number as a step record holds it). NaN → "n/a". */
export function formatAddress(address: bigint | number): string {
  if (typeof address === 'bigint') return `0x${checkAddress(address, 'formatAddress', 'address').toString(16)}`;
  if (typeof address !== 'number') throw typeError('formatAddress', 'address', 'a bigint (or number) address', address);
  if (!Number.isFinite(address)) return 'n/a';
  if (!Number.isSafeInteger(address) || address < 0) {
    throw rangeError('formatAddress', 'address', 'a non-negative integer address', address);
  }
  return `0x${address.toString(16)}`;
}
