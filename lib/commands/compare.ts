/**
 * `malloc-lab compare [options] -- <command> [args…]`: runs the command under
 * each allocator configuration (the default matrix, or --config), checks in the
 * live process that each one applied, and prints one row per configuration;
 * --json prints compareAllocators()'s result, --svg writes the chart. Ctrl-C or
 * SIGTERM ends the current run's processes and prints what was measured so far;
 * a second one exits at once (the processes still get SIGKILL on the way out).
 */
import { writeFileSync } from 'node:fs';

import { compareAllocators, type CompareOptions } from '../compare/compare.js';
import { defaultConfigurations, MATRIX_NAMES } from '../compare/configurations.js';
import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { formatBytes } from '../infra/units.js';
import { renderCompareSvg } from '../report/compare-svg.js';
import { bestSentence, renderCompareTable } from '../report/compare-table.js';
import { renderTable } from '../report/table.js';
import { eachArgument, usageError as usageErrorOf } from './arguments.js';
import { type Output, quiet } from './output.js';

const usageError = (message: string) => usageErrorOf('compare', message);

export interface CompareCommand {
  options: CompareOptions;
  json: boolean;
  svg?: string;
  html?: string;
  showOutput: boolean;
  list: boolean;
}

function secondsOption(token: string, text: string, allowZero: boolean): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || (!allowZero && !(value > 0)) || value * 1000 > 2 ** 31 - 1) {
    throw usageError(
      `${token} is in seconds, a ${allowZero ? 'non-negative' : 'positive'} number, received ${JSON.stringify(text)}`,
    );
  }
  return Math.round(value * 1000);
}

function integerOption(token: string, text: string, min: number, max: number, unit: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw usageError(`${token} is ${unit}, an integer from ${min} to ${max}, received ${JSON.stringify(text)}`);
  }
  return value;
}

export function parseCompareArguments(argv: string[]): CompareCommand {
  const options: Partial<CompareOptions> & { configurations: string[] } = { configurations: [] };
  const result = { json: false, showOutput: false, list: false } as CompareCommand;
  const separator = argv.indexOf('--');
  const command = separator >= 0 ? argv.slice(separator + 1) : [];
  eachArgument('compare', separator >= 0 ? argv.slice(0, separator) : argv, (token, next) => {
    switch (token) {
      case '--config':
      case '-c': {
        const text = next();
        // A list of matrix names, or one name:TOKEN,… text (its commas belong to it).
        if (text.includes(':')) options.configurations.push(text);
        else options.configurations.push(...text.split(',').filter((name) => name !== ''));
        break;
      }
      case '--baseline':
        options.baseline = next();
        break;
      case '--tree':
        options.tree = true;
        break;
      case '--interval':
        options.intervalMs = integerOption(token, next(), 10, 60_000, 'in milliseconds');
        break;
      case '--repeat':
        options.repeat = integerOption(token, next(), 1, 100, 'a count of runs');
        break;
      case '--duration':
        options.durationMs = secondsOption(token, next(), false);
        break;
      case '--grace':
        options.graceMs = Math.min(secondsOption(token, next(), true), 600_000);
        break;
      case '--load':
        options.load = next();
        break;
      case '--ready-line':
        options.readyLine = next();
        break;
      case '--ready-delay':
        options.readyDelayMs = secondsOption(token, next(), true);
        break;
      case '--linger':
        options.lingerMs = secondsOption(token, next(), true);
        break;
      case '--json':
        result.json = true;
        break;
      case '--svg':
        result.svg = next();
        break;
      case '--html':
        result.html = next();
        break;
      case '--show-output':
        result.showOutput = true;
        break;
      case '--list':
        result.list = true;
        break;
      default:
        // The command and its arguments go after --, so that its options are never taken for compare's.
        throw usageError(
          token.startsWith('-')
            ? `unknown option ${token}`
            : `${token}: the command goes after --, e.g. compare -- ${token}`,
        );
    }
  });
  if (result.list) return { ...result, options: options as CompareOptions };
  if (command.length === 0) throw usageError('give the command to compare after --, e.g. compare -- node server.js');
  if (options.lingerMs !== undefined && options.load === undefined)
    throw usageError('--linger counts from the end of --load: give --load');
  if (options.readyLine !== undefined) {
    try {
      new RegExp(options.readyLine as string);
    } catch (error) {
      throw usageError(`--ready-line is not a regular expression: ${(error as Error).message}`);
    }
  }
  const { configurations, ...rest } = options;
  return {
    ...result,
    options: { ...rest, command, ...(configurations.length > 0 ? { configurations } : {}) },
  };
}

function listMatrix(out: Output): number {
  const configurations = defaultConfigurations();
  const rows = configurations.map((configuration) => [
    configuration.name,
    Object.entries(configuration.env)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ') || '—',
    configuration.missing ?? configuration.library ?? '(no preload)',
  ]);
  out.print(
    renderTable(['configuration', 'settings', 'library'], rows, { textColumns: 3, width: out.width, wrap: [1, 2] }),
  );
  out.print('');
  for (const configuration of configurations) out.print(`${configuration.name}: ${configuration.description}`);
  return 0;
}

export async function compareCommand(argv: string[], out: Output): Promise<number> {
  const command = parseCompareArguments(argv);
  const { warn } = out;
  const { progress } = command.json ? quiet(out) : out;
  if (command.list) return listMatrix(out);

  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const stop = (signal: NodeJS.Signals) => {
    if (received !== null) process.exit(signal === 'SIGINT' ? 130 : 143); // the second one: at once
    received = signal;
    warn(`\ncompare: ${signal}: ending the current run's processes (again to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let label = '';
  try {
    let result;
    try {
      result = await compareAllocators({
        ...command.options,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.type === 'run-start') {
            label = `[${event.order + 1}/${event.total}] ${event.configuration}${command.options.repeat && command.options.repeat > 1 ? ` #${event.repeat + 1}` : ''}`;
            progress(label);
          } else if (event.type === 'sample') {
            progress(
              `${label}: ${(event.t / 1000).toFixed(1)} s, RSS ${formatBytes(event.rss)}${event.processes > 1 ? ` in ${event.processes} processes` : ''}`,
            );
          }
        },
        ...(command.showOutput
          ? {
              onOutput: (line: string, stream: string, configuration: string) =>
                warn(`[${configuration}${stream === 'load' ? ' load' : ''}] ${line}`),
            }
          : {}),
      });
    } catch (error) {
      // The library's argument errors are the user's arguments here.
      if (
        error instanceof MallocLabError &&
        (error.code === ErrorCodes.OUT_OF_RANGE || error.code === ErrorCodes.INVALID_ARG_TYPE)
      ) {
        const message = error.message
          .replace(/^compareAllocators: /, '')
          .replace(/options\.configurations\[\d+\]/, '--config')
          .replace(/options\.configurations/, '--config')
          .replace(/options\.baseline/, '--baseline');
        throw usageError(
          `${message}${/configuration/.test(message) ? ` (compare --list shows the matrix: ${MATRIX_NAMES.join(', ')})` : ''}`,
        );
      }
      // A command that cannot run: the same error, named after the command rather than the function.
      if (error instanceof MallocLabError && error.message.startsWith('compareAllocators: ')) {
        const renamed = new MallocLabError(error.message.replace(/^compareAllocators: /, 'compare: '), error.code);
        if (error.errno !== undefined) renamed.errno = error.errno;
        if (error.syscall !== undefined) renamed.syscall = error.syscall;
        throw renamed;
      }
      throw error;
    }
    out.endProgress();
    if (command.svg !== undefined) writeFileSync(command.svg, renderCompareSvg(result));
    if (command.html !== undefined) {
      const { renderCompareHtml } = await import('../report/html/compare.js');
      writeFileSync(command.html, renderCompareHtml(result));
    }
    const written = [command.svg, command.html].filter((file): file is string => file !== undefined);
    if (command.json) {
      out.data(JSON.stringify(result, null, 2));
      warn(`compare: ${bestSentence(result)}`);
      for (const file of written) warn(`compare: wrote ${file}`);
    } else {
      out.print(renderCompareTable(result, { width: out.width }));
      for (const file of written) out.print(`wrote ${file}`);
    }
    if (received !== null) return received === 'SIGINT' ? 130 : 143;
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
