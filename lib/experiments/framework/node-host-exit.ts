/** What the node host (node-host.ts) and the parent that starts it (hosts.ts) agree on, without loading the addon. */

/** The node host's exit status when its brk heap is walled in and it ran nothing. */
export const WALLED_EXIT = 4;
/** The room above the break a node host needs: more than any experiment's heap grows at its default sizes. */
export const MIN_BREAK_ROOM = 2 ** 30;
/** Node processes started for one run at most, walled ones included. */
export const MAX_NODE_STARTS = 6;
