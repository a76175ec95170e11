/**
 * Judging a child that glibc is expected to abort (heap corruption, the debugging
 * malloc's checks, misuse of stack memory): the signal, the step it died in, and
 * glibc's own message from its stderr.
 */
import { run, verdict } from './observe.js';
import type { ClaimContext, Judgement } from './types.js';

/**
 * glibc's malloc messages ("free(): invalid pointer", "munmap_chunk(): invalid pointer",
 * "double free or corruption (out)", "corrupted size vs. prev_size") and mcheck's
 * ("memory clobbered past end of allocated block").
 */
const GLIBC_MESSAGE = /\w+\(\): |double free|corrupt|memory clobbered|block freed twice/;

/** glibc's message: the line of stderr that names the error. */
export function glibcMessage(stderr: string): string | undefined {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .find((line) => GLIBC_MESSAGE.test(line));
}

/** The step the process ended in: the first one without a snapshot. */
export function endedIn(c: ClaimContext, variant: string): string {
  return run(c, variant).steps.find((step) => step.sample === undefined)?.label ?? '(after the last step)';
}

/**
 * Confirmed when the child died of SIGABRT with glibc's message in the step
 * `misuse`; refuted when it survived it. explain adds what the numbers say (and
 * gets glibc's message, when there was one).
 */
export function judgeAbort(
  c: ClaimContext,
  variant: string,
  misuse: string,
  explain: (aborted: boolean, message: string | undefined) => string,
): Judgement {
  const child = run(c, variant);
  const message = glibcMessage(child.stderr);
  const misuseStep = child.steps.find((step) => step.label === misuse);
  const diedThere = misuseStep !== undefined && misuseStep.sample === undefined;
  const aborted = child.signal === 'SIGABRT' && message !== undefined && diedThere;
  const ending =
    child.signal !== null
      ? `the child died of ${child.signal} in "${endedIn(c, variant)}"${message === undefined ? '' : ` with glibc's message "${message}"`}`
      : `the child survived "${misuse}" and exited with code ${child.exitCode}${child.stderr.trim() === '' ? '' : ` (stderr: "${child.stderr.trim()}")`}`;
  return verdict(aborted, `${ending}. ${explain(aborted, message)}`);
}
