/**
 * `malloc-lab run <id…> | --all [--host node|fresh|both] [--allocator NAME[=PATH]]…
 * [--env K=V]… [--json] [--svg FILE] [--full] [parameters]`
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
import {
  ALLOCATORS,
  type AllocatorLibraries,
  type AllocatorName,
  type HostName,
} from '../experiments/framework/hosts.js';
import { runExperiment, type ExperimentRun } from '../experiments/framework/runner.js';
import type { ExperimentDefinition, Parameters } from '../experiments/framework/types.js';
import { renderExperiment } from '../report/text.js';
import { eachArgument, usageError as usageErrorOf } from './arguments.js';

export interface RunCommand {
  ids: string[];
  hosts: HostName[];
  allocator: AllocatorName;
  libraries: AllocatorLibraries;
  env: Record<string, string>;
  json: boolean;
  svg?: string;
  full: boolean;
  parameters: Parameters;
  preset?: string;
}

const usageError = (message: string) => usageErrorOf('run', message);

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
    hosts: ['node', 'fresh'],
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
      case '--preset':
        command.preset = next();
        break;
      case '--host': {
        const host = next();
        if (host === 'both') command.hosts = ['node', 'fresh'];
        else if (host === 'node' || host === 'fresh') command.hosts = [host];
        else throw usageError(`--host must be node, fresh or both, received ${JSON.stringify(host)}`);
        break;
      }
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
        if (token.startsWith('--')) {
          command.parameters[token.slice(2)] = integerArgument(token, next());
        } else {
          positional.push(token);
        }
    }
  });
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

export async function runCommand(
  argv: string[],
  print: (line: string) => void,
  progress: (line: string) => void,
): Promise<number> {
  const command = parseRunArguments(argv);
  const results: ExperimentRun[] = [];
  for (const id of command.ids) {
    const definition: ExperimentDefinition = findExperiment(id);
    const runs = await runExperiment(definition, {
      hosts: command.hosts,
      allocator: command.allocator,
      libraries: command.libraries,
      env: command.env,
      parameters: command.ids.length === 1 ? command.parameters : {},
      full: command.full,
      onProgress: progress,
    });
    results.push(...runs);
    if (!command.json) print(`${renderExperiment(runs)}\n`);
  }
  if (command.json) print(JSON.stringify(results, null, 2));
  if (command.svg !== undefined) {
    const { renderSvg } = await import('../report/svg.js');
    writeFileSync(command.svg, renderSvg(results));
    if (!command.json) print(`chart written to ${command.svg}`);
  }
  return 0;
}
