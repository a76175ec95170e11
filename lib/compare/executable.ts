/**
 * The command's executable, found before anything runs: a command that is not
 * there or cannot be executed is one clear error, not nine failed runs.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

import { MallocLabError } from '../infra/errors.js';

function failure(fn: string, message: string, code: 'ENOENT' | 'EACCES'): MallocLabError {
  const error = new MallocLabError(`${fn}: ${message}`, code);
  error.errno = code === 'ENOENT' ? 2 : 13;
  error.syscall = 'execve';
  return error;
}

/** Why a path cannot be executed, or null when it can. */
function refusal(path: string): { code: 'ENOENT' | 'EACCES'; why: string } | null {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    return { code: 'ENOENT', why: 'no such file' };
  }
  if (!isFile) return { code: 'EACCES', why: 'not a file' };
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { code: 'EACCES', why: 'not executable (chmod +x it, or name its interpreter first)' };
  }
  return null;
}

/**
 * The absolute path execve would run for file: as given when it holds a slash
 * (relative to cwd), else the first executable match in PATH.
 */
export function resolveExecutable(file: string, cwd: string, path: string | undefined, fn: string): string {
  if (file.includes('/')) {
    const candidate = resolve(cwd, file);
    const why = refusal(candidate);
    if (why !== null) throw failure(fn, `the command ${file} cannot run: ${candidate} is ${why.why}`, why.code);
    return candidate;
  }
  let notExecutable: string | null = null;
  const directories = (path ?? '').split(delimiter);
  for (const directory of directories) {
    const candidate = join(resolve(cwd, directory === '' ? '.' : directory), file);
    const why = refusal(candidate);
    if (why === null) return candidate;
    if (why.code === 'EACCES' && notExecutable === null) notExecutable = candidate;
  }
  if (notExecutable !== null) {
    throw failure(fn, `the command ${file} cannot run: ${notExecutable} is not executable`, 'EACCES');
  }
  throw failure(fn, `command not found: ${file} (searched PATH=${path ?? ''})`, 'ENOENT');
}
