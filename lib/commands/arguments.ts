/** Command-line argument reading shared by the commands: usage errors and option values. */
import { MallocLabError } from '../infra/errors.js';

/** A usage error of `command` (the CLI exits 2 on these). */
export function usageError(command: string, message: string): MallocLabError {
  return new MallocLabError(`${command}: ${message}`, 'ERR_USAGE');
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
