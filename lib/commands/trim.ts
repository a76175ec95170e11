/**
 * `malloc-lab trim <pid|name> [--pad N] [--json]`: malloc_trim(pad) inside another
 * process, through its agent; RSS before and after, what came back, how long the
 * allocator was held. A process without an agent: ERR_NO_AGENT with the line to add.
 */
import { formatBytes } from '../infra/units.js';
import { connectToAgent } from '../process/agent-client.js';
import { eachArgument, targetProcess, usageError as usageErrorOf } from './arguments.js';

const usageError = (message: string) => usageErrorOf('trim', message);

export function parseTrimArguments(argv: string[]): { target: string; pad: number; json: boolean } {
  let target: string | undefined;
  let pad = 0;
  let json = false;
  eachArgument('trim', argv, (token, next) => {
    if (token === '--json') json = true;
    else if (token === '--pad') {
      const text = next();
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw usageError(`--pad must be a number of bytes (0 or more), received ${JSON.stringify(text)}`);
      }
      pad = Number(text);
    } else if (token.startsWith('-'))
      throw usageError(`unknown option ${token} (trim takes <pid|name> [--pad N] [--json])`);
    else if (target !== undefined) throw usageError(`takes one process, received ${target} and ${token}`);
    else target = token;
  });
  if (target === undefined) throw usageError('give the pid or name of the process to trim');
  return { target, pad, json };
}

export async function trimCommand(
  argv: string[],
  print: (line: string) => void,
  warn: (line: string) => void,
): Promise<number> {
  const command = parseTrimArguments(argv);
  const pid = targetProcess('trim', command.target);
  const client = await connectToAgent(pid, 'trim');
  try {
    const result = await client.trim(command.pad);
    if (command.json) {
      print(JSON.stringify(result, null, 2));
    } else {
      print(
        `pid ${pid}: malloc_trim(${command.pad}) ${result.released ? 'released memory' : 'found nothing to release'} in ${result.durationMs.toFixed(1)} ms (the allocator's arenas were locked in turn meanwhile)`,
      );
      print(
        `  RssAnon ${formatBytes(result.before.RssAnon)} → ${formatBytes(result.after.RssAnon)}: ${formatBytes(result.reclaimedBytes, { signed: false })} given back`,
      );
      print(`  VmRSS   ${formatBytes(result.before.VmRSS)} → ${formatBytes(result.after.VmRSS)}`);
    }
    if (!result.released) warn(`trim: glibc had no free whole pages to give back in pid ${pid}`);
    return 0;
  } finally {
    client.close();
  }
}
