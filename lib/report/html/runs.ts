/**
 * `malloc-lab run … --html FILE` and `malloc-lab report runs.json --html FILE`: the
 * runs as one page. The environment, the verdict matrix (a cell per claim and
 * world), then per experiment its step charts (RssAnon, VmSize, the break; every
 * world in each), its claims with their evidence, and the raw numbers.
 */
import type { ExperimentRun, StepRecord } from '../../experiments/framework/runner.js';
import type { ClaimResult, Verdict } from '../../experiments/framework/types.js';
import { formatBytes } from '../../infra/units.js';
import { typeError } from '../../infra/validate.js';
import { byExperiment, countsText, verdictCounts, worldOf, worldsOf } from '../run-summary.js';
import { svgDocument } from '../svg-toolkit.js';
import { drawPanel, MEASURES, panelHeightFor, styleOf, variantSeries, type Series, worldMarker } from '../svg.js';
import { stoppedText } from '../text.js';
import { anchor, escapeHtml, facts, figure, renderPage, table, verdictBadge } from './page.js';

const PANEL_WIDTH = 440;

/** A claim's verdict with its count where the run repeated ("3/5"). */
function countOf(result: ClaimResult): string {
  const repeated = result as ClaimResult & { of?: number; counts?: Partial<Record<Verdict, number>> };
  return repeated.of !== undefined && repeated.of > 1
    ? ` ${repeated.counts?.[result.verdict] ?? '?'}/${repeated.of}`
    : '';
}

function environment(runs: ExperimentRun[]): string {
  const unique = (values: string[]) => [...new Set(values)].join(', ');
  const envs = unique(
    runs.map((run) =>
      Object.entries(run.env)
        .map(([key, value]) => `${key}=${value}`)
        .join(' '),
    ),
  );
  const experiments = byExperiment(runs).length;
  const seconds = runs.reduce((sum, run) => sum + run.durationMs, 0) / 1000;
  return facts([
    ['glibc', unique(runs.map((run) => run.glibc))],
    ['kernel', unique(runs.map((run) => run.kernel))],
    ['allocator', unique(runs.map((run) => run.allocator))],
    ['environment', envs.trim() === '' ? "none set: glibc's defaults" : envs],
    [
      'worlds',
      worldsOf(runs)
        .map((world) => `${world} (${styleOf(world).what})`)
        .join(', '),
    ],
    [
      'runs',
      `${runs.length} (${experiments} experiment${experiments === 1 ? '' : 's'}), ${seconds.toFixed(1)} s of runs`,
    ],
  ]);
}

function matrix(runs: ExperimentRun[]): string {
  const worlds = worldsOf(runs);
  const rows: string[] = [];
  for (const group of byExperiment(runs)) {
    const first = group[0]!;
    rows.push(
      `<tr class="group"><th scope="rowgroup" colspan="${worlds.length + 1}" class="experiment">` +
        `<a href="#${anchor('x', first.experiment, first.allocator)}">${escapeHtml(first.experiment)}</a></th></tr>`,
    );
    const ids = [...new Set(group.flatMap((run) => run.claims.map((claim) => claim.id)))];
    for (const id of ids) {
      const verdicts: Verdict[] = [];
      const cells = worlds.map((world) => {
        const run = group.find((candidate) => worldOf(candidate) === world);
        if (run === undefined) return '<td class="none">—</td>';
        if (run.skipped !== undefined) return `<td class="none" title="${escapeHtml(run.skipped)}">skipped</td>`;
        const result = run.claims.find((claim) => claim.id === id);
        if (result === undefined) return '<td class="none">—</td>';
        verdicts.push(result.verdict);
        return (
          `<td data-verdict="${result.verdict}" data-world="${escapeHtml(world)}" data-claim="${escapeHtml(`${first.experiment}/${id}`)}">` +
          `<a href="#${anchor('c', first.experiment, first.allocator, id)}">${verdictBadge(result.verdict, countOf(result))}</a></td>`
        );
      });
      const settled = verdicts.every((verdict) => verdict === 'confirmed');
      rows.push(
        `<tr${settled ? ' class="all-confirmed"' : ''}><th scope="row">${escapeHtml(id)}</th>${cells.join('')}</tr>`,
      );
    }
  }
  const counts = verdictCounts(runs);
  const head = worlds.map((world) => `<th scope="col">${escapeHtml(world)}</th>`).join('');
  return [
    `<p class="counts">${(['confirmed', 'refuted', 'inconclusive'] as Verdict[]).map((verdict) => verdictBadge(verdict, `: ${counts[verdict]}`)).join(' ')}</p>`,
    '<p><button type="button" class="filter" aria-pressed="false">Show only claims not confirmed everywhere</button></p>',
    `<div class="scroll"><table class="matrix"><caption>Each claim's verdict in each world (${escapeHtml(countsText(counts))})</caption>`,
    `<thead><tr><th scope="col">claim</th>${head}</tr></thead><tbody>`,
    rows.join('\n'),
    '</tbody></table></div>',
  ].join('\n');
}

function legend(worlds: string[]): string {
  const items = worlds.map((world) => {
    const style = styleOf(world);
    return (
      `<span><svg width="34" height="16" aria-hidden="true"><line x1="0" y1="8" x2="34" y2="8" stroke="${style.colour}" stroke-width="2"` +
      `${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>${worldMarker(world, 17, 8)}</svg> <strong>${escapeHtml(world)}</strong> ${escapeHtml(style.what)}</span>`
    );
  });
  return `<p class="legend">${items.join('')}</p>`;
}

/** The chart's numbers in words: where each world's line starts and ends, and its lowest and highest step. */
function describe(series: Series[], stepLabels: string[], measure: (typeof MEASURES)[number]): string {
  const sentences = series.map((one) => {
    const points = one.values
      .map((value, index) => ({ value, label: stepLabels[index]! }))
      .filter((point): point is { value: number; label: string } => point.value !== null);
    if (points.length === 0) return `${one.world}: no samples.`;
    const show = (value: number) => formatBytes(value, { signed: measure.signed });
    const low = points.reduce((a, b) => (b.value < a.value ? b : a));
    const high = points.reduce((a, b) => (b.value > a.value ? b : a));
    return (
      `${one.world}: ${show(points[0]!.value)} at "${points[0]!.label}", ${show(points.at(-1)!.value)} at "${points.at(-1)!.label}"; ` +
      `lowest ${show(low.value)} at "${low.label}", highest ${show(high.value)} at "${high.label}".`
    );
  });
  return `${measure.title} (${measure.note}) at each of ${stepLabels.length} steps. ${sentences.join(' ')}`;
}

function charts(active: ExperimentRun[], variant: string, id: string): string {
  const { stepLabels, series } = variantSeries(active, variant);
  const height = panelHeightFor(stepLabels);
  return `<div class="charts">${MEASURES.map((measure, index) => {
    const svg = svgDocument(PANEL_WIDTH, Math.ceil(height + 12), [
      drawPanel(measure, series[index]!, stepLabels, 4, 6, PANEL_WIDTH - 8),
    ]);
    return figure(svg, {
      id: `${id}-${index}`,
      title: `${measure.title}, variant ${variant}`,
      description: describe(series[index]!, stepLabels, measure),
    });
  }).join('')}</div>`;
}

const exact = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toLocaleString('en-US');

function rawNumbers(active: ExperimentRun[], variant: string, experiment: string): string {
  const worlds = active.map(worldOf);
  const header = [
    'step',
    ...worlds.flatMap((world) => [`${world} RssAnon`, `${world} VmSize`, `${world} break`, `${world} in use`]),
  ];
  const labels = [
    ...new Set(active.flatMap((run) => run.steps.filter((step) => step.variant === variant).map((step) => step.label))),
  ];
  const rows = labels.map((label) => [
    escapeHtml(label),
    ...active.flatMap((run) => {
      const step: StepRecord | undefined = run.steps.find((one) => one.variant === variant && one.label === label);
      if (step === undefined) return ['—', '—', '—', '—'];
      return [
        `<span class="num">${exact(step.status['RssAnon'])}</span>`,
        `<span class="num">${exact(step.status['VmSize'])}</span>`,
        `<code>${escapeHtml(step.brk)}</code>`,
        `<span class="num">${exact(step.mallinfo['uordblks'])}</span>`,
      ];
    }),
  ]);
  return table(
    `${experiment}, variant ${variant}: bytes at each step (in use: mallinfo2 uordblks)`,
    header.map(escapeHtml),
    rows,
    'raw',
  );
}

function claims(active: ExperimentRun[], experiment: string, allocator: string): string {
  const ids = [...new Set(active.flatMap((run) => run.claims.map((claim) => claim.id)))];
  const items = ids.map((id) => {
    const text = active.flatMap((run) => run.claims).find((claim) => claim.id === id)!.claim;
    const perWorld = active.map((run) => {
      const result = run.claims.find((claim) => claim.id === id);
      if (result === undefined) return '';
      return `<li><span class="world">${escapeHtml(worldOf(run))}</span> ${verdictBadge(result.verdict, countOf(result))} <span class="evidence">${escapeHtml(result.evidence)}</span></li>`;
    });
    return `<li id="${anchor('c', experiment, allocator, id)}"><p><strong>${escapeHtml(id)}</strong>: ${escapeHtml(text)}</p><ul>${perWorld.join('')}</ul></li>`;
  });
  return `<ol class="claims">${items.join('\n')}</ol>`;
}

function experimentSection(group: ExperimentRun[]): { id: string; title: string; html: string } {
  const first = group[0]!;
  const id = anchor('x', first.experiment, first.allocator);
  const parts: string[] = [];
  parts.push(`<p>${escapeHtml(first.title)}</p>`);
  const parameters = Object.entries(first.parameters)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  parts.push(
    facts([
      ['seed', first.seeds.join(', ')],
      ['parameters', parameters || 'none'],
      ['allocator', first.allocator],
    ]),
  );
  for (const run of group) {
    if (run.skipped !== undefined)
      parts.push(`<p class="note">${escapeHtml(worldOf(run))}: skipped — ${escapeHtml(run.skipped)}</p>`);
  }
  const active = group.filter((run) => run.skipped === undefined);
  if (active.length > 0) {
    parts.push(legend(active.map(worldOf)));
    const variants = [...new Set(active.flatMap((run) => run.variants.map((variant) => variant.name)))];
    for (const [index, variant] of variants.entries()) {
      const description = active.flatMap((run) => run.variants).find((one) => one.name === variant)?.description ?? '';
      parts.push(`<h3>Variant ${escapeHtml(variant)}</h3>`);
      if (description) parts.push(`<p>${escapeHtml(description)}</p>`);
      for (const run of active) {
        const record = run.variants.find((one) => one.name === variant);
        if (record === undefined || record.completed) continue;
        parts.push(`<p class="stopped">${escapeHtml(`${worldOf(run)}: ${stoppedText(record)}`)}</p>`);
      }
      parts.push(charts(active, variant, `${id}-v${index}`));
      parts.push(
        `<details><summary>Raw numbers: ${escapeHtml(variant)}</summary>${rawNumbers(active, variant, first.experiment)}</details>`,
      );
    }
    parts.push('<h3>Claims</h3>');
    parts.push(claims(active, first.experiment, first.allocator));
  }
  return {
    id,
    title: `${first.experiment}${first.allocator === 'glibc' ? '' : ` (${first.allocator})`}`,
    html: parts.join('\n'),
  };
}

export function renderRunsHtml(runs: ExperimentRun[]): string {
  if (!Array.isArray(runs) || runs.some((run) => run === null || typeof run !== 'object' || !Array.isArray(run.claims)))
    throw typeError('renderRunsHtml', 'runs', 'an array of experiment runs (from runExperiment or run --json)', runs);
  const groups = byExperiment(runs);
  const counts = verdictCounts(runs);
  return renderPage({
    title: `malloc-lab: ${groups.length === 1 ? groups[0]![0]!.experiment : `${groups.length} experiments`}`,
    lede: `What the kernel saw at each step, in ${worldsOf(runs).join(', ')}; ${countsText(counts)}.`,
    sections: [
      { id: 'environment', title: 'Environment', html: environment(runs) },
      { id: 'verdicts', title: 'Verdicts', html: matrix(runs) },
      ...groups.map(experimentSection),
    ],
  });
}
