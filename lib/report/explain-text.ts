/**
 * `malloc-lab explain` as text: the classes with their evidence, glibc's arenas,
 * the threads and CPUs, and the verdict. Renders an ExplainReport and nothing else
 * (the data model is process/explain/types.ts).
 */
import { formatBytes } from '../infra/units.js';
import * as check from '../infra/validate.js';
import { AGENT_IMPORT_LINE } from '../process/agent-client.js';
import type { ExplainReport, Mechanism } from '../process/explain/types.js';
import { commandLine } from '../process/target.js';
import { renderTable } from './table.js';
import { fitText } from './terminal.js';

function percent(share: number): string {
  return `${(100 * share).toFixed(1)} %`;
}

function bytesOrDash(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : formatBytes(value);
}

function mark(mechanism: Mechanism): string {
  return mechanism.holds === true ? 'yes' : mechanism.holds === false ? 'no ' : '?  ';
}

export function viewLine(report: ExplainReport): string {
  if (report.agent?.answered) return `view: outside + the agent (${report.agent.socket})`;
  if (report.agent !== null)
    return `view: outside only (the agent at ${report.agent.socket || '?'} did not answer: ${report.agent.error?.message})`;
  return `view: outside only (no agent; \`${AGENT_IMPORT_LINE}\` in the service adds glibc's free bytes${report.classes.some((entry) => entry.name === 'v8-heap') ? " and V8's heap" : ''})`;
}

/** The allocator settings in force at start-up: those set, by where they came from. */
export function settingsLine(report: ExplainReport): string {
  const settings = report.settings;
  if (settings === null) return `settings: not read (${report.access.environ.reason ?? 'environ unreadable'})`;
  const set = Object.entries(settings.glibc)
    .filter(([, setting]) => setting !== undefined && setting.source !== 'default')
    .map(
      ([name, setting]) =>
        `glibc.malloc.${name}=${setting!.raw ?? setting!.value} (${setting!.source === 'env' ? 'environment' : 'GLIBC_TUNABLES'})`,
    );
  const others = Object.entries(settings.env)
    .filter(([name]) => !/^(MALLOC_(ARENA|TRIM|MMAP|TOP|PERTURB|CHECK)|GLIBC_TUNABLES$)/.test(name))
    .map(([name, value]) => `${name}=${value}`);
  const all = [...set, ...others];
  return `settings in force (start-up environment): ${all.length === 0 ? "none set: glibc's defaults" : all.join(', ')}`;
}

export function renderExplainText(report: ExplainReport, options: { width?: number | undefined } = {}): string {
  const width = options.width;
  if (
    report === null ||
    typeof report !== 'object' ||
    typeof report.pid !== 'number' ||
    !Array.isArray(report.classes)
  ) {
    throw check.typeError('renderExplainText', 'report', 'an explain report (from explainProcess)', report);
  }
  const lines: string[] = [];
  const command =
    report.cmdline === null
      ? '?'
      : commandLine({ pid: report.pid, comm: report.comm ?? '?', cmdline: report.cmdline }, 100);
  lines.push(`pid ${report.pid}  ${command}`);
  if (report.outcome === 'denied') {
    lines.push('');
    lines.push(report.verdict.summary);
    for (const line of report.verdict.cannotKnow) lines.push(`  - ${line}`);
    return fitText(lines.join('\n'), width);
  }
  lines.push(viewLine(report));
  const version = report.glibc?.version === null || report.glibc === null ? '' : ` ${report.glibc.version}`;
  lines.push(
    `allocator: ${report.allocator.name}${report.allocator.name === 'glibc' ? version : ''} (${report.allocator.evidence})`,
  );
  lines.push(settingsLine(report));
  if (report.outcome === 'partial') lines.push(`PARTIAL: ${report.partialReason}`);
  const { totals } = report;
  const rollup =
    totals.rollupRssBytes === null
      ? ''
      : totals.rollupRssBytes === totals.residentBytes
        ? ' (= smaps_rollup)'
        : ` (smaps_rollup read after it: ${formatBytes(totals.rollupRssBytes)}; the process moved meanwhile)`;
  lines.push(
    `RSS ${formatBytes(totals.residentBytes)}${rollup} in ${totals.mappings} mappings, ${formatBytes(totals.reservedBytes)} of address space`,
  );
  lines.push('');

  lines.push(
    renderTable(
      ['class', 'resident', 'share', 'reserved', 'regions'],
      report.classes.map((entry) => [
        entry.name,
        formatBytes(entry.residentBytes),
        percent(entry.share),
        formatBytes(entry.reservedBytes),
        String(entry.regionCount),
      ]),
      { width, drop: [3] },
    ),
  );
  lines.push('');
  lines.push('why each class holds what it holds');
  for (const entry of report.classes) {
    if (entry.regionCount === 0 && entry.evidence.length <= 1) continue;
    lines.push(`  ${entry.name}`);
    for (const sentence of entry.evidence) lines.push(`    - ${sentence}`);
  }

  const glibc = report.glibc;
  if (glibc !== null) {
    lines.push('');
    const count = glibc.arenas.count;
    const by =
      glibc.arenas.countedBy === 'agent'
        ? 'malloc_info (the agent)'
        : glibc.arenas.countedBy === 'heap_info'
          ? 'heap_info headers read from outside'
          : 'the layout alone (heap_info not readable)';
    lines.push(
      `glibc ${glibc.version ?? '(version unknown)'}: ${count ?? '?'} arena${count === 1 ? '' : 's'}, counted by ${by}`,
    );
    lines.push(`  arena cap: ${glibc.cap.value ?? '?'} (${glibc.cap.note})`);
    if (glibc.parameters !== null) {
      const p = glibc.parameters;
      lines.push(
        `  mmap threshold ${formatBytes(p.mmapThresholdBytes)} (${p.dynamicThreshold ? 'dynamic' : 'fixed by a setting'}), trim threshold ${formatBytes(p.trimThresholdBytes)}, ${p.mmappedChunks} mmapped chunk${p.mmappedChunks === 1 ? '' : 's'} of ${formatBytes(p.mmappedBytes)} (mp_ at ${p.address})`,
      );
    }
    if (glibc.arenas.list.length > 0) {
      lines.push(
        renderTable(
          ['arena', 'heaps', 'reserved', 'resident', 'system', 'top', 'free', 'trimmable', 'threads'],
          glibc.arenas.list.map((arena) => [
            arena.main ? 'main' : arena.index === null ? '?' : `#${arena.index}`,
            arena.main ? '[heap]' : String(arena.heaps.length),
            formatBytes(arena.reservedBytes),
            formatBytes(arena.residentBytes),
            bytesOrDash(arena.systemBytes),
            bytesOrDash(arena.topBytes),
            bytesOrDash(arena.freeBytes),
            bytesOrDash(arena.trimmableBytes),
            arena.attachedThreads === null ? '–' : String(arena.attachedThreads),
          ]),
          // On a narrow terminal the resident bytes and what is free of them matter most.
          { width, indent: 2, drop: [8, 5, 4, 2, 1, 7] },
        ),
      );
    }
  }

  lines.push('');
  const stacks = report.threads.stacks;
  const byPointer = stacks.filter((stack) => stack.foundBy === 'stack-pointer').length;
  const byLayout = stacks.filter((stack) => stack.foundBy === 'layout').length;
  const cached = stacks.filter((stack) => stack.foundBy === 'cache').length;
  lines.push(
    `threads: ${report.threads.count}; stacks: ${byPointer} by stack pointer` +
      (byLayout > 0 ? `, ${byLayout} by layout` : '') +
      (cached > 0 ? `, ${cached} cached` : '') +
      (report.threads.unplaced.length > 0 ? `; not placed: ${report.threads.unplaced.join(', ')}` : ''),
  );
  const { cpus } = report;
  lines.push(
    `cpus: ${cpus.online ?? '?'} online, ${cpus.affinity ?? '?'} in the affinity mask, cgroup quota ${cpus.quota === null ? 'none' : `${cpus.quota.cpus} (${cpus.quota.source})`}` +
      (cpus.containerId === null ? '' : `; container ${cpus.containerId.slice(0, 12)}`),
  );

  const { verdict } = report;
  lines.push('');
  lines.push(`verdict (${verdict.view === 'outside' ? 'outside view' : 'outside view + agent'})`);
  lines.push(`  ${verdict.summary}`);
  if (verdict.split !== null) {
    lines.push(
      renderTable(
        ['part', 'bytes', 'share', 'basis'],
        verdict.split.map((part) => [part.part, formatBytes(part.bytes), percent(part.share), part.basis]),
        { width, indent: 2, align: ['left', 'right', 'right', 'left'] },
      ),
    );
  }
  if (verdict.mechanisms.length > 0) {
    lines.push('  mechanisms (yes / no / ? = this view cannot tell):');
    for (const mechanism of verdict.mechanisms)
      lines.push(`    ${mark(mechanism)} ${mechanism.id}: ${mechanism.because}`);
  }
  if (verdict.recommendations.length > 0) {
    lines.push('  what would help:');
    for (const recommendation of verdict.recommendations) lines.push(`    - ${recommendation.text}`);
  }
  if (verdict.cannotKnow.length > 0) {
    lines.push('  what this view cannot know:');
    for (const line of verdict.cannotKnow) lines.push(`    - ${line}`);
  }
  if (report.problems.length > 0) {
    lines.push('');
    lines.push('notes:');
    for (const problem of report.problems) lines.push(`  - ${problem}`);
  }
  return fitText(lines.join('\n'), width);
}
