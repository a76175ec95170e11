/** Command-line argument reading shared by the commands: usage errors, option values and the target process. */
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { resolveProcess } from '../process/target.js';

/** A usage error of `command` (the CLI exits 2 on these). */
export function usageError(command: string, message: string): MallocLabError {
  return new MallocLabError(`${command}: ${message}`, ErrorCodes.USAGE);
}

/**
 * Calls visit for each token; `next()` takes the token after it as the option's
 * value, failing with a usage error when there is none.
 */
export function eachArgument(
  command: string,
  argv: string[],
  visit: (token: string, next: () => string) => void,
): void {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    visit(token, () => {
      const value = argv[++i];
      if (value === undefined) throw usageError(command, `${token} needs a value`);
      return value;
    });
  }
}

/** The process a command looks at (a pid or a name); the CLI itself is refused: it would only describe itself. */
export function targetProcess(command: string, spec: string): number {
  const pid = resolveProcess(spec, command);
  if (pid === process.pid) throw usageError(command, 'that is this CLI process; give another pid');
  return pid;
}
