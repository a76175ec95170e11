/**
 * `malloc-lab demo`: the classic in five measured steps, in this process: seed
 * 000's 1024 × (10 KiB + 1 B) blocks, free() keeping the memory, malloc_trim(0)
 * giving it back.
 */
import { allocBatch } from '../bridge/batches.js';
import { malloc_trim, gnu_get_libc_version } from '../bridge/heap.js';
import { sample, type Sample } from '../bridge/procfs.js';
import { formatAddress, formatBytes } from '../infra/units.js';
import { renderTable } from '../report/table.js';

export function runDemo(print: (line: string) => void): void {
  const steps: { label: string; at: Sample }[] = [{ label: 'start', at: sample() }];
  const set = allocBatch({
    count: 1024,
    pattern: [
      { size: 10240, fill: 1 },
      { size: 1, fill: 1 },
    ],
  });
  steps.push({ label: '1024 × malloc(10240)+malloc(1), memset', at: sample() });
  set.free();
  steps.push({ label: 'free all 2048 blocks', at: sample() });
  const released = malloc_trim(0);
  steps.push({ label: `malloc_trim(0) → ${released}`, at: sample() });
  set.release();

  const base = steps[0]!.at;
  print(`malloc-lab demo — glibc ${gnu_get_libc_version()}, pid ${process.pid} (measured in this Node process)\n`);
  print(
    renderTable(
      ['step', 'RssAnon', 'Δ RssAnon', 'VmSize', 'in use (uordblks)', 'break'],
      steps.map(({ label, at }) => [
        label,
        formatBytes(at.status.RssAnon),
        formatBytes(at.status.RssAnon - base.status.RssAnon, { signed: true }),
        formatBytes(at.status.VmSize),
        formatBytes(at.mallinfo.uordblks),
        formatAddress(at.brk),
      ]),
    ),
  );
  const [, allocated, freed, trimmed] = steps.map((step) => step.at);
  const grown = allocated!.status.RssAnon - base.status.RssAnon;
  const keptAfterFree = freed!.status.RssAnon - base.status.RssAnon;
  const breakBack = allocated!.brk - freed!.brk;
  print(
    `\nmalloc + memset grew RssAnon by ${formatBytes(grown)}; after free() ${formatBytes(keptAfterFree)} of it remained` +
      ` and the break moved back by ${formatBytes(Number(breakBack))};` +
      ` malloc_trim(0) released ${formatBytes(freed!.status.RssAnon - trimmed!.status.RssAnon)} more.` +
      `\nThis ran inside a busy Node process (V8 grows its own memory too); \`malloc-lab run\` measures in fresh processes.`,
  );
}
