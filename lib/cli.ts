#!/usr/bin/env node
/** The malloc-lab command line. */
import { MallocLabError } from './errors.js';

const USAGE = `usage: malloc-lab <command>

commands:
  demo        malloc 1024 × (10 KiB + 1 B), free, malloc_trim — measured step by step
  help        this text`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  switch (command) {
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
    process.exitCode = 1;
  },
);
