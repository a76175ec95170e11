// A stand-in for a Node service whose RSS keeps growing while its JS heap stays
// flat: native work spread over worker threads, each of which handled a burst of
// requests, keeping one buffer in four (a cache) and freeing the rest. glibc keeps
// the freed memory, pinned between the cached buffers, in the arena it came from.
// Run it, then point `malloc-lab explain` at it:
//
//   node examples/fragmented-service.mjs [--no-agent] [--threads 6]
//
// It prints "ready <pid>" and serves nothing; Ctrl-C (or closing stdin) ends it.
import { allocBatch, fill, free, KiB, startThread } from 'malloc-lab';

const args = process.argv.slice(2);
if (!args.includes('--no-agent')) {
  const { agent } = await import('malloc-lab/agent');
  await agent?.ready;
}
const at = args.indexOf('--threads');
const threads = at >= 0 ? Number(args[at + 1]) : 6;

const cache = [];
for (let t = 0; t < threads; t++) {
  const worker = startThread();
  const burst = [];
  for (let request = 0; request < 500; request++) {
    const buffer = worker.malloc((8 + ((request * 7) % 57)) * KiB); // 8 to 64 KiB, below the mmap threshold
    worker.fill(buffer, 1);
    burst.push(buffer);
  }
  burst.forEach((buffer, request) => (request % 4 === 0 ? cache.push(buffer) : worker.free(buffer)));
}
// The main thread: a batch of small records, two in three dropped.
const records = allocBatch({ count: 40_000, size: 512, fill: 2 });
records.free({ step: 3, min: 1 });
records.free({ step: 3, min: 2 });
// One large buffer, above the mmap threshold.
const large = (await import('malloc-lab')).malloc(48 * 1024 * KiB);
fill(large, 3);

process.stdout.write(`ready ${process.pid}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  free(large);
  process.exit(0);
});
process.on('SIGINT', () => process.exit(0));
