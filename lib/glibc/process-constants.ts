/**
 * Linux and glibc constants the step programs pass or get back, for the 64-bit
 * architectures malloc-lab builds for (x86-64 and arm64 share these values).
 */
import * as check from '../infra/validate.js';

/** getrlimit/prlimit resources (asm-generic/resource.h). */
export const RLIMIT = { RLIMIT_DATA: 2, RLIMIT_AS: 9 } as const;

/** mlockall flags (asm-generic/mman-common.h). */
export const MCL = { MCL_CURRENT: 1, MCL_FUTURE: 2 } as const;

/** enum mcheck_status (mcheck.h): what mprobe() says of a block. */
export const MCHECK_STATUS = {
  MCHECK_DISABLED: -1,
  MCHECK_OK: 0,
  MCHECK_FREE: 1,
  MCHECK_HEAD: 2,
  MCHECK_TAIL: 3,
} as const;

/** The name of an mcheck_status value (mprobe's result). */
export function mcheckStatusName(status: number): string {
  check.integer(status, 'mcheckStatusName', 'status', -(2 ** 31), 2 ** 31 - 1);
  return Object.entries(MCHECK_STATUS).find(([, value]) => value === status)?.[0] ?? `mcheck_status ${status}`;
}

/** The byte mcheck writes after each block to see writes past its end (glibc's MAGICBYTE). */
export const MCHECK_GUARD_BYTE = 0xd7;
