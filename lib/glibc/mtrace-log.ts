/**
 * Parser for the log glibc's mtrace() writes to the file MALLOC_TRACE names (format of
 * glibc 2.36's malloc/mtrace-impl.c), and the leak report glibc's `mtrace` script makes
 * of it: every block allocated while tracing and not freed before muntrace().
 *
 * A line is `@ <caller> ` (when glibc knows the caller) followed by one event:
 *   `+ 0xADDR 0xSIZE` malloc/calloc/memalign (ADDR `(nil)` when it failed),
 *   `- 0xADDR` free, `< 0xOLD` then `> 0xNEW 0xSIZE` a realloc that moved or resized,
 *   `! 0xOLD 0xSIZE` a realloc that failed.
 * `= Start` and `= End` frame the log. Lines that are not mtrace lines (the log may
 * share a stream with other output) are ignored.
 */
import { typeError } from '../infra/validate.js';

export type MtraceEventKind = 'alloc' | 'free' | 'realloc-from' | 'realloc-to' | 'realloc-failed';

export interface MtraceEvent {
  kind: MtraceEventKind;
  /** 0n for a failed allocation (`(nil)`). */
  address: bigint;
  size?: number;
  /** glibc's caller text, e.g. `/usr/bin/prog:(main+0x1c)[0x11a5]`. */
  caller?: string;
  /** 1-based line of the log. */
  line: number;
}

export interface MtraceBlock {
  address: bigint;
  size: number;
  caller?: string;
  line: number;
}

export interface MtraceLog {
  started: boolean;
  ended: boolean;
  events: MtraceEvent[];
  /** Blocks allocated while tracing and still live at the end: the leak report. */
  leaks: MtraceBlock[];
  /** Frees of addresses the log never saw allocated (blocks from before mtrace(), or bad frees). */
  unknownFrees: MtraceEvent[];
}

const KINDS: Record<string, MtraceEventKind> = {
  '+': 'alloc',
  '-': 'free',
  '<': 'realloc-from',
  '>': 'realloc-to',
  '!': 'realloc-failed',
};

const EVENT = /^(?:@ (.*?) )?([-+<>!]) (0x[0-9a-f]+|\(nil\))(?: (0x[0-9a-f]+))?$/;

export function parseMtraceLog(text: string): MtraceLog {
  if (typeof text !== 'string') throw typeError('parseMtraceLog', 'text', 'the text of an mtrace log', text);
  const log: MtraceLog = { started: false, ended: false, events: [], leaks: [], unknownFrees: [] };
  const live = new Map<bigint, MtraceBlock>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (line === '= Start') log.started = true;
    else if (line === '= End') log.ended = true;
    const match = EVENT.exec(line);
    if (match === null) return;
    const [, caller, sign, address, size] = match;
    const event: MtraceEvent = {
      kind: KINDS[sign!]!,
      address: address === '(nil)' ? 0n : BigInt(address!),
      ...(size === undefined ? {} : { size: Number(BigInt(size)) }),
      ...(caller === undefined ? {} : { caller }),
      line: index + 1,
    };
    log.events.push(event);
    if (event.kind === 'alloc' || event.kind === 'realloc-to') {
      if (event.address !== 0n) {
        live.set(event.address, {
          address: event.address,
          size: event.size ?? 0,
          line: event.line,
          ...(caller === undefined ? {} : { caller }),
        });
      }
    } else if (event.kind === 'free' || event.kind === 'realloc-from') {
      if (!live.delete(event.address)) log.unknownFrees.push(event);
    }
  });
  log.leaks = [...live.values()];
  return log;
}
