/**
 * A Node service for the agent bench: the agent, and a heap like a busy service's
 * (four thread arenas and a main heap with free chunks of many sizes between live
 * ones), so that malloc_info has arenas and bins to report. On a line "time N" it
 * calls malloc_info() (the addon call and the parse, as a service would) N times
 * and prints the nanoseconds per call; it exits when stdin closes.
 */
import { allocBatch, malloc_info, startThread } from '../../dist/index.js';

const { agent } = await import('../../dist/integrations/agent-import.js');
await agent.ready;

const pattern = [16, 40, 100, 250, 600, 1500, 4000, 10_000, 30_000].map((size, i) => ({ size, fill: i + 1 }));
const kept = [];
for (let t = 0; t < 4; t++) {
  const thread = startThread();
  for (let i = 0; i < 2000; i++) {
    const block = thread.malloc(pattern[i % pattern.length].size);
    if (i % 3 === 0) thread.free(block);
    else kept.push(block);
  }
}
const set = allocBatch({ count: 2000, pattern });
set.free({ step: 3 });

process.stdin.setEncoding('utf8');
let pending = '';
process.stdin.on('data', (chunk) => {
  pending += chunk;
  for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
    const [command, count] = pending.slice(0, newline).split(' ');
    pending = pending.slice(newline + 1);
    if (command !== 'time') continue;
    const n = Number(count);
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) malloc_info();
    process.stdout.write(`${Number(process.hrtime.bigint() - start) / n}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write(`ready ${process.pid}\n`);
