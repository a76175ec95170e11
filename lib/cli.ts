#!/usr/bin/env node
/** The malloc-lab command line. */
import { createOutput, type Output } from './commands/output.js';
import { ErrorCodes, MallocLabError } from './infra/errors.js';
import { MIN_WIDTH, outputWidth, useColour } from './report/terminal.js';

const USAGE = `usage: malloc-lab <command>

commands:
  list [--claims] [--json]   the experiments: ids, what each reproduces, its seed;
                             --claims: every checkable sentence of the seeds and what judges it
  run <id…> | --all          run experiments in fresh child processes and judge their claims;
                             independent runs side by side (--jobs 1: one after another)
      [--host node|fresh|both] [--heap clean|aged|both] [--repeat N]
      [--age-blocks N] [--age-freed PERCENT] [--age-mix P:MIN-MAX,…] [--age-seed N]
      [--allocator glibc|jemalloc|tcmalloc|mimalloc[=LIBRARY]]
      [--env KEY=VALUE]… [--json] [--svg FILE] [--html FILE] [--full] [--preset NAME]
      [--jobs N] [parameters: positional in the seed's order, or --name value]
                             default worlds: fresh, node, and an aged heap on the fresh host
  report <file.json | ->      what run, explain or compare --json wrote: as text, or
      [--html FILE]          --html: one self-contained page (charts, verdicts, raw numbers)
  demo                       malloc 1024 × (10 KiB + 1 B), free, malloc_trim in this process
  status <pid|name> [--json] another process's memory: /proc/<pid>/status and smaps_rollup
                             (Rss, Pss, USS); a name is matched against comm and command lines
  watch <pid|name>           sample a process like top -p until it exits: a live RSS line,
      [--interval ms] [--duration s] [--peaks] [--json] [--svg FILE]
                             --peaks resets VmHWM at each sample (peak since the previous one)
  explain <pid|name>         where a process's RSS lives (heaps, arenas, stacks, mmaps, code),
      [--json] [--svg FILE] [--html FILE] [--no-agent]
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
      [--ready-line REGEX] [--ready-delay s] [--linger s] [--json] [--svg FILE] [--html FILE]
      [--show-output]
  help                       this text

every command: --width N fits its text to N columns (default: COLUMNS, else the terminal's
width; piped output keeps whole lines); colour only on a terminal, never under NO_COLOR`;

/** `--width N` anywhere before a `--` (what follows it is compare's command): the columns every command fits. */
function takeWidth(argv: string[]): { argv: string[]; width: number | undefined } {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const at = argv.slice(0, end).indexOf('--width');
  if (at < 0) return { argv, width: undefined };
  const text = argv[at + 1];
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < MIN_WIDTH || Number(text) > 10_000) {
    throw new MallocLabError(
      `--width is the columns to fit, an integer from ${MIN_WIDTH} to 10000, received ${JSON.stringify(text)}`,
      ErrorCodes.USAGE,
    );
  }
  return { argv: [...argv.slice(0, at), ...argv.slice(at + 2)], width: Number(text) };
}

async function main(all: string[]): Promise<number> {
  const { argv, width } = takeWidth(all);
  const [command, ...rest] = argv;
  const out = createOutput({
    stdout: process.stdout,
    stderr: process.stderr,
    width: outputWidth(width, process.env, process.stdout),
    colour: useColour(process.env, process.stdout),
  });
  try {
    return await dispatch(command, rest, out);
  } finally {
    out.endProgress();
  }
}

async function dispatch(command: string | undefined, rest: string[], out: Output): Promise<number> {
  switch (command) {
    case 'list': {
      const { listCommand } = await import('./commands/list.js');
      return listCommand(rest, out);
    }
    case 'run': {
      const { runCommand } = await import('./commands/run.js');
      return runCommand(rest, out);
    }
    case 'report': {
      const { reportCommand } = await import('./commands/report.js');
      return reportCommand(rest, out);
    }
    case 'demo': {
      const { runDemo } = await import('./commands/demo.js');
      runDemo(out.print);
      return 0;
    }
    case 'status': {
      const { statusCommand } = await import('./commands/status.js');
      return statusCommand(rest, out);
    }
    case 'watch': {
      const { watchCommand } = await import('./commands/watch.js');
      return watchCommand(rest, out);
    }
    case 'explain': {
      const { explainCommand } = await import('./commands/explain.js');
      return explainCommand(rest, out);
    }
    case 'trim': {
      const { trimCommand } = await import('./commands/trim.js');
      return trimCommand(rest, out.print, out.warn);
    }
    case 'export': {
      const { exportCommand } = await import('./commands/export.js');
      return exportCommand(rest, out.data, out.warn);
    }
    case 'compare': {
      const { compareCommand } = await import('./commands/compare.js');
      return compareCommand(rest, out);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.data(USAGE);
      return 0;
    default:
      out.warn(`malloc-lab: unknown command ${JSON.stringify(command)}\n${USAGE}`);
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
