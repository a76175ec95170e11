/**
 * The shape of the seed-claims catalogue: each checkable sentence of a seed, in the
 * seed's words, and what judges it — experiment claims, or the reason nothing here can.
 */

export const SEED_IDS = ['000', '001', '002', '003', '004'] as const;
export type SeedId = (typeof SEED_IDS)[number];

/** An experiment claim that judges (part of) a seed sentence. */
export interface ClaimReference {
  experiment: string;
  claim: string;
  /**
   * The experiment claim states the opposite of the sentence or a limit to it (the
   * sentence says "never", the claim shows when it happens): its `confirmed` counts
   * against the sentence.
   */
  negates?: true;
}

interface SeedSentence {
  seed: SeedId;
  /** Lines of the seed file the sentence spans (1-based). */
  lines: number[];
  /** The seed's own words; `…` marks words left out (a link, a list marker, an aside). */
  text: string;
  /** An English translation, where the seed's words are not English. */
  english?: string;
  /** Which part is judged how, where that is not plain from the references. */
  note?: string;
}

export interface JudgedSeedClaim extends SeedSentence {
  judgedBy: ClaimReference[];
}

export interface UnjudgedSeedClaim extends SeedSentence {
  notJudgeable: {
    /** Why no experiment here can judge it. */
    why: string;
    /** What judging it would take. */
    needs: string;
  };
}

export type SeedClaim = JudgedSeedClaim | UnjudgedSeedClaim;

/** An experiment claim that is not a seed sentence (malloc-lab's own, explaining a result). */
export interface OwnClaim {
  experiment: string;
  claim: string;
  /** Why the experiment states it. */
  why: string;
}

export function isJudged(claim: SeedClaim): claim is JudgedSeedClaim {
  return 'judgedBy' in claim;
}
