/**
 * The verdict: where the resident bytes are, which of glibc's retention mechanisms
 * the numbers show, and what each fix would give back, in bytes from this run's
 * measurements. With the agent, RSS splits into JS heap, glibc in use, glibc free
 * but resident, stacks, code and other; without it the verdict says what the
 * outside view cannot know and how to learn it. No mechanism is named without the
 * figures it rests on.
 */
import { DEFAULT_MMAP_THRESHOLD } from '../../glibc/model.js';
import { formatBytes } from '../../infra/units.js';
import { AGENT_IMPORT_LINE } from '../agent-client.js';
import type {
  AgentReport,
  ClassReport,
  GlibcReport,
  Mechanism,
  Recommendation,
  Verdict,
  VerdictPart,
} from './types.js';

export interface VerdictInput {
  totalResident: number;
  classes: ClassReport[];
  glibc: GlibcReport | null;
  agent: AgentReport | null;
  /** The allocator that serves malloc. */
  allocator: string;
  /** Largest free-chunk bytes in bins of 128 KiB or more, per the agent's malloc_info (null without it). */
  largeFreeChunkBytes: number | null;
  node: boolean;
}

const MiB = 1024 * 1024;

function percent(part: number, whole: number): string {
  return whole === 0 ? '0 %' : `${Math.round((100 * part) / whole)} %`;
}

function classBytes(classes: ClassReport[], name: string): number {
  return classes.find((entry) => entry.name === name)?.residentBytes ?? 0;
}

function partBytes(classes: ClassReport[], name: string, kind: string): number {
  return classes.find((entry) => entry.name === name)?.parts.find((part) => part.kind === kind)?.residentBytes ?? 0;
}

/** "1–3, 5" for arena numbers. */
function ranges(numbers: number[]): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

export function judge(input: VerdictInput): Verdict {
  const { classes, glibc, agent, totalResident: rss } = input;
  const mainHeap = classBytes(classes, 'glibc-main-heap');
  const arenaHeaps = classBytes(classes, 'glibc-arenas');
  const heaps = mainHeap + arenaHeaps;
  const chunks = partBytes(classes, 'anonymous-mmap', 'malloc-chunk');
  const stacks = classBytes(classes, 'thread-stacks');
  const code = classBytes(classes, 'code-and-files') + classBytes(classes, 'jit-code');
  const parameters = glibc?.parameters ?? null;
  const mechanisms: Mechanism[] = [];
  const recommendations: Recommendation[] = [];
  const cannotKnow: string[] = [];
  const withAgent = agent !== null && agent.answered && agent.mallinfo !== null;
  const view = withAgent ? 'outside+agent' : 'outside';

  if (input.allocator !== 'glibc') {
    mechanisms.push({
      id: 'other-allocator',
      holds: true,
      because: `${input.allocator} serves malloc here, so glibc's arenas, trim and thresholds do not decide what it keeps; its own settings do`,
      figures: { glibcHeapsResidentBytes: heaps },
    });
  }

  // The mmap threshold, from mp_ read out of the process.
  if (parameters !== null) {
    const rose = parameters.dynamicThreshold && parameters.mmapThresholdBytes > DEFAULT_MMAP_THRESHOLD;
    const large = input.largeFreeChunkBytes;
    const pinned = large !== null && large > 0;
    mechanisms.push({
      id: 'mmap-threshold-rose',
      // A free chunk of 128 KiB or more is a large block freed, or small free neighbours merged: malloc_info
      // cannot tell which, so this view does not claim it.
      holds: rose ? (pinned || large === null ? null : false) : false,
      because: rose
        ? `glibc raised its mmap threshold from ${formatBytes(DEFAULT_MMAP_THRESHOLD)} to ${formatBytes(parameters.mmapThresholdBytes)} (mp_.mmap_threshold, read from the process) when a mapped block that size was freed, so blocks below that size now come from the heaps and stay there when freed` +
          (large === null
            ? '; whether such blocks sit free in the heaps now needs the agent'
            : pinned
              ? `; ${formatBytes(large)} of free chunks of 128 KiB or more sit in the arenas, but malloc_info cannot tell such blocks freed from smaller free neighbours merged`
              : ': none of them sits free in the heaps now (no free chunk of 128 KiB or more)')
        : parameters.dynamicThreshold
          ? `the mmap threshold is still ${formatBytes(parameters.mmapThresholdBytes)} (mp_.mmap_threshold): it has not risen`
          : `the mmap threshold is fixed at ${formatBytes(parameters.mmapThresholdBytes)} by a setting, so it cannot rise`,
      figures: {
        mmapThresholdBytes: parameters.mmapThresholdBytes,
        defaultBytes: DEFAULT_MMAP_THRESHOLD,
        ...(large === null ? {} : { largeFreeChunkBytes: large }),
      },
    });
    // Only what the numbers show is recommended: large free chunks alone do not (see above).
    if (rose && large !== null && large > 0 && mechanisms.at(-1)!.holds === true) {
      recommendations.push({
        action: `MALLOC_MMAP_THRESHOLD_=${DEFAULT_MMAP_THRESHOLD}`,
        expectedBytes: large,
        text:
          `start the service with MALLOC_MMAP_THRESHOLD_=${DEFAULT_MMAP_THRESHOLD} (or GLIBC_TUNABLES=glibc.malloc.mmap_threshold=${DEFAULT_MMAP_THRESHOLD}): ` +
          'blocks of 128 KiB and more get their own mapping again and go back to the system on free' +
          (large === null ? '' : `; up to ${formatBytes(large)} now held in large free chunks would not be`),
      });
    }
  } else if (glibc !== null && input.allocator === 'glibc') {
    cannotKnow.push("the mmap threshold glibc uses now (mp_ could not be read from the process's memory)");
  }

  let split: VerdictPart[] | null = null;
  let summary: string;
  if (withAgent && input.allocator === 'glibc') {
    const info = agent.mallinfo!;
    const inUse = info['uordblks'] ?? 0;
    const free = info['fordblks'] ?? 0;
    // Free chunks' pages are resident only if written and not trimmed since; in-use blocks may be unwritten.
    const freeResident = Math.max(0, Math.min(free, heaps - inUse));
    const inUseResident = heaps - freeResident + chunks;
    const js = input.node && agent.v8Heap !== null ? (agent.v8Heap['total_physical_size'] ?? 0) : 0;
    const other = Math.max(0, rss - js - inUseResident - freeResident - stacks - code);
    const part = (name: VerdictPart['part'], bytes: number, basis: string): VerdictPart => ({
      part: name,
      bytes,
      share: rss === 0 ? 0 : bytes / rss,
      basis,
    });
    split = [
      ...(input.node ? [part('js-heap', js, "V8's total_physical_size (agent): the JS heap's resident pages")] : []),
      part(
        'glibc-in-use',
        inUseResident,
        'resident glibc heap bytes not counted as free, plus the resident mmapped chunks (outside)',
      ),
      part(
        'glibc-free-resident',
        freeResident,
        `resident glibc heap bytes (${formatBytes(heaps)}, outside) less the bytes malloc_info counts in use (${formatBytes(inUse)}), at most the free bytes (${formatBytes(free)}): a lower bound, as in-use blocks never written are not resident`,
      ),
      part('thread-stacks', stacks, 'the thread-stacks class (outside)'),
      part('code-and-files', code, 'code-and-files and jit-code classes (outside)'),
      part('other', other, 'the rest of RSS: other anonymous and shared mappings'),
    ];

    const arenas = agent.arenas;
    const threadArenas = arenas.filter((arena) => !arena.main);
    // Free memory only costs RSS while resident: per arena, at least resident less in use (outside's
    // residency, the agent's counts), at most its free bytes. Where heap_info did not match arenas to
    // heaps, the free bytes stand (an upper bound) and the text says so.
    const residentFree = (index: number, freeBytes: number): number => {
      const listed = glibc?.arenas.list.find((arena) => arena.index === index);
      if (listed?.systemBytes == null || listed.freeBytes === null) return freeBytes;
      return Math.min(freeBytes, Math.max(0, listed.residentBytes - (listed.systemBytes - listed.freeBytes)));
    };
    const measuredPerArena = glibc?.arenas.list.some((arena) => !arena.main && arena.freeBytes !== null) ?? false;
    const keptWord = measuredPerArena ? 'free and resident' : 'free';
    const threadFree = threadArenas.reduce((sum, arena) => sum + residentFree(arena.index, arena.freeBytes), 0);
    // What matters: at least 1 MiB, a quarter of what glibc keeps resident, and 5 % of RSS.
    const matters = (bytes: number) => bytes >= Math.max(MiB, 0.25 * freeResident, 0.05 * rss);
    const proliferation = threadArenas.length >= 2 && matters(threadFree);
    mechanisms.push({
      id: 'arena-proliferation',
      holds: proliferation,
      because: proliferation
        ? `${threadArenas.length} thread arenas hold ${formatBytes(threadFree)} ${keptWord} (${percent(threadFree, freeResident)} of what glibc keeps resident): each new thread's first malloc gets an arena of its own until there are ${glibc?.cap.value ?? '8 × CPUs'} (the cap), and freed memory stays in the arena it came from`
        : threadArenas.length < 2
          ? `${threadArenas.length} thread arena${threadArenas.length === 1 ? '' : 's'}: too few to matter`
          : `${threadArenas.length} thread arenas hold ${formatBytes(threadFree)} ${keptWord}: ${threadFree >= Math.max(MiB, 0.05 * rss) ? `less than a quarter of the ${formatBytes(freeResident)} glibc keeps resident` : 'too little to matter'}`,
      figures: { threadArenas: threadArenas.length, threadArenaFreeResidentBytes: threadFree, freeBytes: free },
    });
    if (proliferation) {
      // The ring lists the newest arena first: a cap of 2 keeps the oldest thread arena only.
      const oldest = Math.max(...threadArenas.map((arena) => arena.index));
      const avoided = threadArenas.filter((arena) => arena.index !== oldest);
      const avoidedFree = avoided.reduce((sum, arena) => sum + residentFree(arena.index, arena.freeBytes), 0);
      recommendations.push({
        action: 'MALLOC_ARENA_MAX=2',
        expectedBytes: avoidedFree,
        text: `arenas ${ranges(avoided.map((arena) => arena.index))} hold ${formatBytes(avoidedFree)} ${keptWord}; a cap of 2 (MALLOC_ARENA_MAX=2 at start-up) would have kept them from being made, their threads sharing the main arena and arena ${oldest} (more lock contention on malloc)`,
      });
    }

    const main = arenas.find((arena) => arena.main);
    if (main !== undefined) {
      const below = main.freeBytes - main.topBytes;
      const mainKept = residentFree(0, main.freeBytes);
      const fragmented = matters(mainKept) && main.topBytes < 0.25 * main.freeBytes;
      mechanisms.push({
        id: 'main-heap-fragmentation',
        holds: fragmented,
        because: fragmented
          ? `the main heap has ${formatBytes(main.freeBytes)} free of ${formatBytes(main.systemBytes)} (${formatBytes(mainKept)} of it resident), but only ${formatBytes(main.topBytes)} in the top chunk: ${formatBytes(below)} is in free chunks pinned below live ones, which free() cannot hand back (it only trims the top)`
          : !matters(mainKept)
            ? `the main heap has ${formatBytes(main.freeBytes)} free of ${formatBytes(main.systemBytes)}, ${formatBytes(mainKept)} of it resident: ${mainKept >= Math.max(MiB, 0.05 * rss) ? `less than a quarter of the ${formatBytes(freeResident)} glibc keeps resident` : 'too little to matter'}`
            : `most of the main heap's ${formatBytes(main.freeBytes)} free is its top chunk (${formatBytes(main.topBytes)}), which trimming releases`,
        figures: {
          freeBytes: main.freeBytes,
          topBytes: main.topBytes,
          systemBytes: main.systemBytes,
          pinnedBytes: below,
          freeResidentBytes: mainKept,
        },
      });
    }

    // Per arena where heap_info matched arenas to heaps; else for all the heaps together.
    const listed = glibc?.arenas.list.filter((arena) => arena.trimmableBytes !== null) ?? [];
    const trimmable =
      listed.length > 0
        ? listed.reduce((sum, arena) => sum + arena.trimmableBytes!, 0)
        : Math.min(
            arenas.reduce((sum, arena) => sum + arena.trimmableBytes, 0),
            Math.max(0, heaps - inUse),
          );
    if (trimmable > 0) {
      recommendations.unshift({
        action: 'malloc_trim(0)',
        expectedBytes: trimmable,
        text: `malloc_trim(0) can give back about ${formatBytes(trimmable)} (the free memory in whole pages still resident, in all arenas): \`malloc-lab trim <pid>\` runs it through the agent`,
      });
    }

    const glibcResident = heaps + chunks;
    const growth = glibcResident > 0 && inUseResident >= 0.75 * glibcResident;
    const jsDominant = input.node && js >= 0.5 * rss;
    mechanisms.push({
      id: 'real-growth',
      holds: growth || jsDominant,
      because: jsDominant
        ? `the JS heap is ${percent(js, rss)} of RSS (${formatBytes(js)}): objects still referenced; a heap snapshot shows which`
        : growth
          ? `${percent(inUseResident, glibcResident)} of glibc's resident memory is in use (${formatBytes(inUseResident)}): the program holds it; no trim or setting gives it back`
          : `only ${percent(inUseResident, glibcResident)} of glibc's resident memory is in use: what grows is kept free memory, not live data`,
      figures: { inUseResidentBytes: inUseResident, glibcResidentBytes: glibcResident, jsHeapBytes: js },
    });

    const largest = [...split].sort((a, b) => b.bytes - a.bytes)[0]!;
    const holding = mechanisms.filter((mechanism) => mechanism.holds === true).map((mechanism) => mechanism.id);
    summary =
      `RSS ${formatBytes(rss)}: the largest part is ${largest.part} (${formatBytes(largest.bytes)}, ${percent(largest.bytes, rss)}); ` +
      `glibc keeps ${formatBytes(freeResident)} free but resident` +
      (holding.length > 0 ? `; the numbers show ${holding.join(', ')}` : '; no retention mechanism stands out') +
      (trimmable > 0 ? `; malloc_trim(0) can give back about ${formatBytes(trimmable)}` : '');
  } else {
    const arenaCount = glibc?.arenas.count ?? null;
    if (input.allocator === 'glibc') {
      mechanisms.push({
        id: 'arena-proliferation',
        holds: arenaCount !== null && arenaCount <= 2 ? false : null,
        because:
          arenaCount !== null && arenaCount <= 2
            ? `${arenaCount} arena${arenaCount === 1 ? '' : 's'}: too few to matter`
            : `${arenaCount ?? 'several'} arenas hold ${formatBytes(arenaHeaps)} resident in their heaps; how much of it is free needs the agent`,
        figures: { arenas: arenaCount ?? 0, arenaHeapsResidentBytes: arenaHeaps },
      });
      const mainArena = glibc?.arenas.list.find((arena) => arena.main);
      mechanisms.push({
        id: 'main-heap-fragmentation',
        holds: null,
        because:
          `the main heap holds ${formatBytes(mainHeap)} resident` +
          (mainArena?.topBytes != null
            ? ` with a ${formatBytes(mainArena.topBytes)} top chunk (read from outside)`
            : '') +
          '; the free chunks below live ones are only listed by malloc_info, inside the process: it needs the agent',
        figures: {
          mainHeapResidentBytes: mainHeap,
          ...(mainArena?.topBytes != null ? { topBytes: mainArena.topBytes } : {}),
        },
      });
      cannotKnow.push(
        `how much of the glibc heaps' ${formatBytes(heaps)} resident is free (retained) and how much is in use: add \`${AGENT_IMPORT_LINE}\` to the service`,
      );
    }
    if (input.node) cannotKnow.push("the JS heap's size: V8 reports it to the agent");
    if (agent !== null && !agent.answered)
      cannotKnow.push(`the agent did not answer: ${agent.error?.message ?? 'no reason given'}`);
    summary =
      `RSS ${formatBytes(rss)}: glibc's heaps hold ${formatBytes(heaps)} resident (${percent(heaps, rss)})` +
      (glibc?.arenas.count != null ? ` in ${glibc.arenas.count} arena${glibc.arenas.count === 1 ? '' : 's'}` : '') +
      `, mmapped chunks and other large mappings ${formatBytes(classBytes(classes, 'anonymous-mmap'))}, stacks ${formatBytes(stacks)}, code and files ${formatBytes(code)}` +
      (input.allocator === 'glibc' ? '; how much of the heaps is free needs the agent' : '');
  }
  return { view, summary, split, mechanisms, recommendations, cannotKnow };
}
