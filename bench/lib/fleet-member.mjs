/**
 * One process of the fleet bench: a small Node service with the agent, a few MiB
 * in two thread arenas and the main heap, waiting until stdin closes. Its command
 * line carries the fleet's tag (argv[2]), which `export --match` finds.
 */
import { allocBatch, startThread } from '../../dist/index.js';

const { agent } = await import('../../dist/integrations/agent-import.js');
await agent?.ready;
for (let t = 0; t < 2; t++) {
  const thread = startThread();
  for (let i = 0; i < 64; i++) thread.fill(thread.malloc(16 * 1024), 1);
}
allocBatch({ count: 256, size: 8 * 1024, fill: 2 }).free({ step: 2 });
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdout.write('ready\n');
