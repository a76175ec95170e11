/**
 * Metrics of every process that matches, for `export --match`: a sidecar or a
 * per-node exporter feeding Prometheus. Each scrape lists /proc again, so processes
 * that start appear and those that exit vanish; each process gets status and
 * smaps_rollup read fresh, labelled pid, comm and (when its cgroup names one) its
 * container id, plus the explain classes and its agent's figures where it has an
 * agent. The classes need all of smaps, which costs more than the scrape itself:
 * they are refreshed after the scrape that finds them older than classesEveryMs
 * (and at once for a process seen for the first time), and their age is a gauge.
 */
import { readdirSync } from 'node:fs';

import { ErrorCodes, MallocLabError } from '../infra/errors.js';
import { containerIdOf, cgroupsOf } from './explain/cpus.js';
import { explainProcess } from './explain/explain.js';
import type { ExplainReport } from './explain/types.js';
import { collectProcfsMetrics, escapeHelp, formatValue, labelSuffix, type MetricSample } from './metrics.js';
import { parseSmapsRollup, parseStatus, ProcFile } from './proc-files.js';
import { identify, isGone, nameMatches, selfAndAncestors, type ProcessIdentity } from './target.js';

export interface FleetOptions {
  /** How old the explain classes may get before a refresh (default 60 s). */
  classesEveryMs?: number;
  /** How long to wait for a process's agent (default 1000 ms). */
  agentTimeoutMs?: number;
  prefix?: string;
}

/** A --match argument: /regex/ (against comm and the command line) or a name (comm, or a command word's basename). */
export function processMatcher(spec: string): (identity: ProcessIdentity) => boolean {
  const regex = /^\/(.+)\/([a-z]*)$/.exec(spec);
  if (regex !== null) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(regex[1]!, regex[2]);
    } catch (error) {
      throw new MallocLabError(
        `export: --match ${spec} is not a valid regular expression: ${(error as Error).message}`,
        ErrorCodes.USAGE,
      );
    }
    return (identity) => pattern.test(identity.comm) || pattern.test(identity.cmdline.join(' '));
  }
  if (spec === '') throw new MallocLabError('export: --match needs a name or a /regex/', ErrorCodes.USAGE);
  return (identity) => nameMatches(identity, spec);
}

interface Known {
  identity: ProcessIdentity;
  /** status and smaps_rollup, kept open while the process lives. */
  files: { status: ProcFile; rollup: ProcFile } | null;
  labels: Record<string, string>;
  /** The labels as every sample line of this process carries them. */
  suffix: string;
  classes: ExplainReport | null;
  classesAt: number;
  refreshing: boolean;
}

const CLASS_HELP: [string, string][] = [
  [
    'explain_class_resident_bytes',
    'Resident bytes per explain class (glibc heaps, arenas, stacks, mmaps, code, …), from smaps.',
  ],
  ['explain_class_reserved_bytes', 'Address space per explain class, from smaps.'],
];

/** Processes whose status and smaps_rollup stay open between scrapes (two descriptors each); more are opened per scrape. */
const KEPT_OPEN = 400;

export class FleetCollector {
  readonly #match: (identity: ProcessIdentity) => boolean;
  readonly #classesEveryMs: number;
  readonly #agentTimeoutMs: number;
  readonly #prefix: string;
  readonly #excluded: Set<number>;
  /** Every pid seen in /proc, with (for matches) its state. */
  readonly #seen = new Map<number, { known: Known | null }>();
  #open = 0;

  constructor(match: string, options: FleetOptions = {}, excluded: Set<number> = selfAndAncestors()) {
    this.#match = processMatcher(match);
    this.#classesEveryMs = options.classesEveryMs ?? 60_000;
    this.#agentTimeoutMs = options.agentTimeoutMs ?? 1000;
    this.#prefix = options.prefix ?? 'malloclab_';
    this.#excluded = excluded;
  }

  /** The matching processes now: /proc listed again, identities read once per process. */
  matches(): Known[] {
    const alive = new Set<number>();
    const found: Known[] = [];
    for (const entry of readdirSync('/proc')) {
      const code = entry.charCodeAt(0);
      if (code < 48 || code > 57) continue;
      const pid = Number(entry);
      if (this.#excluded.has(pid)) continue;
      alive.add(pid);
      let seen = this.#seen.get(pid);
      if (seen === undefined) {
        const identity = identify(pid);
        if (identity === null) continue;
        let known: Known | null = null;
        if (this.#match(identity)) {
          const container = containerIdOf(cgroupsOf(pid));
          const labels = {
            pid: String(pid),
            comm: identity.comm,
            ...(container === null ? {} : { container_id: container }),
          };
          known = {
            identity,
            labels,
            suffix: labelSuffix(labels),
            classes: null,
            classesAt: 0,
            refreshing: false,
            files: null,
          };
        }
        seen = { known };
        if (seen.known !== null && this.#open < KEPT_OPEN) {
          // Kept open, they also tell a reused pid: the old process's files fail, and it is forgotten.
          try {
            seen.known.files = { status: new ProcFile(pid, 'status'), rollup: new ProcFile(pid, 'smaps_rollup') };
            this.#open++;
          } catch {
            // Gone already, or not ours to read: the scrape reads (or reports) it the usual way.
          }
        }
        this.#seen.set(pid, seen);
      }
      if (seen.known !== null) found.push(seen.known);
    }
    for (const pid of this.#seen.keys()) if (!alive.has(pid)) this.#forget(pid);
    return found;
  }

  #forget(pid: number): void {
    const files = this.#seen.get(pid)?.known?.files;
    if (files != null) {
      files.status.close();
      files.rollup.close();
      this.#open--;
    }
    this.#seen.delete(pid);
  }

  #refresh(known: Known): Promise<void> {
    known.refreshing = true;
    const pid = Number(known.labels['pid']);
    return explainProcess(pid, { rollup: false, regionsPerClass: 0, agentTimeoutMs: this.#agentTimeoutMs })
      .then(
        (report) => {
          known.classes = report;
          known.classesAt = Date.now();
        },
        () => {
          // Gone or unreadable: its status lines say so; keep whatever was there.
        },
      )
      .finally(() => {
        known.refreshing = false;
      });
  }

  /** One scrape: the text exposition and what could not be read. */
  async scrape(): Promise<{ text: string; problems: string[] }> {
    const processes = this.matches();
    // A process seen for the first time gets its classes before this answer.
    await Promise.all(
      processes.filter((known) => known.classes === null && !known.refreshing).map((known) => this.#refresh(known)),
    );
    const families = new Map<string, { help: string; lines: string[] }>();
    const add = (name: string, help: string, suffix: string, value: number, prefixed = false) => {
      const full = prefixed ? name : this.#prefix + name;
      let family = families.get(full);
      if (family === undefined) families.set(full, (family = { help, lines: [] }));
      family.lines.push(`${full}${suffix} ${formatValue(value)}`);
    };
    const problems: string[] = [];
    const now = Date.now();
    const stale: Known[] = [];
    for (const known of processes) {
      const pid = Number(known.labels['pid']);
      let samples: MetricSample[];
      try {
        const files = known.files;
        const readers =
          files === null
            ? undefined
            : {
                status: () => parseStatus(files.status.text()),
                smapsRollup: () => parseSmapsRollup(files.rollup.text()),
              };
        const collected = collectProcfsMetrics(pid, { prefix: this.#prefix }, readers);
        samples = collected.metrics;
        problems.push(...collected.problems);
      } catch (error) {
        // Exited since the listing (or its pid now names another process): it vanishes from this scrape.
        if (isGone(error)) {
          this.#forget(pid);
          continue;
        }
        throw error;
      }
      for (const sample of samples) add(sample.name, sample.help, known.suffix, sample.value, true);
      const report = known.classes;
      if (report !== null) {
        for (const entry of report.classes) {
          const suffix = labelSuffix({ ...known.labels, class: entry.name });
          add(CLASS_HELP[0]![0], CLASS_HELP[0]![1], suffix, entry.residentBytes);
          add(CLASS_HELP[1]![0], CLASS_HELP[1]![1], suffix, entry.reservedBytes);
        }
        add(
          'explain_age_seconds',
          'Seconds since the explain classes of this process were read.',
          known.suffix,
          (now - known.classesAt) / 1000,
        );
        if (report.glibc?.arenas.count != null) {
          add(
            'explain_glibc_arenas',
            "glibc's arenas (the main one included): malloc_info with the agent, heap_info from outside.",
            known.suffix,
            report.glibc.arenas.count,
          );
        }
        const agent = report.agent;
        add(
          'agent_up',
          '1 when the process has a malloc-lab agent that answered.',
          known.suffix,
          agent?.answered ? 1 : 0,
        );
        if (agent?.answered && agent.mallinfo !== null) {
          add(
            'agent_glibc_in_use_bytes',
            "Bytes in use in glibc's arenas (mallinfo2 uordblks, from the agent).",
            known.suffix,
            agent.mallinfo['uordblks'] ?? NaN,
          );
          add(
            'agent_glibc_free_bytes',
            "Free bytes kept in glibc's arenas (mallinfo2 fordblks, from the agent).",
            known.suffix,
            agent.mallinfo['fordblks'] ?? NaN,
          );
          add(
            'agent_glibc_mmap_bytes',
            'Bytes in chunks glibc mapped on their own (mallinfo2 hblkhd, from the agent).',
            known.suffix,
            agent.mallinfo['hblkhd'] ?? NaN,
          );
          const trimmable = agent.arenas.reduce((sum, arena) => sum + arena.trimmableBytes, 0);
          add(
            'agent_glibc_trimmable_bytes',
            'Free whole pages malloc_trim(0) could give back, at most (from the agent).',
            known.suffix,
            trimmable,
          );
          const js = agent.v8Heap?.['total_physical_size'];
          if (js !== undefined)
            add(
              'agent_v8_heap_resident_bytes',
              "V8's heap resident bytes (total_physical_size, from the agent).",
              known.suffix,
              js,
            );
        }
        if (now - known.classesAt >= this.#classesEveryMs && !known.refreshing) stale.push(known);
      }
    }
    // Old classes are refreshed after this answer, one process at a time, so a scrape never waits for them.
    if (stale.length > 0) {
      setImmediate(() => {
        void stale.reduce((chain, known) => chain.then(() => this.#refresh(known)), Promise.resolve());
      });
    }
    let text = '';
    for (const [name, family] of families) {
      text += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} gauge\n`;
      text += `${family.lines.join('\n')}\n`;
    }
    return { text, problems };
  }
}
