/**
 * `malloc-lab compare … --html FILE` and `malloc-lab report compare.json --html FILE`:
 * a comparison as a page in the same frame as the runs: what ran where, the verdict,
 * one row per configuration, the chart, and every run's raw numbers.
 */
import { type CompareResult, isCompareResult } from '../../compare/types.js';
import { formatBytes } from '../../infra/units.js';
import { typeError } from '../../infra/validate.js';
import { representativeRun, renderCompareSvg } from '../compare-svg.js';
import { bestSentence, how, seconds, STATUS, summaryCells, summaryHeader } from '../compare-table.js';
import { escapeHtml, facts, figure, renderPage, table } from './page.js';

const num = (text: string) => `<span class="num">${escapeHtml(text)}</span>`;
const bytes = (value: number | null | undefined) => (value === null || value === undefined ? '—' : formatBytes(value));

function summaryTable(result: CompareResult): string {
  return table(
    'Medians per configuration',
    summaryHeader(result).map(escapeHtml),
    result.summary.map((summary) =>
      summaryCells(result, summary).map((cell, column) => (column < 2 ? escapeHtml(cell) : num(cell))),
    ),
  );
}

function describeChart(result: CompareResult): string {
  const lines = result.summary
    .map((summary) => {
      const run = representativeRun(result, summary.configuration);
      if (run === undefined || run.rss === null)
        return `${summary.configuration}: not drawn (${STATUS[summary.status]}).`;
      return `${summary.configuration}: RSS peak ${formatBytes(run.rss.peak)}, final ${formatBytes(run.rss.final)} after ${seconds(run.wallMs)}.`;
    })
    .join(' ');
  return `RSS and RssAnon over time, one line per configuration (its run with the median final RSS). ${lines}`;
}

function runsTable(result: CompareResult): string {
  return table(
    'Every run, in the order they ran',
    ['run', 'ended', 'wall', 'CPU', 'peak RSS', 'final RSS', 'peak RssAnon', 'applied'],
    result.runs.map((run) => [
      escapeHtml(`${run.configuration} #${run.repeat + 1}`),
      escapeHtml(run.exit.description),
      num(seconds(run.wallMs)),
      num(seconds(run.cpu?.totalMs)),
      num(bytes(run.rss?.peak)),
      num(bytes(run.rss?.final)),
      num(bytes(run.rssAnon?.peak)),
      escapeHtml(`${run.verification.verdict}: ${run.verification.summary}`),
    ]),
  );
}

export function renderCompareHtml(result: CompareResult): string {
  if (!isCompareResult(result))
    throw typeError('renderCompareHtml', 'result', 'the result of compareAllocators() or compare --json', result);
  const environment = facts([
    ['command', result.command.join(' ')],
    ['executable', result.executable],
    ['how', how(result)],
    [
      'machine',
      `kernel ${result.machine.kernel}, glibc ${result.machine.glibc ?? 'unknown'}, ${result.machine.cpus} CPUs, Node ${result.machine.node}`,
    ],
    ['ran', `${result.startedAt} to ${result.finishedAt}`],
  ]);
  const notes = result.summary
    .filter((summary) => summary.note !== null)
    .map((summary) => `${summary.configuration}: ${STATUS[summary.status]}: ${summary.note}`);
  const problems = result.runs.flatMap((run) =>
    run.problems.map((problem) => `${run.configuration} #${run.repeat + 1}: ${problem}`),
  );
  const sections = [
    { id: 'environment', title: 'What ran', html: environment },
    {
      id: 'verdict',
      title: 'Verdict',
      html: `<p>${escapeHtml(bestSentence(result))}</p>${result.interrupted ? '<p class="note">Interrupted: later runs did not happen.</p>' : ''}${summaryTable(result)}`,
    },
    {
      id: 'chart',
      title: 'RSS over time',
      html: figure(renderCompareSvg(result), {
        id: 'compare-chart',
        title: 'RSS over time per configuration',
        description: describeChart(result),
      }),
    },
    { id: 'runs', title: 'Raw numbers', html: runsTable(result) },
  ];
  if (notes.length + problems.length > 0)
    sections.push({
      id: 'notes',
      title: 'Notes',
      html: `<ul>${[...notes, ...problems].map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`,
    });
  return renderPage({
    title: `malloc-lab compare: ${result.command.join(' ')}`,
    lede: bestSentence(result),
    sections,
  });
}
