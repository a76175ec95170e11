/**
 * Which malloc-lab result a parsed JSON value is (run --json, explain --json,
 * compare --json), and its page or its text: what `malloc-lab report` renders.
 */
import { isCompareResult, type CompareResult } from '../../compare/types.js';
import type { ExperimentRun } from '../../experiments/framework/runner.js';
import { ErrorCodes, MallocLabError } from '../../infra/errors.js';
import type { ExplainReport } from '../../process/explain/types.js';
import { renderCompareTable } from '../compare-table.js';
import { renderExplainText } from '../explain-text.js';
import { byExperiment, renderRunSummary } from '../run-summary.js';
import type { Palette } from '../terminal.js';
import { renderExperiment } from '../text.js';
import { renderCompareHtml } from './compare.js';
import { renderExplainHtml } from './explain.js';
import { renderRunsHtml } from './runs.js';

export type ResultKind =
  | { kind: 'runs'; runs: ExperimentRun[] }
  | { kind: 'explain'; report: ExplainReport }
  | { kind: 'compare'; result: CompareResult };

function isRun(value: unknown): value is ExperimentRun {
  const run = value as ExperimentRun | null;
  return (
    run !== null &&
    typeof run === 'object' &&
    typeof run.experiment === 'string' &&
    typeof run.host === 'string' &&
    Array.isArray(run.claims) &&
    Array.isArray(run.steps)
  );
}

function isExplain(value: unknown): value is ExplainReport {
  const report = value as ExplainReport | null;
  return (
    report !== null &&
    typeof report === 'object' &&
    typeof report.pid === 'number' &&
    Array.isArray(report.classes) &&
    typeof report.verdict === 'object' &&
    report.verdict !== null
  );
}

/** The kind of result value is; a MallocLabError (ERR_INVALID_ARG_TYPE) naming what it is not otherwise. */
export function resultKind(value: unknown, what = 'the input'): ResultKind {
  if (Array.isArray(value) && value.length > 0 && value.every(isRun)) return { kind: 'runs', runs: value };
  if (isCompareResult(value)) return { kind: 'compare', result: value };
  if (isExplain(value)) return { kind: 'explain', report: value };
  throw new MallocLabError(
    `${what} is none of malloc-lab's results: expected the JSON of run --json (a non-empty array of runs), explain --json or compare --json`,
    ErrorCodes.INVALID_ARG_TYPE,
  );
}

/** The result's page. */
export function renderResultHtml(result: ResultKind): string {
  if (result.kind === 'runs') return renderRunsHtml(result.runs);
  if (result.kind === 'explain') return renderExplainHtml(result.report);
  return renderCompareHtml(result.result);
}

/** The result as the command that made it prints it. */
export function renderResultText(
  result: ResultKind,
  options: { width?: number | undefined; colours?: Palette } = {},
): string {
  if (result.kind === 'explain') return renderExplainText(result.report, options);
  if (result.kind === 'compare') return renderCompareTable(result.result, options);
  return [
    ...byExperiment(result.runs).map((group) => `${renderExperiment(group, options)}\n`),
    renderRunSummary(result.runs, options),
  ].join('\n');
}
