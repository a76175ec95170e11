// The seed-claims catalogue: every entry points at a claim an experiment really judges (or
// says why none can), every experiment claim answers to a seed sentence or is listed as
// malloc-lab's own, and `malloc-lab list --claims` prints the map.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { CATALOGUE } from '../lib/experiments/catalogue/index.js';
import {
  isJudged,
  OWN_CLAIMS,
  SEED_CLAIMS,
  SEED_IDS,
  seedClaimProblems,
  type SeedClaim,
} from '../lib/experiments/claims/index.js';
import type { ExperimentDefinition } from '../lib/experiments/framework/types.js';
import { root } from './fixtures/cli-harness.js';

describe('the seed-claims catalogue', () => {
  it('has no dangling reference, no unaccounted experiment claim, no untranslated sentence', () => {
    expect(seedClaimProblems(CATALOGUE)).toEqual([]);
  });

  it('fails on a reference to a claim that does not exist', () => {
    const dangling: SeedClaim = {
      seed: '004',
      lines: [22],
      text: 'Sbrk(1) increases the heap by 1 page.',
      judgedBy: [{ experiment: 'break-and-alignment', claim: 'no-such-claim' }],
    };
    expect(seedClaimProblems(CATALOGUE, [...SEED_CLAIMS, dangling])).toEqual([
      expect.stringContaining('points at break-and-alignment/no-such-claim, which does not exist'),
    ]);
  });

  it('fails on an experiment claim that no seed sentence cites and that is not listed as its own', () => {
    const extra: ExperimentDefinition = {
      ...CATALOGUE[0]!,
      id: 'extra',
      claims: [
        { id: 'uncited', claim: 'A sentence from nowhere.', judge: () => ({ verdict: 'confirmed', evidence: '' }) },
      ],
    };
    expect(seedClaimProblems([...CATALOGUE, extra])).toEqual([
      "extra/uncited judges no seed sentence and is not listed as malloc-lab's own",
    ]);
  });

  it('fails on a Chinese sentence without a translation', () => {
    const untranslated: SeedClaim = {
      seed: '000',
      lines: [110],
      text: '程序中可以使用mallopt(M_ARENA_MAX, 4)修改',
      judgedBy: [{ experiment: 'thread-arenas', claim: 'arena-max-agree' }],
    };
    expect(seedClaimProblems(CATALOGUE, [untranslated])).toContainEqual(
      expect.stringContaining('has no English translation'),
    );
  });

  it('covers every seed, with reasons and needs wherever a sentence cannot be judged here', () => {
    for (const seed of SEED_IDS)
      expect(SEED_CLAIMS.filter((entry) => entry.seed === seed).length, seed).toBeGreaterThan(5);
    for (const entry of SEED_CLAIMS) {
      expect(entry.lines.length).toBeGreaterThan(0);
      expect(entry.lines.every((line, i) => line > 0 && (i === 0 || line > entry.lines[i - 1]!))).toBe(true);
      if (!isJudged(entry)) {
        expect(entry.notJudgeable.why.length).toBeGreaterThan(20);
        expect(entry.notJudgeable.needs.length).toBeGreaterThan(10);
      }
    }
    for (const own of OWN_CLAIMS) expect(own.why.length).toBeGreaterThan(20);
  });

  it('cites every claim of the experiments this issue added', () => {
    const cited = new Set(SEED_CLAIMS.filter(isJudged).flatMap((entry) => entry.judgedBy.map((r) => r.experiment)));
    for (const id of [
      'malloc-debug',
      'alloca-stack',
      'process-limits',
      'exit-and-fork',
      'break-and-alignment',
      'malloc-hooks',
      'arena-test',
    ]) {
      expect(cited.has(id), id).toBe(true);
    }
  });
});

describe('malloc-lab list --claims', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'list', ...args], { encoding: 'utf8' });

  it('prints each seed with its count, each sentence with what judges it or why nothing can', () => {
    const { status, stdout } = cli('--claims');
    expect(status).toBe(0);
    for (const seed of SEED_IDS) {
      const count = SEED_CLAIMS.filter((entry) => entry.seed === seed).length;
      expect(stdout).toMatch(
        new RegExp(`^seed ${seed} — ${count} sentences: \\d+ judged, \\d+ not judgeable here$`, 'm'),
      );
    }
    expect(stdout).toContain('Sbrk(1) increases the heap by 1 page.\n    → break-and-alignment/sbrk-one-page');
    expect(stdout).toContain('"In a program it can be changed with mallopt(M_ARENA_MAX, 4)."');
    expect(stdout).toContain('✗ not judgeable here: this machine runs 64-bit processes only');
  });

  it('--claims --json prints the catalogue itself', () => {
    const { status, stdout } = cli('--claims', '--json');
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(SEED_CLAIMS)));
  });

  it('refuses an unknown argument with a usage error', () => {
    const { status, stderr } = cli('--claim');
    expect(status).toBe(2);
    expect(stderr).toContain('unknown argument "--claim"');
  });
});
