/**
 * A C reference kept running beside the bench, driven one round at a time through
 * two FIFOs: the bench writes a byte, the C program runs one round (timing itself
 * with clock_gettime) and writes back its nanoseconds. Rounds of both sides can
 * then alternate, sharing the machine's noise, while each side keeps its own warm
 * heap. Synchronous on purpose: nothing else runs in the bench process meanwhile.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pause = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms) {
  Atomics.wait(pause, 0, 0, ms);
}

export function startCoprocess(binary, args, trailing = [], timeoutMs = 30_000) {
  const dir = mkdtempSync(join(tmpdir(), 'malloc-lab-bench-'));
  const commandsPath = join(dir, 'commands');
  const repliesPath = join(dir, 'replies');
  execFileSync('mkfifo', [commandsPath, repliesPath]);
  const child = spawn(binary, [...args, 'serve', commandsPath, repliesPath, ...trailing], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  // Non-blocking opens, retried: a child that failed to start must not hang the bench.
  const deadline = Date.now() + timeoutMs;
  const replies = openSync(repliesPath, constants.O_RDONLY | constants.O_NONBLOCK);
  let commands = -1;
  while (commands < 0) {
    try {
      commands = openSync(commandsPath, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if (error.code !== 'ENXIO' || Date.now() > deadline) throw error;
      sleepMs(1);
    }
  }
  const buffer = Buffer.alloc(64);
  const command = Buffer.from('r');

  function readLine() {
    const until = Date.now() + timeoutMs;
    let text = '';
    while (!text.endsWith('\n')) {
      let got = 0;
      try {
        got = readSync(replies, buffer, 0, buffer.length, null);
      } catch (error) {
        if (error.code !== 'EAGAIN') throw error;
      }
      if (got > 0) {
        text += buffer.toString('latin1', 0, got);
        continue;
      }
      // Nothing yet (EAGAIN), or no writer yet (0): the round is still running.
      if (Date.now() > until) throw new Error(`${binary} did not answer within ${timeoutMs} ms`);
      sleepMs(0.2);
    }
    return text;
  }

  return {
    /** Runs one round in the C program and returns the nanoseconds it measured. */
    round() {
      writeSync(commands, command);
      return Number(readLine().trim());
    },
    close() {
      closeSync(commands);
      closeSync(replies);
      if (!exited) child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
