/**
 * The seed-claims catalogue: every checkable sentence of the seeds about malloc, the
 * heap, the break, residency and the allocators, in the seed's words (translated
 * where the seed is Chinese), with the experiment claims that judge it or the reason
 * none here can. `malloc-lab list --claims` prints it; seedClaimProblems() is what
 * the test holds it to.
 */
import { typeError } from '../../infra/validate.js';
import type { ExperimentDefinition } from '../framework/types.js';
import { OWN_CLAIMS } from './own.js';
import { SEED_000 } from './seed-000.js';
import { SEED_001 } from './seed-001.js';
import { SEED_002 } from './seed-002.js';
import { SEED_003 } from './seed-003.js';
import { SEED_004 } from './seed-004.js';
import { isJudged, type SeedClaim, type SeedId } from './types.js';

export { OWN_CLAIMS } from './own.js';
export * from './types.js';

export const SEED_CLAIMS: SeedClaim[] = [...SEED_000, ...SEED_001, ...SEED_002, ...SEED_003, ...SEED_004];

/** Characters of a script other than Latin: a sentence with them needs an English translation. */
const NOT_ENGLISH = /[\u3000-\u9fff\uff00-\uffef]/;

const key = (experiment: string, claim: string) => `${experiment}/${claim}`;

/**
 * What is wrong with the catalogue against these experiments: references to claims
 * that do not exist, experiment claims no seed sentence and no own-claim entry
 * accounts for, and non-English sentences without a translation. Empty when sound.
 */
export function seedClaimProblems(
  experiments: ExperimentDefinition[],
  claims: SeedClaim[] = SEED_CLAIMS,
  own = OWN_CLAIMS,
): string[] {
  if (!Array.isArray(experiments)) {
    throw typeError('seedClaimProblems', 'experiments', 'an array of experiment definitions (CATALOGUE)', experiments);
  }
  const problems: string[] = [];
  const existing = new Set(experiments.flatMap((e) => e.claims.map((c) => key(e.id, c.id))));
  const cited = new Set<string>();
  for (const entry of claims) {
    const where = `seed ${entry.seed} line ${entry.lines.join(',')} ("${entry.text.slice(0, 40)}…")`;
    if (NOT_ENGLISH.test(entry.text) && entry.english === undefined)
      problems.push(`${where} has no English translation`);
    if (!isJudged(entry)) continue;
    if (entry.judgedBy.length === 0) problems.push(`${where} names no claim and no reason`);
    for (const reference of entry.judgedBy) {
      const name = key(reference.experiment, reference.claim);
      cited.add(name);
      if (!existing.has(name)) problems.push(`${where} points at ${name}, which does not exist`);
    }
  }
  for (const entry of own) {
    const name = key(entry.experiment, entry.claim);
    if (!existing.has(name)) problems.push(`own claim ${name} does not exist`);
    if (cited.has(name)) problems.push(`own claim ${name} is also cited by a seed sentence`);
    cited.add(name);
  }
  for (const name of existing) {
    if (!cited.has(name)) problems.push(`${name} judges no seed sentence and is not listed as malloc-lab's own`);
  }
  return problems;
}

/** The sentences of one seed, in file order. */
export function claimsOfSeed(seed: SeedId, claims: SeedClaim[] = SEED_CLAIMS): SeedClaim[] {
  return claims.filter((entry) => entry.seed === seed).sort((a, b) => a.lines[0]! - b.lines[0]!);
}
