// A representative workload for valgrind memcheck (scripts/valgrind.sh): every native
// entry point, its success and its error paths, allocator threads, block sets, a
// Worker that exits holding blocks (its environment's cleanup frees them), procfs
// reads and malloc_info/malloc_stats captures. Everything it allocates it frees,
// so any "definitely lost" block whose stack runs through malloc_lab.node is a leak.
//
//   node --jitless scripts/valgrind-workload.mjs            # the workload
//   node scripts/valgrind-workload.mjs --report memcheck.xml # judge valgrind's XML
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

if (process.argv[2] === '--report') {
  process.exitCode = report(process.argv[3]);
} else {
  await workload(Number(process.env['VALGRIND_ROUNDS'] ?? 50));
}

async function workload(rounds) {
  const lab = await import('../dist/index.js');
  const { native } = await import('../dist/infra/native.js');
  const { StepProgram } = await import('../dist/experiments/framework/program.js');
  const refused = (fn) => {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof lab.MallocLabError)) throw error;
      return error.code;
    }
    throw new Error('expected a refusal');
  };
  const start = lab.registryStats();
  const thread = lab.startThread();
  for (let round = 0; round < rounds; round++) {
    // The malloc family, bytes in and out.
    const blocks = [
      lab.malloc(100),
      lab.calloc(4, 50),
      lab.valloc(300),
      lab.memalign(64, 200),
      lab.posix_memalign(128, 500),
      lab.aligned_alloc(64, 256),
      lab.malloc(200 * 1024),
    ];
    for (const block of blocks) {
      lab.fill(block, round & 255, { length: 64 });
      lab.touch(block);
      lab.write(block, new Uint8Array([1, 2, 3]), 8);
      lab.read(block, 0, 16);
      lab.malloc_usable_size(block);
      lab.residency(block, 64);
    }
    blocks[0] = lab.realloc(blocks[0], 5000);
    blocks[1] = lab.realloc(blocks[1], 10);
    lab.realloc(lab.malloc(10), 0);
    for (const block of blocks) lab.free(block);
    // Every refusal builds a message (std::string) and a JS error: none may leak.
    refused(() => lab.free(blocks[0]));
    refused(() => lab.free(0x1234n));
    refused(() => lab.free(blocks[2] + 8n));
    // A huge malloc is ENOMEM under glibc; valgrind's allocator may hand it out (lazily).
    for (const huge of [() => lab.malloc(2 ** 52), () => lab.calloc(2 ** 40, 2 ** 40)]) {
      try {
        lab.free(huge());
      } catch (error) {
        if (error.code !== 'ENOMEM') throw error;
      }
    }
    refused(() => lab.posix_memalign(3, 16));
    refused(() => lab.aligned_alloc(24, 48));
    refused(() => lab.mallopt(42, 1));
    refused(() => lab.sbrk(-4096));
    refused(() => lab.mincore(0x1000n, 4096));
    refused(() => lab.status(0x7ffffffe));
    refused(() => native.validateProgram(Float64Array.of(1, 2, 3)));
    refused(() => native.allocBatch(Float64Array.of(NaN), Float64Array.of(-1), 1, false));
    // Pages.
    const mapping = lab.mmap(4 * lab.PAGE_SIZE, { populate: round % 2 === 0 });
    lab.mincore(mapping, 4 * lab.PAGE_SIZE);
    lab.madvise(mapping, lab.PAGE_SIZE, 'MADV_DONTNEED');
    lab.mlock(mapping, lab.PAGE_SIZE);
    lab.munlock(mapping, lab.PAGE_SIZE);
    refused(() => lab.munmap(mapping, lab.PAGE_SIZE));
    lab.munmap(mapping, 4 * lab.PAGE_SIZE);
    // sbrk: take and give back.
    lab.sbrk(lab.PAGE_SIZE);
    try {
      lab.sbrk(-lab.PAGE_SIZE);
    } catch {
      // valgrind's own allocations may have moved the break: the segment stays, as documented
    }
    // Heap controls and procfs reads.
    lab.mallopt('M_PERTURB', 0);
    lab.malloc_trim(0);
    lab.mallinfo2();
    lab.snapshot(0, { brk: true, mallinfo: true, smapsRollup: true, statm: true });
    lab.sample();
    if (round % 10 === 0) {
      lab.malloc_info();
      lab.malloc_stats();
      lab.arenaCensus();
    }
    // Batches.
    const set = lab.allocBatch({ count: 16, pattern: [{ size: 100, fill: 1 }, { size: 1 }] });
    set.free({ step: 2 });
    set.info();
    set.address(3);
    set.release();
    refused(() => set.release());
    // Threads: calls, and an error raised on the thread and rethrown here.
    const onThread = thread.malloc(1000);
    thread.fill(onThread, 9);
    thread.malloc_usable_size(onThread);
    thread.free(onThread);
    refused(() => thread.free(onThread));
    if (round % 10 === 0) lab.startThread().close();
    // Step programs are validated here (run only in children).
    native.validateProgram(new StepProgram().step('x', (s) => s.malloc('a', 64).fill('a', 1).free('a')).encode());
  }
  thread.close();
  // A Worker that exits holding a block, a mapping, a set and an open thread: its
  // environment's cleanup hook frees them all.
  await new Promise((resolve, reject) => {
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then((lab) => {
         lab.malloc(4096); lab.mmap(lab.PAGE_SIZE); lab.allocBatch({ count: 4, size: 64 }); lab.startThread();
         parentPort.postMessage('done');
       });`,
      { eval: true },
    );
    worker.once('message', () => worker.terminate().then(resolve, reject));
    worker.once('error', reject);
  });
  if (process.env['VALGRIND_LEAK_CONTROL']) {
    // The negative control: a step program run in-process with the keep flag leaves its
    // block allocated and forgets it (malloc called from malloc_lab.node). The report
    // must flag it, or this pipeline could not see a leak at all.
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync('/dev/null', 'w');
    native.runProgram(new StepProgram({ keep: true }).step('leak', (s) => s.malloc('a', 4096)).encode(), fd);
    closeSync(fd);
  }
  const end = lab.registryStats();
  // The only regions left are sbrk segments valgrind's allocator stranded (at most one per round).
  console.log(JSON.stringify({ rounds, start, end, liveThreads: lab.liveThreads() }));
  if (lab.liveThreads() !== 0) throw new Error('allocator threads left running');
}

/** Reads valgrind's XML: counts definite leaks and memory errors whose stack runs through the addon. */
function report(file) {
  const xml = readFileSync(file, 'utf8');
  const errors = [...xml.matchAll(/<error>([\s\S]*?)<\/error>/g)].map((match) => match[1]);
  const ours = (text) => /malloc_lab\.node|malloclab::/.test(text);
  const kind = (text) => /<kind>(.*?)<\/kind>/.exec(text)?.[1] ?? '?';
  const bytes = (text) => Number(/<leakedbytes>(\d+)<\/leakedbytes>/.exec(text)?.[1] ?? 0);
  const summary = {
    definiteLeaks: { all: 0, bytes: 0, fromAddon: 0, addonBytes: 0 },
    errors: { all: 0, fromAddon: 0 },
    kinds: {},
  };
  const offending = [];
  for (const error of errors) {
    const k = kind(error);
    summary.kinds[k] = (summary.kinds[k] ?? 0) + 1;
    if (k === 'Leak_DefinitelyLost') {
      summary.definiteLeaks.all++;
      summary.definiteLeaks.bytes += bytes(error);
      if (ours(error)) {
        summary.definiteLeaks.fromAddon++;
        summary.definiteLeaks.addonBytes += bytes(error);
        offending.push(error);
      }
    } else if (!k.startsWith('Leak_')) {
      summary.errors.all++;
      if (ours(error)) {
        summary.errors.fromAddon++;
        offending.push(error);
      }
    }
  }
  console.log(JSON.stringify(summary, null, 2));
  for (const error of offending) {
    const frames = [...error.matchAll(/<frame>[\s\S]*?<\/frame>/g)].slice(0, 12).map((frame) => {
      const fn = /<fn>(.*?)<\/fn>/.exec(frame[0])?.[1] ?? '?';
      const obj = /<obj>(.*?)<\/obj>/.exec(frame[0])?.[1] ?? '';
      return `    ${fn}  (${obj.split('/').pop()})`;
    });
    console.log(`${kind(error)}\n${frames.join('\n')}`);
  }
  return offending.length === 0 ? 0 : 1;
}
