/**
 * The worlds an experiment runs in (DESIGN.md, "Worlds an experiment runs in"): a
 * host and the heap the program starts on. `fresh` is the standalone host with its
 * untouched heap, like the seeds' C programs; `node` a Node process that has just
 * loaded the addon; an aged heap is either host after the ageing workload (ageing.ts).
 * A run is one experiment in one world, once: runs are independent of each other.
 */
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import * as check from '../../infra/validate.js';
import { HOSTS, type HostName } from './hosts.js';

/** Hosts in the order worlds list them: the bare C-like process first. */
const WORLD_HOSTS: HostName[] = ['fresh', 'node'];

export type HeapName = 'clean' | 'aged';
export const HEAPS: HeapName[] = ['clean', 'aged'];

export interface World {
  host: HostName;
  heap: HeapName;
}

/**
 * What `malloc-lab run` covers unless told otherwise: the three worlds of the design.
 * The aged world runs on the fresh host, where the ageing workload is the heap's whole
 * history (on the node host Node's own start-up comes first: `--heap aged --host node`).
 */
export const DEFAULT_WORLDS: World[] = [
  { host: 'fresh', heap: 'clean' },
  { host: 'node', heap: 'clean' },
  { host: 'fresh', heap: 'aged' },
];

/** worlds checked: an array of { host, heap }. */
export function checkWorlds(worlds: unknown, fn: string): World[] {
  if (!Array.isArray(worlds) || worlds.length === 0)
    throw check.typeError(fn, 'options.worlds', 'a non-empty array of { host, heap }', worlds);
  return worlds.map((world: unknown, index) => {
    if (world === null || typeof world !== 'object')
      throw check.typeError(fn, `options.worlds[${index}]`, 'a { host, heap } world', world);
    const { host, heap } = world as World;
    return selectWorlds([host], [heap])[0]!;
  });
}

/** fresh, node, aged/fresh, aged/node. */
export function worldName(world: World): string {
  return world.heap === 'clean' ? world.host : `aged/${world.host}`;
}

/**
 * The worlds for the hosts and heaps asked for: hosts only (or neither), their clean
 * heaps, as runExperiment ran before worlds existed; heaps only, on both hosts; both,
 * every host with every heap.
 */
export function selectWorlds(hosts?: HostName[], heaps?: HeapName[]): World[] {
  for (const host of hosts ?? []) {
    if (!HOSTS.includes(host))
      throw new MallocLabError(
        `host must be one of ${HOSTS.join(', ')}, received ${JSON.stringify(host)}`,
        ErrorCodes.OUT_OF_RANGE,
      );
  }
  for (const heap of heaps ?? []) {
    if (!HEAPS.includes(heap))
      throw new MallocLabError(
        `heap must be one of ${HEAPS.join(', ')}, received ${JSON.stringify(heap)}`,
        ErrorCodes.OUT_OF_RANGE,
      );
  }
  return (heaps ?? ['clean']).flatMap((heap) => (hosts ?? WORLD_HOSTS).map((host) => ({ host, heap })));
}
