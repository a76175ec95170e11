/**
 * The node host: a fresh child Node process that loads the addon and runs one
 * step program (stdin) in a single native call, records to fd 3. The parent
 * never runs an experiment in itself.
 *
 * Before anything else it checks the room above the program break: in about one
 * Node process in a hundred (measured: 7 of 600 here), V8 puts its code range right
 * above the brk heap (it looks for room near the node binary, and the heap is there),
 * so brk cannot grow and glibc continues the main arena with mmap'd memory. Such a
 * process exits with WALLED_EXIT before reading the program, and hosts.ts starts
 * another: the node world is a Node process whose heap can grow as Node's usually can.
 * MALLOC_LAB_MIN_BREAK_ROOM=0 in the run's environment turns the check off.
 */
import { readFileSync } from 'node:fs';

import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import { native } from '../../infra/native.js';
import { minBreakRoom, WALLED_EXIT } from './node-host-exit.js';

const room = native.breakRoom();
const gap = room.nextMapping === 0n ? Infinity : Number(room.nextMapping - room.programBreak);
if (gap < minBreakRoom(process.env)) {
  process.stderr.write(
    `malloc-lab node host: a mapping at 0x${room.nextMapping.toString(16)} lies ${gap} bytes above the program break (0x${room.programBreak.toString(16)}), so the brk heap cannot grow\n`,
  );
  process.exitCode = WALLED_EXIT;
} else {
  const input = readFileSync(0);
  const program = new Float64Array(input.byteLength / 8);
  new Uint8Array(program.buffer).set(input);
  try {
    process.exitCode = native.runProgram(program, 3) === 0 ? 0 : 1;
  } catch (error) {
    process.stderr.write(`malloc-lab node host: ${(error as Error).message}\n`);
    process.exitCode = error instanceof MallocLabError && error.code === ErrorCodes.BAD_PROGRAM ? 2 : 3;
  }
}
