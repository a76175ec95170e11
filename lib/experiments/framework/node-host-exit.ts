/** What the node host (node-host.ts) and the parent that starts it (hosts.ts) agree on, without loading the addon. */

/** The node host's exit status when its brk heap is walled in and it ran nothing. */
export const WALLED_EXIT = 4;
/** The room above the break a node host needs: more than any experiment's heap grows at its default sizes. */
export const MIN_BREAK_ROOM = 2 ** 30;
/**
 * Sets another room, in bytes (0: run in any Node process, walled in or not, to see that
 * world as it comes).
 */
export const MIN_BREAK_ROOM_ENV = 'MALLOC_LAB_MIN_BREAK_ROOM';

/** The room the node host needs: MIN_BREAK_ROOM, or the variable's whole number of bytes. */
export function minBreakRoom(env: NodeJS.ProcessEnv): number {
  const text = env[MIN_BREAK_ROOM_ENV];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : MIN_BREAK_ROOM;
}
/** Node processes started for one run at most, walled ones included. */
export const MAX_NODE_STARTS = 6;
