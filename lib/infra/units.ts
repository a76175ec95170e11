/** Byte units and human formatting. Sizes everywhere else are plain numbers of bytes. */
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 10485760 → "10.0 MiB"; with signed, a leading + for growth. NaN → "n/a". */
export function formatBytes(bytes: number, options: { signed?: boolean } = {}): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const sign = bytes < 0 ? '-' : options.signed && bytes > 0 ? '+' : '';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 ? 0 : value >= 100 ? 0 : 1;
  return `${sign}${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** "0x55d4c3a2b000" for an address. */
export function formatAddress(address: bigint | number): string {
  return `0x${address.toString(16)}`;
}
