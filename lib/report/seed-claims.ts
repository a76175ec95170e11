/**
 * The seed-claims catalogue as text, seed by seed: each sentence (with its
 * translation), then the experiment claims that judge it, or why nothing here can.
 */
import { claimsOfSeed, isJudged, SEED_CLAIMS, SEED_IDS, type SeedClaim } from '../experiments/claims/index.js';

/** What one seed's sentences come to: how many, how many judged. */
export function seedSummary(claims: SeedClaim[]): { sentences: number; judged: number; notJudgeable: number } {
  const judged = claims.filter(isJudged).length;
  return { sentences: claims.length, judged, notJudgeable: claims.length - judged };
}

/** `experiment/claim`, marked when the claim states the sentence's opposite or a limit to it. */
export function referenceText(reference: { experiment: string; claim: string; negates?: true }): string {
  return `${reference.experiment}/${reference.claim}${reference.negates ? ' (states the opposite)' : ''}`;
}

export function renderSeedClaims(claims: SeedClaim[] = SEED_CLAIMS): string {
  const lines: string[] = [];
  for (const seed of SEED_IDS) {
    const ofSeed = claimsOfSeed(seed, claims);
    if (ofSeed.length === 0) continue;
    const { sentences, judged, notJudgeable } = seedSummary(ofSeed);
    lines.push(`seed ${seed} — ${sentences} sentences: ${judged} judged, ${notJudgeable} not judgeable here`);
    for (const entry of ofSeed) {
      lines.push(`  line ${entry.lines.join(',')}: ${entry.text}`);
      if (entry.english !== undefined) lines.push(`    "${entry.english}"`);
      if (entry.note !== undefined) lines.push(`    note: ${entry.note}`);
      if (isJudged(entry)) {
        for (const reference of entry.judgedBy) lines.push(`    → ${referenceText(reference)}`);
      } else {
        lines.push(`    ✗ not judgeable here: ${entry.notJudgeable.why}`);
        lines.push(`      it would take: ${entry.notJudgeable.needs}`);
      }
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}
