/**
 * The CPUs a process may use, three ways that disagree in containers:
 * - online: the machine's CPUs (/sys/devices/system/cpu/online);
 * - affinity: the CPUs its main thread may run on (Cpus_allowed_list in status:
 *   taskset, cpusets, `docker --cpuset-cpus`);
 * - quota: the CPU time its cgroup may use (cpu.max on cgroup v2, cfs_quota_us /
 *   cfs_period_us on v1: `docker --cpus`, Kubernetes CPU limits), the smallest
 *   along the cgroup's ancestors.
 * glibc sizes its arena cap from one of them (see arenaCap), never from the quota.
 * Also here: the container id in /proc/<pid>/cgroup, for labels.
 */
import { readFileSync } from 'node:fs';

import { procPath } from '../proc-files.js';

/** "0-3,8,10-11" → 7. */
export function countCpuList(list: string): number {
  let count = 0;
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) return NaN;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    count += last - first + 1;
  }
  return count;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

export function onlineCpuCount(): number | null {
  const text = readOrNull('/sys/devices/system/cpu/online');
  const count = text === null ? NaN : countCpuList(text);
  return Number.isFinite(count) ? count : null;
}

export function affinityCpuCount(pid: number): number | null {
  const match = /^Cpus_allowed_list:\s*(\S+)/m.exec(readOrNull(procPath(pid, 'status')) ?? '');
  const count = match === null ? NaN : countCpuList(match[1]!);
  return Number.isFinite(count) ? count : null;
}

export interface CgroupEntry {
  hierarchy: string;
  controllers: string[];
  path: string;
}

/** /proc/<pid>/cgroup's lines ("hierarchy:controllers:path"); empty when unreadable. */
export function cgroupsOf(pid: number): CgroupEntry[] {
  const text = readOrNull(procPath(pid, 'cgroup')) ?? '';
  const entries: CgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    entries.push({
      hierarchy: line.slice(0, first),
      controllers: line
        .slice(first + 1, second)
        .split(',')
        .filter((name) => name !== ''),
      path: line.slice(second + 1),
    });
  }
  return entries;
}

/** The 64-hex-digit container id in a cgroup path (docker, containerd, CRI-O, podman), or null. */
export function containerIdOf(entries: CgroupEntry[]): string | null {
  for (const entry of entries) {
    const match = /(?:^|[/:-])([0-9a-f]{64})(?:\.scope)?(?:\/|$)/.exec(entry.path);
    if (match !== null) return match[1]!;
  }
  return null;
}

export interface CpuQuota {
  /** Quota / period: the CPUs' worth of time the cgroup may use (1.5 = one and a half CPUs). */
  cpus: number;
  /** The file the smallest limit came from. */
  source: string;
}

function ancestors(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '');
  const chain: string[] = [];
  for (let i = parts.length; i >= 0; i--) chain.push(`/${parts.slice(0, i).join('/')}`);
  return chain;
}

let mounts: { v2: string | null; v1: Map<string, string> } | undefined;

/** Mount points of cgroup hierarchies, from /proc/self/mountinfo (read once): v2, and v1 per controller. */
function cgroupMounts(): { v2: string | null; v1: Map<string, string> } {
  if (mounts !== undefined) return mounts;
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of (readOrNull('/proc/self/mountinfo') ?? '').split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const mountPoint = line.slice(0, dash).split(' ')[4];
    const [type, , superOptions] = line.slice(dash + 3).split(' ');
    if (mountPoint === undefined) continue;
    if (type === 'cgroup2') v2 ??= mountPoint;
    else if (type === 'cgroup')
      for (const option of (superOptions ?? '').split(',')) if (!v1.has(option)) v1.set(option, mountPoint);
  }
  mounts = { v2, v1 };
  return mounts;
}

/** The smallest CPU quota along the process's cgroup and its ancestors, or null when none limits it. */
export function cpuQuotaOf(entries: CgroupEntry[]): CpuQuota | null {
  const mounts = cgroupMounts();
  let best: CpuQuota | null = null;
  const consider = (cpus: number, source: string) => {
    if (Number.isFinite(cpus) && cpus > 0 && (best === null || cpus < best.cpus)) best = { cpus, source };
  };
  for (const entry of entries) {
    if (entry.hierarchy === '0' && entry.controllers.length === 0 && mounts.v2 !== null) {
      for (const dir of ancestors(entry.path)) {
        const file = `${mounts.v2}${dir === '/' ? '' : dir}/cpu.max`;
        const [quota, period] = (readOrNull(file) ?? '').trim().split(/\s+/);
        if (quota !== undefined && quota !== 'max' && period !== undefined)
          consider(Number(quota) / Number(period), file);
      }
    } else if (entry.controllers.includes('cpu')) {
      const mount = mounts.v1.get('cpu');
      if (mount === undefined) continue;
      for (const dir of ancestors(entry.path)) {
        const base = `${mount}${dir === '/' ? '' : dir}`;
        const quota = Number((readOrNull(`${base}/cpu.cfs_quota_us`) ?? '').trim());
        const period = Number((readOrNull(`${base}/cpu.cfs_period_us`) ?? '').trim());
        if (quota > 0 && period > 0) consider(quota / period, `${base}/cpu.cfs_quota_us`);
      }
    }
  }
  return best;
}
