#!/usr/bin/env node
/** The malloc-lab command line. */
import { MallocLabError } from './errors.js';

const USAGE = `usage: malloc-lab <command>

commands:
  list                       the experiments: ids, what each reproduces, its seed
  run <id…> | --all          run experiments in fresh child processes and judge their claims
      [--host node|fresh|both] [--allocator glibc|jemalloc|tcmalloc|mimalloc]
      [--env KEY=VALUE]… [--json] [--svg FILE] [--full] [--preset NAME]
      [parameters: positional in the seed's order, or --name value]
  demo                       malloc 1024 × (10 KiB + 1 B), free, malloc_trim in this process
  help                       this text`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const progress = (line: string) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K… ${line}`);
  };
  switch (command) {
    case 'list': {
      const { listCommand } = await import('./commands/list.js');
      return listCommand(print);
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
    const message = error instanceof MallocLabError ? `${error.message} [${error.code}]` : String((error as Error)?.stack ?? error);
    process.stderr.write(`malloc-lab: ${message}\n`);
    process.exitCode = error instanceof MallocLabError && error.code === 'ERR_USAGE' ? 2 : 1;
  },
);
