/**
 * Repetitions of one experiment in one world, combined: each claim's verdict with
 * its count ("confirmed 5/5"), and for a verdict that differed between runs, what
 * differed, read from the evidence each run computed from its own numbers.
 */
import type { ExperimentRun } from './runner.js';
import type { ClaimResult, Verdict, VerdictCounts } from './types.js';

const VERDICTS: Verdict[] = ['confirmed', 'refuted', 'inconclusive'];

/** "confirmed 4/5, refuted 1/5". */
export function countsText(counts: VerdictCounts, of: number): string {
  return VERDICTS.filter((verdict) => (counts[verdict] ?? 0) > 0)
    .map((verdict) => `${verdict} ${counts[verdict]}/${of}`)
    .join(', ');
}

/** Words with the numbers in them; a difference shows as the words around it. */
function tokens(text: string): string[] {
  return text.split(/\s+/).filter((token) => token !== '');
}

/**
 * Where two pieces of evidence differ: the runs of words that are not common to
 * both (longest common subsequence), with a word of context either side.
 */
export function differences(a: string, b: string, limit = 3): { a: string; b: string }[] {
  const x = tokens(a);
  const y = tokens(b);
  // lengths[i][j]: the common subsequence of x[i..] and y[j..].
  const lengths = Array.from({ length: x.length + 1 }, () => new Uint16Array(y.length + 1));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lengths[i]![j] = x[i] === y[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
    }
  }
  const found: { a: string; b: string }[] = [];
  let i = 0;
  let j = 0;
  while ((i < x.length || j < y.length) && found.length < limit) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      i++;
      j++;
      continue;
    }
    const [fromI, fromJ] = [i, j];
    while ((i < x.length || j < y.length) && !(i < x.length && j < y.length && x[i] === y[j])) {
      if (j >= y.length || (i < x.length && lengths[i + 1]![j]! >= lengths[i]![j + 1]!)) i++;
      else j++;
    }
    const before = fromI > 0 ? `${x[fromI - 1]} ` : '';
    const after = i < x.length ? ` ${x[i]}` : '';
    const afterB = j < y.length ? ` ${y[j]}` : '';
    const beforeB = fromJ > 0 ? `${y[fromJ - 1]} ` : '';
    found.push({
      a: `${before}${x.slice(fromI, i).join(' ')}${after}`.trim(),
      b: `${beforeB}${y.slice(fromJ, j).join(' ')}${afterB}`.trim(),
    });
  }
  return found;
}

const quote = (text: string) => `«${text.length > 120 ? `${text.slice(0, 117)}…` : text}»`;

/** What differed between repetitions of one claim, with each verdict's count. */
export function instability(results: ClaimResult[]): string | undefined {
  const byVerdict = new Map<Verdict, ClaimResult>();
  for (const result of results) if (!byVerdict.has(result.verdict)) byVerdict.set(result.verdict, result);
  if (byVerdict.size < 2) return undefined;
  const [first, ...others] = [...byVerdict.values()];
  const parts = others.map((other) => {
    const found = differences(first!.evidence, other.evidence);
    return found.length === 0
      ? `${first!.verdict} and ${other.verdict} with the same evidence`
      : found.map((pair) => `${first!.verdict}: ${quote(pair.a)}, ${other.verdict}: ${quote(pair.b)}`).join('; ');
  });
  return `the verdict depends on the heap's state (${countsText(countsOf(results), results.length)}); where the runs differed — ${parts.join('; ')}`;
}

function countsOf(results: ClaimResult[]): VerdictCounts {
  const counts: VerdictCounts = {};
  for (const result of results) counts[result.verdict] = (counts[result.verdict] ?? 0) + 1;
  return counts;
}

/** The verdict most runs gave (ties: the one the earliest run gave). */
function mostFrequent(results: ClaimResult[], counts: VerdictCounts): Verdict {
  const best = Math.max(...Object.values(counts));
  return results.find((result) => counts[result.verdict] === best)!.verdict;
}

/**
 * Repetitions of one experiment in one world as one run: the first repetition's
 * steps and variants (restarts of all), each claim's verdict with its counts.
 */
export function combineRepetitions(runs: ExperimentRun[]): ExperimentRun {
  const [first] = runs;
  if (first === undefined) throw new Error('combineRepetitions: no runs');
  if (runs.length === 1) return first;
  const claims = first.claims.map((claim) => {
    const results = runs.map((each) => each.claims.find((candidate) => candidate.id === claim.id) ?? claim);
    const counts = countsOf(results);
    const verdict = mostFrequent(results, counts);
    const chosen = results.find((result) => result.verdict === verdict)!;
    const unstable = instability(results);
    return {
      ...chosen,
      counts,
      of: results.length,
      ...(unstable === undefined ? {} : { unstable }),
    };
  });
  const variants = first.variants.map((variant) => {
    const restarts = runs.flatMap(
      (each) => each.variants.find((candidate) => candidate.name === variant.name)?.restarts ?? [],
    );
    const rest = { ...variant };
    delete rest.restarts;
    return restarts.length > 0 ? { ...rest, restarts } : rest;
  });
  return {
    ...first,
    repeat: runs.length,
    variants,
    claims,
    durationMs: runs.reduce((sum, each) => sum + each.durationMs, 0),
  };
}
