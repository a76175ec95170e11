/**
 * The node host: a fresh child Node process that loads the addon and runs one
 * step program (stdin) in a single native call, records to fd 3. The parent
 * never runs an experiment in itself.
 */
import { readFileSync } from 'node:fs';

import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import { native } from '../../infra/native.js';

const input = readFileSync(0);
const program = new Float64Array(input.byteLength / 8);
new Uint8Array(program.buffer).set(input);
try {
  process.exitCode = native.runProgram(program, 3) === 0 ? 0 : 1;
} catch (error) {
  process.stderr.write(`malloc-lab node host: ${(error as Error).message}\n`);
  process.exitCode = error instanceof MallocLabError && error.code === ErrorCodes.BAD_PROGRAM ? 2 : 3;
}
