/**
 * The one error type malloc-lab throws. `code` is stable (see the README's table);
 * `errno` and `syscall` are set when a glibc or kernel call failed.
 */
export class MallocLabError extends Error {
  readonly code: string;
  errno?: number;
  syscall?: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MallocLabError';
    this.code = code;
  }
}

/** The codes malloc-lab itself raises; failed system calls use the errno name (ENOMEM, EINVAL, …). */
export const ErrorCodes = {
  INVALID_ARG_TYPE: 'ERR_INVALID_ARG_TYPE',
  OUT_OF_RANGE: 'ERR_OUT_OF_RANGE',
  UNKNOWN_POINTER: 'ERR_UNKNOWN_POINTER',
  FREED_POINTER: 'ERR_FREED_POINTER',
  INTERIOR_POINTER: 'ERR_INTERIOR_POINTER',
  OUT_OF_BOUNDS: 'ERR_OUT_OF_BOUNDS',
  NOT_OWNED: 'ERR_NOT_OWNED',
  UNALIGNED: 'ERR_UNALIGNED',
  UNKNOWN_MALLOPT_PARAM: 'ERR_UNKNOWN_MALLOPT_PARAM',
  MALLOPT_REJECTED: 'ERR_MALLOPT_REJECTED',
  SBRK_REFUSED: 'ERR_SBRK_REFUSED',
  LIMIT_EXCEEDED: 'ERR_LIMIT_EXCEEDED',
  UNKNOWN_SET: 'ERR_UNKNOWN_SET',
  BAD_PROGRAM: 'ERR_BAD_PROGRAM',
  BAD_MALLOC_INFO: 'ERR_BAD_MALLOC_INFO',
  UNKNOWN_EXPERIMENT: 'ERR_UNKNOWN_EXPERIMENT',
  ALLOCATOR_MISSING: 'ERR_ALLOCATOR_MISSING',
  USAGE: 'ERR_USAGE',
  NO_SUCH_PROCESS: 'ERR_NO_SUCH_PROCESS',
  AMBIGUOUS_PROCESS: 'ERR_AMBIGUOUS_PROCESS',
  /** export could not listen, and the system gave no errno name. */
  LISTEN_FAILED: 'ERR_LISTEN',
  UNSUPPORTED_PLATFORM: 'ERR_UNSUPPORTED_PLATFORM',
  UNSUPPORTED_LIBC: 'ERR_UNSUPPORTED_LIBC',
  GLIBC_TOO_OLD: 'ERR_GLIBC_TOO_OLD',
  NO_PREBUILD: 'ERR_NO_PREBUILD',
  ADDON_NOT_BUILT: 'ERR_ADDON_NOT_BUILT',
  ADDON_NOT_FOUND: 'ERR_ADDON_NOT_FOUND',
  ADDON_LOAD_FAILED: 'ERR_ADDON_LOAD_FAILED',
  ALLOCATOR_LIBRARY: 'ERR_ALLOCATOR_LIBRARY',
  BAD_SMAPS: 'ERR_BAD_SMAPS',
  NO_AGENT: 'ERR_NO_AGENT',
  AGENT_UNSAFE: 'ERR_AGENT_UNSAFE',
  AGENT_PROTOCOL: 'ERR_AGENT_PROTOCOL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
