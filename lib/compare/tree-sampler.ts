/**
 * Samples the resident memory of a process, or of its whole process tree, as
 * cheaply as /proc allows: each process's statm, stat and children files are
 * opened once and re-read with pread into one preallocated buffer, and parsed as
 * bytes (no strings, no per-sample allocation beyond the result). statm gives
 * resident and shared pages; RssAnon is their difference (the kernel's
 * MM_ANONPAGES), the same counter /proc/<pid>/status reports.
 *
 * New processes are found through /proc/<pid>/task/<pid>/children of every
 * member at every sample (the thread that forks is the main thread in nearly all
 * programs, Node's child_process and cluster included), and through the children
 * files of every other thread every `deepScanMs`.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

import { systemPageSize } from '../process/proc-stat.js';

export interface TreeReading {
  /** Summed over the live processes, in bytes. */
  rss: number;
  rssAnon: number;
  /** Live processes read (zombies and the exited not counted). */
  processes: number;
  /** Processes seen for the first time in this reading. */
  added: number[];
}

/** CPU time in clock ticks. */
export interface Ticks {
  user: number;
  system: number;
}

interface Member {
  pid: number;
  statm: number;
  stat: number;
  children: number | null;
  /** The process's own CPU ticks at its last reading. */
  own: Ticks;
  /** Its waited-for children's ticks (cutime, cstime) at its last reading. */
  waited: Ticks;
}

export interface SamplerOptions {
  /** Follow the children of the root and theirs (default false: the root alone). */
  tree?: boolean;
  /** How often the children files of threads other than the main one are read (default 2000 ms). */
  deepScanMs?: number;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const CLOSE_PAREN = 0x29;

export class ProcessTreeSampler {
  readonly root: number;
  readonly tree: boolean;
  private readonly members = new Map<number, Member>();
  /** Processes that exited: never added again (their pid may still sit in a children list as a zombie). */
  private readonly gone = new Set<number>();
  /** Own ticks of exited members at their last reading. */
  private readonly goneOwn: Ticks = { user: 0, system: 0 };
  private readonly buffer = Buffer.alloc(16384);
  private readonly pageSize = systemPageSize();
  private readonly deepScanMs: number;
  private lastDeepScan = performance.now();
  private everSeen = 0;
  /** The root's ticks at its last reading, kept once it has exited. */
  private lastRoot: { own: Ticks; waited: Ticks } | undefined;

  constructor(root: number, options: SamplerOptions = {}) {
    this.root = root;
    this.tree = options.tree === true;
    this.deepScanMs = options.deepScanMs ?? 2000;
    this.add(root);
  }

  /** Live members' pids, the root first. */
  pids(): number[] {
    return [...this.members.keys()];
  }

  /** How many processes the sampler has followed, the exited included. */
  seen(): number {
    return this.everSeen;
  }

  /** The root's own and waited-for CPU ticks at its last reading. */
  rootTicks(): { own: Ticks; waited: Ticks } | undefined {
    const root = this.members.get(this.root);
    return root ? { own: { ...root.own }, waited: { ...root.waited } } : this.lastRoot;
  }

  /** The own CPU ticks of every process followed, the exited at their last reading. */
  treeOwnTicks(): Ticks {
    const total = { ...this.goneOwn };
    for (const member of this.members.values()) {
      total.user += member.own.user;
      total.system += member.own.system;
    }
    return total;
  }

  /** One reading of every live member; finds new members first when following the tree. */
  read(): TreeReading {
    const added: number[] = [];
    if (this.tree) this.discover(added);
    let rss = 0;
    let rssAnon = 0;
    let processes = 0;
    for (const member of [...this.members.values()]) {
      const pages = this.readStatm(member);
      if (pages === null) {
        this.retire(member);
        continue;
      }
      this.readStat(member);
      rss += pages.resident * this.pageSize;
      rssAnon += (pages.resident - pages.shared) * this.pageSize;
      processes++;
    }
    return { rss, rssAnon, processes, added: added.filter((pid) => this.members.has(pid)) };
  }

  close(): void {
    for (const member of [...this.members.values()]) this.retire(member);
  }

  private add(pid: number): boolean {
    if (this.members.has(pid) || this.gone.has(pid)) return false;
    let statm = -1;
    let stat: number;
    try {
      statm = openSync(`/proc/${pid}/statm`, 'r');
      stat = openSync(`/proc/${pid}/stat`, 'r');
    } catch {
      if (statm >= 0) closeSync(statm);
      this.gone.add(pid);
      return false;
    }
    let children: number | null = null;
    if (this.tree) {
      try {
        children = openSync(`/proc/${pid}/task/${pid}/children`, 'r');
      } catch {
        // a kernel without CONFIG_PROC_CHILDREN: only the root is followed
      }
    }
    this.members.set(pid, {
      pid,
      statm,
      stat,
      children,
      own: { user: 0, system: 0 },
      waited: { user: 0, system: 0 },
    });
    this.everSeen++;
    return true;
  }

  private retire(member: Member): void {
    for (const fd of [member.statm, member.stat, member.children]) {
      if (fd !== null) {
        try {
          closeSync(fd);
        } catch {}
      }
    }
    this.members.delete(member.pid);
    this.gone.add(member.pid);
    this.goneOwn.user += member.own.user;
    this.goneOwn.system += member.own.system;
    if (member.pid === this.root) this.lastRoot = { own: member.own, waited: member.waited };
  }

  private pread(fd: number): number {
    try {
      return readSync(fd, this.buffer, 0, this.buffer.length, 0);
    } catch {
      return -1; // ESRCH: the process has exited
    }
  }

  /** resident and shared pages, or null when the process has exited (a zombie reads all zeros). */
  private readStatm(member: Member): { resident: number; shared: number } | null {
    const length = this.pread(member.statm);
    if (length <= 0) return null;
    const fields = this.numbers(0, length, 3);
    if (fields[0] === 0 && fields[1] === 0) return null;
    return { resident: fields[1] ?? 0, shared: fields[2] ?? 0 };
  }

  private readStat(member: Member): void {
    const length = this.pread(member.stat);
    if (length <= 0) return;
    const close = this.buffer.lastIndexOf(CLOSE_PAREN, length - 1);
    if (close < 0) return;
    // After ") ": state, then numbers; utime, stime, cutime, cstime are fields 14–17 of stat (11–14 after the state).
    let at = close + 2;
    let spaces = 0;
    while (at < length && spaces < 12) if (this.buffer[at++] === SPACE) spaces++;
    const times = this.numbers(at, length, 4);
    member.own = { user: times[0] ?? 0, system: times[1] ?? 0 };
    member.waited = { user: times[2] ?? 0, system: times[3] ?? 0 };
  }

  /** Up to count unsigned decimal numbers from the buffer, separated by spaces. */
  private numbers(from: number, to: number, count: number): number[] {
    const values: number[] = [];
    let value = -1;
    for (let at = from; at < to && values.length < count; at++) {
      const byte = this.buffer[at]!;
      if (byte >= 0x30 && byte <= 0x39) value = (value < 0 ? 0 : value * 10) + (byte - 0x30);
      else if (value >= 0) {
        values.push(value);
        value = -1;
        if (byte === NEWLINE) break;
      }
    }
    if (value >= 0 && values.length < count) values.push(value);
    return values;
  }

  private discover(added: number[]): void {
    const deep = performance.now() - this.lastDeepScan >= this.deepScanMs;
    if (deep) this.lastDeepScan = performance.now();
    // Members added during this pass are scanned in it too (a fork of a fork).
    for (let queue = [...this.members.values()]; queue.length > 0;) {
      const member = queue.shift()!;
      const found: number[] = [];
      if (member.children !== null) this.childrenOf(member.children, found);
      if (deep) {
        let tasks: string[] = [];
        try {
          tasks = readdirSync(`/proc/${member.pid}/task`);
        } catch {}
        for (const task of tasks) {
          if (task === String(member.pid)) continue;
          let fd = -1;
          try {
            fd = openSync(`/proc/${member.pid}/task/${task}/children`, 'r');
            this.childrenOf(fd, found);
          } catch {
          } finally {
            if (fd >= 0) closeSync(fd);
          }
        }
      }
      for (const pid of found) {
        if (this.add(pid)) {
          added.push(pid);
          queue.push(this.members.get(pid)!);
        }
      }
    }
  }

  private childrenOf(fd: number, into: number[]): void {
    const length = this.pread(fd);
    if (length > 0) into.push(...this.numbers(0, length, 1 << 16));
  }
}
