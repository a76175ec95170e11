/**
 * `malloc-lab run <id…> | --all [--host node|fresh|both] [--heap clean|aged|both]
 * [--repeat N] [--age-blocks N] [--age-freed PERCENT] [--age-mix MIX] [--age-seed N]
 * [--allocator NAME[=PATH]]… [--env K=V]… [--json] [--svg FILE] [--full] [parameters]`
 *
 * Without --host and --heap a run covers the three worlds: fresh, node and an aged
 * heap on the fresh host (worlds.ts).
 *
 * `--allocator jemalloc=/opt/jemalloc/lib/libjemalloc.so.2` names the library file (any
 * path; Debian's otherwise) and selects it; repeated, it names several for the
 * `allocators` comparison, and the last one names the allocator runs preload.
 *
 * Parameters follow a single id: positional in the seed's order where the seed's
 * program takes arguments (`run free-and-sbrk 1000 10240 1 500 1000`), `--name
 * value` otherwise, or `--preset NAME`.
 */
import { writeFileSync } from 'node:fs';

import { CATALOGUE, findExperiment } from '../experiments/catalogue/index.js';
import { type Ageing, checkAgeing, parseAgeingMix } from '../experiments/framework/ageing.js';
import {
  ALLOCATORS,
  type AllocatorLibraries,
  type AllocatorName,
  type HostName,
} from '../experiments/framework/hosts.js';
import { runExperiment, type ExperimentRun } from '../experiments/framework/runner.js';
import { createScheduler } from '../experiments/framework/scheduler.js';
import type { ExperimentDefinition, Parameters } from '../experiments/framework/types.js';
import { DEFAULT_WORLDS, type HeapName } from '../experiments/framework/worlds.js';
import { renderRunSummary } from '../report/run-summary.js';
import { renderExperiment } from '../report/text.js';
import { eachArgument, usageError as usageErrorOf } from './arguments.js';
import { type Output, quiet } from './output.js';

export interface RunCommand {
  ids: string[];
  /** undefined: the default worlds decide (with heaps). */
  hosts?: HostName[];
  heaps?: HeapName[];
  repeat: number;
  ageing: Partial<Ageing>;
  allocator: AllocatorName;
  libraries: AllocatorLibraries;
  env: Record<string, string>;
  json: boolean;
  svg?: string;
  html?: string;
  /** Child processes at once (the scheduler's cores); 1: one after another. Default: the CPUs. */
  jobs?: number;
  full: boolean;
  parameters: Parameters;
  preset?: string;
}

const usageError = (message: string) => usageErrorOf('run', message);

/** Every experiment's parameter names: `--name value` is a parameter only if it is one of these. */
const PARAMETER_NAMES = new Set(CATALOGUE.flatMap((definition) => definition.parameters.map((p) => p.name)));

const OPTIONS_HINT =
  'run takes --all, --host, --heap, --repeat, --age-blocks, --age-freed, --age-mix, --age-seed, --allocator, --env, ' +
  '--json, --svg, --html, --jobs, --full, --preset, --width, ' +
  "and the experiment's parameters: malloc-lab list, or the README's experiment table";

function integerArgument(name: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw usageError(`${name} must be a non-negative integer, received ${JSON.stringify(text)}`);
  }
  return value;
}

export function parseRunArguments(argv: string[]): RunCommand {
  const command: RunCommand = {
    ids: [],
    repeat: 1,
    ageing: {},
    allocator: 'glibc',
    libraries: {},
    env: {},
    json: false,
    full: false,
    parameters: {},
  };
  const positional: string[] = [];
  let all = false;
  eachArgument('run', argv, (token, next) => {
    switch (token) {
      case '--all':
        all = true;
        break;
      case '--json':
        command.json = true;
        break;
      case '--full':
        command.full = true;
        break;
      case '--svg':
        command.svg = next();
        break;
      case '--html':
        command.html = next();
        break;
      case '--jobs': {
        const jobs = integerArgument('--jobs', next());
        if (jobs < 1 || jobs > 1024) throw usageError(`--jobs must be 1 to 1024, received ${jobs}`);
        command.jobs = jobs;
        break;
      }
      case '--preset':
        command.preset = next();
        break;
      case '--host': {
        const host = next();
        if (host === 'both') command.hosts = ['fresh', 'node'];
        else if (host === 'node' || host === 'fresh') command.hosts = [host];
        else throw usageError(`--host must be node, fresh or both, received ${JSON.stringify(host)}`);
        break;
      }
      case '--heap': {
        const heap = next();
        if (heap === 'both') command.heaps = ['clean', 'aged'];
        else if (heap === 'clean' || heap === 'aged') command.heaps = [heap];
        else throw usageError(`--heap must be clean, aged or both, received ${JSON.stringify(heap)}`);
        break;
      }
      case '--repeat': {
        command.repeat = integerArgument('--repeat', next());
        if (command.repeat < 1 || command.repeat > 1000)
          throw usageError(`--repeat must be 1 to 1000, received ${command.repeat}`);
        break;
      }
      case '--age-blocks':
        command.ageing.blocks = integerArgument('--age-blocks', next());
        break;
      case '--age-seed':
        command.ageing.seed = integerArgument('--age-seed', next());
        break;
      case '--age-freed': {
        const text = next();
        if (!/^\d+(\.\d+)?$/.test(text))
          throw usageError(`--age-freed takes a percentage, received ${JSON.stringify(text)}`);
        command.ageing.freedPercent = Number(text);
        break;
      }
      case '--age-mix':
        try {
          command.ageing.mix = parseAgeingMix(next());
        } catch (error) {
          throw usageError(
            `--age-mix takes percent:min-max classes such as 80:16-256,20:257-4096 (${(error as Error).message})`,
          );
        }
        break;
      case '--allocator': {
        const text = next();
        const equals = text.indexOf('=');
        const allocator = (equals < 0 ? text : text.slice(0, equals)) as AllocatorName;
        if (!ALLOCATORS.includes(allocator)) {
          throw usageError(
            `--allocator must be one of ${ALLOCATORS.join(', ')}, optionally with =PATH of its library file, received ${JSON.stringify(text)}`,
          );
        }
        if (equals >= 0) {
          const library = text.slice(equals + 1);
          if (allocator === 'glibc' || library === '') {
            throw usageError(
              `--allocator NAME=PATH takes jemalloc, tcmalloc or mimalloc and the path of its library file, received ${JSON.stringify(text)}`,
            );
          }
          command.libraries[allocator] = library;
        }
        command.allocator = allocator;
        break;
      }
      case '--env': {
        const pair = next();
        const equals = pair.indexOf('=');
        if (equals <= 0) throw usageError(`--env takes KEY=VALUE, received ${JSON.stringify(pair)}`);
        command.env[pair.slice(0, equals)] = pair.slice(equals + 1);
        break;
      }
      default:
        if (token.startsWith('-')) {
          // Only a parameter some experiment has takes a value here; anything else is an option run does not know.
          if (!PARAMETER_NAMES.has(token.slice(2))) throw usageError(`unknown option ${token} (${OPTIONS_HINT})`);
          command.parameters[token.slice(2)] = integerArgument(token, next());
        } else {
          positional.push(token);
        }
    }
  });
  try {
    checkAgeing(command.ageing, 'run', 'ageing');
  } catch (error) {
    throw usageError((error as Error).message.replace(/^run: ageing\./, '--age-'));
  }
  if (all) {
    if (positional.length > 0) throw usageError('give experiment ids or --all, not both');
    command.ids = CATALOGUE.map((definition) => definition.id);
    if (Object.keys(command.parameters).length > 0)
      throw usageError('parameters follow a single experiment id, not --all');
    return command;
  }
  const ids = positional.filter((token) => !/^\d+$/.test(token));
  const numbers = positional.filter((token) => /^\d+$/.test(token));
  if (ids.length === 0) throw usageError('name an experiment (see `malloc-lab list`) or --all');
  for (const id of ids) findExperiment(id);
  command.ids = ids;
  if ((numbers.length > 0 || Object.keys(command.parameters).length > 0 || command.preset) && ids.length > 1) {
    throw usageError('parameters follow a single experiment id');
  }
  if (ids.length === 1) {
    const definition = findExperiment(ids[0]!);
    const own = new Set(definition.parameters.map((parameter) => parameter.name));
    for (const name of Object.keys(command.parameters)) {
      if (!own.has(name)) {
        throw usageError(
          `${definition.id} has no parameter --${name} (its parameters: ${[...own].map((one) => `--${one}`).join(' ') || 'none'})`,
        );
      }
    }
    if (command.preset !== undefined) {
      const preset = definition.presets?.[command.preset];
      if (preset === undefined) {
        throw usageError(
          `${definition.id} has no preset ${JSON.stringify(command.preset)} (expected one of ${Object.keys(definition.presets ?? {}).join(', ') || 'none'})`,
        );
      }
      command.parameters = { ...preset, ...command.parameters };
    }
    const byPosition = definition.parameters
      .filter((parameter) => parameter.position !== undefined)
      .sort((a, b) => a.position! - b.position!);
    if (numbers.length > byPosition.length) {
      throw usageError(
        `${definition.id} takes ${byPosition.length} positional arguments (${byPosition.map((p) => p.name).join(' ') || 'none'}), received ${numbers.length}`,
      );
    }
    numbers.forEach((text, index) => {
      command.parameters[byPosition[index]!.name] = integerArgument(byPosition[index]!.name, text);
    });
  }
  return command;
}

export async function runCommand(argv: string[], out: Output): Promise<number> {
  const command = parseRunArguments(argv);
  const output = command.json ? quiet(out) : out;
  // Every experiment at once, each child process when the scheduler lets it (scheduler.ts); printed in order.
  const scheduler = createScheduler(command.jobs === undefined ? {} : { cpus: command.jobs });
  let finished = 0;
  const pending = command.ids.map((id) => {
    const definition: ExperimentDefinition = findExperiment(id);
    const runs = runExperiment(definition, {
      ...(command.hosts === undefined && command.heaps === undefined
        ? { worlds: DEFAULT_WORLDS }
        : { hosts: command.hosts, heaps: command.heaps }),
      repeat: command.repeat,
      ageing: command.ageing,
      allocator: command.allocator,
      libraries: command.libraries,
      env: command.env,
      parameters: command.ids.length === 1 ? command.parameters : {},
      full: command.full,
      scheduler,
      onProgress: (message) => output.progress(`[${finished}/${command.ids.length} done] ${message}`),
    });
    void runs.then(
      () => finished++,
      () => {},
    );
    return runs;
  });
  const results: ExperimentRun[] = [];
  for (const runs of pending) {
    results.push(...(await runs));
    if (!command.json) output.print(`${renderExperiment(await runs, { width: output.width })}\n`);
  }
  output.endProgress();
  if (command.json) output.data(JSON.stringify(results, null, 2));
  else output.print(renderRunSummary(results, { width: output.width, colours: output.colours }));
  const written = (what: string, file: string) =>
    command.json ? output.warn(`run: wrote ${what} ${file}`) : output.print(`${what} written to ${file}`);
  if (command.svg !== undefined) {
    const { renderSvg } = await import('../report/svg.js');
    writeFileSync(command.svg, renderSvg(results));
    written('chart', command.svg);
  }
  if (command.html !== undefined) {
    const { renderRunsHtml } = await import('../report/html/runs.js');
    writeFileSync(command.html, renderRunsHtml(results));
    written('report', command.html);
  }
  return 0;
}
