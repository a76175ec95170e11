#!/usr/bin/env node
/** The malloc-lab command line. */
import { ErrorCodes, MallocLabError } from './infra/errors.js';

const USAGE = `usage: malloc-lab <command>

commands:
  list [--claims] [--json]   the experiments: ids, what each reproduces, its seed;
                             --claims: every checkable sentence of the seeds and what judges it
  run <id…> | --all          run experiments in fresh child processes and judge their claims
      [--host node|fresh|both] [--heap clean|aged|both] [--repeat N]
      [--age-blocks N] [--age-freed PERCENT] [--age-mix P:MIN-MAX,…] [--age-seed N]
      [--allocator glibc|jemalloc|tcmalloc|mimalloc[=LIBRARY]]
      [--env KEY=VALUE]… [--json] [--svg FILE] [--full] [--preset NAME]
      [parameters: positional in the seed's order, or --name value]
                             default worlds: fresh, node, and an aged heap on the fresh host
  demo                       malloc 1024 × (10 KiB + 1 B), free, malloc_trim in this process
  status <pid|name> [--json] another process's memory: /proc/<pid>/status and smaps_rollup
                             (Rss, Pss, USS); a name is matched against comm and command lines
  watch <pid|name>           sample a process like top -p until it exits: a live RSS line,
      [--interval ms] [--duration s] [--peaks] [--json] [--svg FILE]
                             --peaks resets VmHWM at each sample (peak since the previous one)
  explain <pid|name>         where a process's RSS lives (heaps, arenas, stacks, mmaps, code),
      [--json] [--svg FILE] [--no-agent]
                             how much glibc keeps and why; its agent adds the inside view
  trim <pid|name> [--pad N] [--json]
                             malloc_trim(pad) inside a process, through its agent
  export --pid <pid|name> | --match <name|regex> --port N [--host 127.0.0.1]
                             serve Prometheus text for a process (or every match, with the
                             explain classes) at http://HOST:PORT/metrics; --port 0 picks a
                             free port (the URL is printed on stdout)
  compare [options] -- <command> [args…]
                             run a command under each allocator configuration (glibc, its
                             tunables, jemalloc, tcmalloc, mimalloc), check each applied, and
                             compare RSS (peak, final, mean), CPU and wall time
      [--config NAME[,NAME…] | name:TOKEN,…]… [--baseline NAME] [--list] [--tree]
      [--interval ms] [--repeat N] [--duration s] [--grace s] [--load "cmd"]
      [--ready-line REGEX] [--ready-delay s] [--linger s] [--json] [--svg FILE] [--show-output]
  help                       this text`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const warn = (line: string) => process.stderr.write(`${line}\n`);
  const progress = (line: string) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K… ${line}`);
  };
  switch (command) {
    case 'list': {
      const { listCommand } = await import('./commands/list.js');
      return listCommand(rest, print);
    }
    case 'run': {
      const { runCommand } = await import('./commands/run.js');
      const code = await runCommand(rest, print, progress);
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      return code;
    }
    case 'demo': {
      const { runDemo } = await import('./commands/demo.js');
      runDemo(print);
      return 0;
    }
    case 'status': {
      const { statusCommand } = await import('./commands/status.js');
      return statusCommand(rest, print, warn);
    }
    case 'watch': {
      const { watchCommand } = await import('./commands/watch.js');
      return watchCommand(rest, print, warn);
    }
    case 'explain': {
      const { explainCommand } = await import('./commands/explain.js');
      return explainCommand(rest, print, warn);
    }
    case 'trim': {
      const { trimCommand } = await import('./commands/trim.js');
      return trimCommand(rest, print, warn);
    }
    case 'export': {
      const { exportCommand } = await import('./commands/export.js');
      return exportCommand(rest, print, warn);
    }
    case 'compare': {
      const { compareCommand } = await import('./commands/compare.js');
      const code = await compareCommand(rest, print, warn, progress);
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      return code;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      print(USAGE);
      return 0;
    default:
      process.stderr.write(`malloc-lab: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message =
      error instanceof MallocLabError ? `${error.message} [${error.code}]` : String((error as Error)?.stack ?? error);
    process.stderr.write(`malloc-lab: ${message}\n`);
    process.exitCode = error instanceof MallocLabError && error.code === ErrorCodes.USAGE ? 2 : 1;
  },
);
